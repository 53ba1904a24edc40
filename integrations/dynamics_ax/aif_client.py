"""SOAP client for an AX 2012 enhanced inbound port (HTTP adapter on IIS), built on zeep.

I/O only: documents come in as dicts (see ``adapter.py``), results go out as plain dicts, failures as the
shared connector errors so the sync engine can decide retry/pause/inbox from ``kind`` alone. Written against
the documented protocol so it works unchanged against a real port: WSDL from ``<endpoint>?wsdl`` (which
imports ``?wsdl=wsdl0`` and ``?xsd=xsdN``), SOAP 1.1, ``CallContext`` header with Company and a caller-chosen
MessageId for idempotency.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests
from lxml import etree
from zeep import Client, Settings
from zeep.cache import InMemoryCache
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, TransportError, XMLSyntaxError
from zeep.transports import Transport

from integrations.core.errors import (
    AuthError,
    ConfigurationError,
    ConnectorError,
    DuplicateError,
    IntegrityError,
    TargetValidationError,
    TransientError,
)

log = logging.getLogger(__name__)

SYSTEM = "Dynamics AX"
SERVICES_NS = "http://schemas.microsoft.com/dynamics/2008/01/services"
CALLCONTEXT_NS = "http://schemas.microsoft.com/dynamics/2010/01/datacontracts"
FAULT_NS = "http://schemas.microsoft.com/dynamics/2008/01/documents/Fault"
INFOLOG_NS = "http://schemas.datacontract.org/2004/07/Microsoft.Dynamics.AX.Framework.Services"
ROOT_WSDL_NS = "http://tempuri.org/"

# X++ Exception enum values worth retrying (reference §5.1): Deadlock 2, Timeout 15.
RETRYABLE_XPP = {2, 15}
DUPLICATE_CODE = "DuplicateMessage"
_INTEGRITY = re.compile(r"not found in the relat(ing|ed) table|does not exist", re.IGNORECASE)
_COMPANY = re.compile(r"company '?[^']*'? does not exist", re.IGNORECASE)

# Parsed WSDL documents are cached per process (keyed by URL) so each new client does not re-download the
# ~dozen metadata files; the cache holds only public metadata, never credentials.
_WSDL_CACHE = InMemoryCache(timeout=3600)


class _AifTransport(Transport):
    """zeep transport that classifies HTTP failures before zeep tries to read them as SOAP.

    IIS answers 401/403 (and 5xx from the gateway or app pool) with an HTML page, which zeep would otherwise
    turn into a misleading "Unknown fault". Only XML bodies on 500 are passed on, because WCF sends SOAP
    faults with HTTP 500.
    """

    def post(self, address: str, message: Any, headers: dict[str, str]) -> requests.Response:
        response = super().post(address, message, headers)
        content_type = response.headers.get("Content-Type", "").lower()
        is_xml = "xml" in content_type
        if response.status_code in (401, 403) or (response.status_code >= 400 and not is_xml):
            raise TransportError(status_code=response.status_code)
        return response


class AifClient:
    """One AX inbound port + company + service account."""

    def __init__(
        self,
        endpoint_url: str,
        *,
        company: str,
        username: str,
        password: str,
        auth: str = "ntlm",
        wsdl_url: str | None = None,
        timeout: float = 60,
        session: requests.Session | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url.split("?", 1)[0]
        self.wsdl_url = wsdl_url or self.endpoint_url + "?wsdl"
        self.company = company
        self.username = username
        self.timeout = timeout
        self.session = session or requests.Session()
        if auth == "ntlm":
            from requests_ntlm import HttpNtlmAuth

            self.session.auth = HttpNtlmAuth(username, password)
        elif auth == "basic":
            self.session.auth = requests.auth.HTTPBasicAuth(username, password)
        else:
            raise ConfigurationError(
                f"Unknown authentication method {auth!r}; use 'ntlm' or 'basic'.", system=SYSTEM
            )
        self._client: Client | None = None
        self._services: dict[str, Any] = {}

    def __repr__(self) -> str:  # never show the password (it lives only in session.auth)
        return f"AifClient({self.endpoint_url!r}, company={self.company!r}, username={self.username!r})"

    # -- public API ------------------------------------------------------------------------------------------
    def check(self) -> dict[str, Any]:
        """Portal "test connection": fetch the port WSDL with the service account (never from cache) and
        list the services/operations the port exposes."""
        try:
            response = self.session.get(self.wsdl_url, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise self._network_error(exc) from None
        if response.status_code != 200:
            raise self._http_error(response.status_code, "the service description (WSDL)")
        try:
            root = etree.fromstring(
                response.content, etree.XMLParser(resolve_entities=False, no_network=True)
            )
        except etree.XMLSyntaxError:
            root = None
        if root is None or etree.QName(root).localname != "definitions":
            raise ConfigurationError(
                f"{self.wsdl_url} did not return a WSDL. Check the port URL "
                "(http://<iis>/MicrosoftDynamicsAXAif60/<Port>/xppservice.svc) and that the port is "
                "activated.",
                system=SYSTEM,
            )
        client = self._zeep()
        services: dict[str, list[str]] = {}
        for binding in client.wsdl.bindings.values():
            name = getattr(binding.port_type.name, "localname", str(binding.port_type.name))
            services.setdefault(name, []).extend(sorted(binding.all()))
        return {"endpoint": self.endpoint_url, "company": self.company, "services": services}

    def create_free_text_invoice(self, document: dict[str, Any], *, message_id: str) -> dict[str, str]:
        """FreeTextInvoiceService.create; returns the entity key fields of the new invoice (e.g. ``{"RecId":
        ...}``).

        A repeat of ``message_id`` raises DuplicateError: AX already committed that invoice (no key is
        returned).
        """
        result = self._call(
            "FreeTextInvoiceService", "create", message_id=message_id, FreeTextInvoice=document
        )
        keys = entity_keys(result)
        if not keys:
            raise TargetValidationError(
                "AX accepted the free-text invoice but returned no entity key.",
                system=SYSTEM,
                payload={"message_id": message_id},
            )
        return keys[0]

    # -- generic call ----------------------------------------------------------------------------------------
    def _call(self, service: str, operation: str, *args: Any, message_id: str | None, **kwargs: Any) -> Any:
        """Call ``<service>.<operation>`` with a CallContext header (Company, MessageId); errors mapped."""
        proxy = self._service(service)
        client = self._zeep()
        context_type = client.get_element(f"{{{CALLCONTEXT_NS}}}CallContext")
        header = context_type(Company=self.company, MessageId=message_id)
        log.debug("AX AIF %s.%s company=%s message_id=%s", service, operation, self.company, message_id)
        try:
            return getattr(proxy, operation)(*args, _soapheaders=[header], **kwargs)
        except Fault as fault:
            raise self._fault_error(fault, service, operation, message_id) from None
        except TransportError as exc:
            raise self._http_error(exc.status_code, f"{service}.{operation}") from None
        except requests.exceptions.RequestException as exc:
            raise self._network_error(exc) from None
        except XMLSyntaxError as exc:
            raise TransientError(
                f"AX answered {service}.{operation} with something that is not SOAP ({exc}).", system=SYSTEM
            ) from None

    # -- zeep plumbing ---------------------------------------------------------------------------------------
    def _zeep(self) -> Client:
        if self._client is None:
            transport = _AifTransport(
                session=self.session, timeout=self.timeout, operation_timeout=self.timeout, cache=_WSDL_CACHE
            )
            settings = Settings(strict=False, xml_huge_tree=False)
            try:
                self._client = Client(self.wsdl_url, transport=transport, settings=settings)
            except requests.exceptions.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                raise self._http_error(status, "the service description (WSDL)") from None
            except TransportError as exc:
                raise self._http_error(exc.status_code, "the service description (WSDL)") from None
            except requests.exceptions.RequestException as exc:
                raise self._network_error(exc) from None
            except (XMLSyntaxError, etree.XMLSyntaxError, ZeepError) as exc:
                raise ConfigurationError(
                    f"{self.wsdl_url} did not return a valid AX service description (WSDL): {exc}. Check "
                    "the port URL (…/MicrosoftDynamicsAXAif60/<Port>/xppservice.svc) and that the port is "
                    "activated.",
                    system=SYSTEM,
                ) from None
        return self._client

    def _service(self, service: str) -> Any:
        if service not in self._services:
            client = self._zeep()
            binding = next(
                (
                    qname
                    for qname, b in client.wsdl.bindings.items()
                    if getattr(b.port_type.name, "localname", None) == service
                    and b.__class__.__name__ == "Soap11Binding"
                ),
                None,
            )
            if binding is None:
                raise ConfigurationError(
                    f"The AX port at {self.endpoint_url} does not expose {service}. Add the service "
                    "operation to the inbound port in AX (System administration > Setup > Services and AIF >"
                    " Inbound ports).",
                    system=SYSTEM,
                )
            # Always post to the configured endpoint: WSDL addresses often carry an internal machine name.
            self._services[service] = client.create_service(binding, self.endpoint_url)
        return self._services[service]

    # -- error mapping ---------------------------------------------------------------------------------------
    def _http_error(self, status: int | None, what: str) -> ConnectorError:
        if status in (401, 403):
            return AuthError(
                f"AX refused the service account '{self.username}' (HTTP {status}) when requesting {what}. "
                "Check the user name and password and that the user is an AX user allowed to use the inbound"
                " port.",
                system=SYSTEM,
                status=status,
            )
        if status is not None and (status >= 500 or status in (408, 429)):
            return TransientError(
                f"AX returned HTTP {status} for {what}; will retry.", system=SYSTEM, status=status
            )
        if status == 404:
            return ConfigurationError(
                f"AX returned HTTP 404 for {what} at {self.endpoint_url}; check the port name in the URL "
                "and that the inbound port is activated.",
                system=SYSTEM,
                status=status,
            )
        return ConfigurationError(f"AX returned HTTP {status} for {what}.", system=SYSTEM, status=status)

    def _network_error(self, exc: requests.exceptions.RequestException) -> ConnectorError:
        if isinstance(exc, requests.exceptions.SSLError):
            return ConfigurationError(
                f"TLS handshake with {self.endpoint_url} failed: {exc.__class__.__name__}.", system=SYSTEM
            )
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
            return ConfigurationError(f"Invalid AX endpoint URL {self.endpoint_url!r}.", system=SYSTEM)
        kind = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "could not be reached"
        return TransientError(
            f"AX at {self.endpoint_url} {kind} ({exc.__class__.__name__}); will retry.", system=SYSTEM
        )

    def _fault_error(
        self, fault: Fault, service: str, operation: str, message_id: str | None
    ) -> ConnectorError:
        info = parse_fault(fault)
        code = info["code"]
        if info["duplicate"]:
            return DuplicateError(
                f"AX has already processed message {message_id} ({service}.{operation}); the earlier "
                "request was committed.",
                system=SYSTEM,
                code=DUPLICATE_CODE,
                payload={"message_id": message_id},
            )
        infolog = info["infolog"]
        errors = [m for t, m in infolog if t == "Error" and m != "Update has been canceled."] or [
            m for _t, m in infolog
        ]
        payload = {
            "message_id": message_id,
            "faultstring": info["faultstring"],
            "xpp_exception_type": info["xpp"],
        }
        if info["xpp"] in RETRYABLE_XPP:
            return TransientError(
                f"AX reported a temporary failure in {service}.{operation}; will retry.",
                system=SYSTEM,
                code=code,
                details=errors,
                payload=payload,
            )
        if not infolog:
            return TargetValidationError(
                f"AX rejected {service}.{operation} without saying why ({info['faultstring']}). Enable "
                "'Include exceptions in fault' on the inbound port (Troubleshooting), or look in System "
                "administration > Periodic > Services and AIF > Exceptions.",
                system=SYSTEM,
                code=code or "RequestFailed",
                payload=payload,
            )
        first = errors[0] if errors else info["faultstring"]
        if any(_COMPANY.search(m) for m in errors):
            return ConfigurationError(
                f"AX does not know company '{self.company}'",
                system=SYSTEM,
                code="UnknownCompany",
                details=errors,
                payload=payload,
            )
        if any(_INTEGRITY.search(m) for m in errors):
            return IntegrityError(
                f"AX rejected {service}.{operation}: a record the document refers to does not exist",
                system=SYSTEM,
                code="RelatedRecordNotFound",
                details=errors,
                payload=payload,
            )
        if first.startswith("Invalid document schema"):
            code = "InvalidDocumentSchema"
        return TargetValidationError(
            f"AX rejected {service}.{operation}",
            system=SYSTEM,
            code=code or "AifFault",
            details=errors,
            payload=payload,
        )


def parse_fault(fault: Fault) -> dict[str, Any]:
    """Faultcode/faultstring plus the AifFault detail (infolog lines, XppExceptionType, FaultMessage
    codes)."""
    code = str(fault.code or "")
    code = code.rsplit(":", 1)[-1].rsplit("}", 1)[-1]
    faultstring = str(fault.message or "")
    infolog: list[tuple[str, str]] = []
    codes: list[str] = []
    xpp: int | None = None
    detail = fault.detail if isinstance(fault.detail, etree._Element) else None
    if detail is not None:
        for node in detail.iter(f"{{{INFOLOG_NS}}}InfologMessage"):
            infolog.append(
                (
                    node.findtext(f"{{{INFOLOG_NS}}}InfologMessageType") or "",
                    (node.findtext(f"{{{INFOLOG_NS}}}Message") or "").strip(),
                )
            )
        for node in detail.iter(f"{{{FAULT_NS}}}FaultMessage"):
            codes.append(node.findtext(f"{{{FAULT_NS}}}Code") or "")
        xpp_text = detail.findtext(f".//{{{FAULT_NS}}}XppExceptionType")
        if xpp_text and xpp_text.strip().lstrip("-").isdigit():
            xpp = int(xpp_text)
    duplicate = (
        code == DUPLICATE_CODE
        or DUPLICATE_CODE in codes
        or "message has already been processed" in faultstring.lower()
        or any("message has already been processed" in m.lower() for _t, m in infolog)
    )
    return {
        "code": code if code not in ("Client", "Server") else (codes[0] if codes else ""),
        "faultstring": faultstring,
        "infolog": infolog,
        "xpp": xpp,
        "duplicate": duplicate,
    }


def entity_keys(result: Any) -> list[dict[str, str]]:
    """``EntityKeyList`` (zeep object or None) -> ``[{"RecId": "5637144576"}, ...]``."""
    if result is None:
        return []
    if isinstance(
        result, list
    ):  # zeep unwraps EntityKeyList (single repeated child) into a list of EntityKey
        entity_list = result
    else:
        entity_list = getattr(result, "EntityKey", None)
        if entity_list is None and hasattr(result, "EntityKeyList"):
            entity_list = getattr(result.EntityKeyList, "EntityKey", None)
    keys = []
    for entity in entity_list or []:
        fields = entity.KeyData.KeyField if entity.KeyData is not None else []
        keys.append({str(f.Field): str(f.Value) for f in fields})
    return keys
