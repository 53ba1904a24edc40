"""SOAP client for an AX 2012 enhanced inbound port (HTTP adapter on IIS), built on zeep.

I/O only: documents come in as dicts (see ``adapter.py`` and ``aif_documents.py``), results go out as plain
dicts, failures as the shared connector errors so the sync engine can decide retry/pause/inbox from ``kind``
alone. Written against the documented protocol so it works unchanged against a real port: WSDL from
``<endpoint>?wsdl`` (which imports ``?wsdl=wsdl0`` and ``?xsd=xsdN``), SOAP 1.1, ``CallContext`` header with
Company and a caller-chosen MessageId for idempotency (create, update and delete).

One thin method per service operation the integration uses: customers and vendors (create, read, update,
delete, find, findKeys), items (read, find, findKeys), free-text invoices (create), general journals (create,
read) and customer payment journals (create).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
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
    NotFoundError,
    TargetValidationError,
    TransientError,
)
from integrations.core.http import parse_retry_after

from .aif_documents import Criterion, as_entity, entity_key_list, entity_keys, plain, query_criteria

log = logging.getLogger(__name__)

SYSTEM = "Dynamics AX"
SERVICES_NS = "http://schemas.microsoft.com/dynamics/2008/01/services"
CALLCONTEXT_NS = "http://schemas.microsoft.com/dynamics/2010/01/datacontracts"
FAULT_NS = "http://schemas.microsoft.com/dynamics/2008/01/documents/Fault"
INFOLOG_NS = "http://schemas.datacontract.org/2004/07/Microsoft.Dynamics.AX.Framework.Services"
DOCUMENT_NS = "http://schemas.microsoft.com/dynamics/2008/01/documents/"
ROOT_WSDL_NS = "http://tempuri.org/"

# X++ Exception enum values worth retrying (reference §5.1): Deadlock 2, Timeout 15.
RETRYABLE_XPP = {2, 15}
UPDATE_CONFLICT_XPP, DUPLICATE_KEY_XPP = 11, 13
DUPLICATE_CODE = "DuplicateMessage"
_INTEGRITY = re.compile(r"not found in the relat(ing|ed) table|does not exist|is not an open transaction",
                        re.IGNORECASE)
_COMPANY = re.compile(r"company '?[^']*'? does not exist", re.IGNORECASE)
_CONFLICT = re.compile(r"document hash does not match|update conflict", re.IGNORECASE)
_NOT_FOUND = re.compile(r"no valid document identified", re.IGNORECASE)
_UNBALANCED = re.compile(r"do not balance", re.IGNORECASE)
# WCF faults raised outside AX business logic (no AifFault detail): the AOS could not be reached or failed.
_INFRASTRUCTURE_CODES = {"InternalServiceFault", "Server", "Receiver"}

# Parsed WSDL documents are cached per process (keyed by URL) so each new client does not re-download the
# ~dozen metadata files; the cache holds only public metadata, never credentials.
_WSDL_CACHE = InMemoryCache(timeout=3600)

# (service, document root, entity) per party kind.
_PARTIES = {"customer": ("CustomerService", "Customer", "CustTable"),
            "vendor": ("VendTableService", "Vendor", "VendTable")}
_PARTY_CHILDREN = ("DirPartyPostalAddressView", "DirPartyContactInfoView", "PersonName")


class HttpFailure(TransportError):
    """An HTTP error answer that is not a SOAP fault (IIS HTML page), with its Retry-After if any."""

    def __init__(self, status_code: int, retry_after: float | None = None) -> None:
        super().__init__(status_code=status_code)
        self.retry_after = retry_after


class _AifTransport(Transport):
    """zeep transport that classifies HTTP failures before zeep tries to read them as SOAP.

    IIS answers 401/403, throttling (503) and 5xx from the gateway or app pool with an HTML page, which zeep
    would otherwise turn into a misleading "Unknown fault". Only XML bodies on 500 are passed on, because WCF
    sends SOAP faults with HTTP 500.
    """

    def post(self, address: str, message: Any, headers: dict[str, str]) -> requests.Response:
        response = super().post(address, message, headers)
        is_xml = "xml" in response.headers.get("Content-Type", "").lower()
        if response.status_code in (401, 403) or (response.status_code >= 400 and not is_xml):
            raise HttpFailure(response.status_code, parse_retry_after(response.headers.get("Retry-After")))
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
            raise ConfigurationError(f"Unknown authentication method {auth!r}; use 'ntlm' or 'basic'.", system=SYSTEM)
        self._client: Client | None = None
        self._services: dict[str, Any] = {}

    def __repr__(self) -> str:  # never show the password (it lives only in session.auth)
        return f"AifClient({self.endpoint_url!r}, company={self.company!r}, username={self.username!r})"

    # -- connection ------------------------------------------------------------------------------------------
    def check(self) -> dict[str, Any]:
        """Portal "test connection": fetch the port WSDL with the service account (never from cache) and
        list the services/operations the port exposes."""
        try:
            response = self.session.get(self.wsdl_url, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise self._network_error(exc) from None
        if response.status_code != 200:
            raise self._http_error(response.status_code, "the service description (WSDL)",
                                   parse_retry_after(response.headers.get("Retry-After")))
        try:
            root = etree.fromstring(response.content, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            root = None
        if root is None or etree.QName(root).localname != "definitions":
            raise ConfigurationError(
                f"{self.wsdl_url} did not return a WSDL. Check the port URL "
                "(http://<iis>/MicrosoftDynamicsAXAif60/<Port>/xppservice.svc) and that the port is activated.",
                system=SYSTEM,
            )
        client = self._zeep()
        services: dict[str, list[str]] = {}
        for binding in client.wsdl.bindings.values():
            name = getattr(binding.port_type.name, "localname", str(binding.port_type.name))
            services.setdefault(name, []).extend(sorted(binding.all()))
        return {"endpoint": self.endpoint_url, "company": self.company, "services": services}

    # -- customers and vendors -------------------------------------------------------------------------------
    def create_customer(self, customer: Mapping[str, Any], *, message_id: str) -> str:
        """CustomerService.create; ``customer`` holds CustTable fields and ``DirParty`` (a dict, ``"_type":
        "DirPerson"`` for a person, organisation otherwise). Returns the AccountNum (numbered by AX if omitted)."""
        return self._create_party("customer", customer, message_id)

    def read_customer(self, account: str) -> dict[str, Any]:
        """CustomerService.read of one customer: CustTable fields (with ``_DocumentHash``, RecId, RecVersion)."""
        return self._read_parties("customer", [account])[0]

    def read_customers(self, accounts: Sequence[str]) -> list[dict[str, Any]]:
        return self._read_parties("customer", accounts)

    def find_customers(self, criteria: Sequence[Criterion]) -> list[dict[str, Any]]:
        return self._find_parties("customer", criteria)

    def find_customer_keys(self, criteria: Sequence[Criterion]) -> list[str]:
        return self._find_keys(_PARTIES["customer"][0], criteria, "AccountNum")

    def update_customer(self, account: str, changes: Mapping[str, Any], *, message_id: str,
                        document_hash: str | None = None, rec_id: int | None = None, rec_version: int | None = None,
                        partial: bool = True) -> None:
        """CustomerService.update. Concurrency needs ``document_hash`` (from a read) or ``rec_id`` +
        ``rec_version``; a stale one raises TargetValidationError code ``UpdateConflict``. ``partial`` sends
        ``action="update"`` so fields not in ``changes`` stay as they are (a full update clears them)."""
        self._update_party("customer", account, changes, message_id=message_id, document_hash=document_hash,
                           rec_id=rec_id, rec_version=rec_version, partial=partial)

    def delete_customer(self, account: str, *, message_id: str) -> None:
        self._call(_PARTIES["customer"][0], "delete", message_id=message_id,
                   EntityKeyList=entity_key_list("AccountNum", [account]))

    def create_vendor(self, vendor: Mapping[str, Any], *, message_id: str) -> str:
        """VendTableService.create; like :meth:`create_customer` with VendTable fields."""
        return self._create_party("vendor", vendor, message_id)

    def read_vendor(self, account: str) -> dict[str, Any]:
        return self._read_parties("vendor", [account])[0]

    def find_vendors(self, criteria: Sequence[Criterion]) -> list[dict[str, Any]]:
        return self._find_parties("vendor", criteria)

    def find_vendor_keys(self, criteria: Sequence[Criterion]) -> list[str]:
        return self._find_keys(_PARTIES["vendor"][0], criteria, "AccountNum")

    def update_vendor(self, account: str, changes: Mapping[str, Any], *, message_id: str,
                      document_hash: str | None = None, rec_id: int | None = None, rec_version: int | None = None,
                      partial: bool = True) -> None:
        self._update_party("vendor", account, changes, message_id=message_id, document_hash=document_hash,
                           rec_id=rec_id, rec_version=rec_version, partial=partial)

    def delete_vendor(self, account: str, *, message_id: str) -> None:
        self._call(_PARTIES["vendor"][0], "delete", message_id=message_id,
                   EntityKeyList=entity_key_list("AccountNum", [account]))

    # -- items -----------------------------------------------------------------------------------------------
    def read_item(self, item_id: str) -> dict[str, Any]:
        result = self._call("ItemService", "read", message_id=None,
                            EntityKeyList=entity_key_list("ItemId", [item_id]))
        return self._entities(result, "InventTable")[0]

    def find_items(self, criteria: Sequence[Criterion]) -> list[dict[str, Any]]:
        result = self._call("ItemService", "find", message_id=None, QueryCriteria=query_criteria(criteria))
        return self._entities(result, "InventTable")

    def find_item_keys(self, criteria: Sequence[Criterion]) -> list[str]:
        return self._find_keys("ItemService", criteria, "ItemId")

    # -- invoices and journals -------------------------------------------------------------------------------
    def create_free_text_invoice(self, document: dict[str, Any], *, message_id: str) -> dict[str, str]:
        """FreeTextInvoiceService.create; returns the entity key fields of the new invoice (``{"RecId": ...}``).

        A repeat of ``message_id`` raises DuplicateError: AX already committed that invoice (no key is returned).
        """
        result = self._call("FreeTextInvoiceService", "create", message_id=message_id, FreeTextInvoice=document)
        return self._first_key(result, "free-text invoice", message_id)

    def create_free_text_invoices(self, documents: Sequence[dict[str, Any]], *, message_id: str) -> list[str]:
        """Several free-text invoices in ONE create message (one AIF transaction: all are created or none).

        ``documents`` are ``free_text_invoice_document`` results; returns the RecIds in the same order. A
        repeat of ``message_id`` raises DuplicateError (AX already committed the whole message).
        """
        headers = [header for document in documents for header in document["CustInvoiceTable"]]
        result = self._call("FreeTextInvoiceService", "create", message_id=message_id,
                            FreeTextInvoice={"CustInvoiceTable": headers})
        keys = [key.get("RecId", "") for key in entity_keys(result)]
        if len(keys) != len(headers):
            raise TargetValidationError(
                f"AX accepted {len(headers)} free-text invoices but returned {len(keys)} keys.", system=SYSTEM,
                payload={"message_id": message_id})
        return keys

    def find_free_text_invoice_keys(self, *, customer_ref: str, order_account: str | None = None) -> list[str]:
        """RecIds of free-text invoices with this CustomerRef (and customer account), oldest first."""
        criteria = [Criterion("CustInvoiceTable", "CustomerRef", customer_ref)]
        if order_account:
            criteria.append(Criterion("CustInvoiceTable", "OrderAccount", order_account))
        return self._find_keys("FreeTextInvoiceService", criteria, "RecId")

    def create_general_journal(self, journal: Mapping[str, Any], *, message_id: str) -> str:
        """GeneralJournalService.create of one journal (LedgerJournalTable fields with ``LedgerJournalTrans``
        lines); returns the JournalNum. Vouchers that do not balance raise TargetValidationError code
        ``Unbalanced``."""
        document = {"LedgerJournalTable": [as_entity(journal, children=("LedgerJournalTrans",))]}
        result = self._call("GeneralJournalService", "create", message_id=message_id, LedgerGeneralJournal=document)
        return self._first_key(result, "general journal", message_id)["JournalNum"]

    def read_general_journal(self, journal_num: str) -> dict[str, Any]:
        result = self._call("GeneralJournalService", "read", message_id=None,
                            EntityKeyList=entity_key_list("JournalNum", [journal_num]))
        return self._entities(result, "LedgerJournalTable")[0]

    def create_customer_payment_journal(self, journal: Mapping[str, Any], *, message_id: str) -> str:
        """CustPaymJournalService.create: customer payment lines (AccountType Cust, AmountCurCredit, an offset
        bank or ledger account, ``MarkedInvoice`` = the invoice to settle); returns the JournalNum."""
        document = {"LedgerJournalTable": [as_entity(journal, children=("LedgerJournalTrans",))]}
        result = self._call("CustPaymJournalService", "create", message_id=message_id, CustPaymJournal=document)
        return self._first_key(result, "customer payment journal", message_id)["JournalNum"]

    def create_vendor_invoice_journal(self, journal: Mapping[str, Any], *, message_id: str) -> str:
        """PurchaseInvoiceService.create (AxdPurchaseInvoice, the vendor invoice journal: a journal name of type
        PurchaseLedger, lines on a vendor account with ``Invoice`` and on ledger accounts); returns the
        JournalNum. The port must expose the service (reference §2 table: LedgerPurchaseInvoiceService)."""
        document = {"LedgerJournalTable": [as_entity(journal, children=("LedgerJournalTrans",))]}
        result = self._call("PurchaseInvoiceService", "create", message_id=message_id, PurchaseInvoice=document)
        return self._first_key(result, "vendor invoice journal", message_id)["JournalNum"]

    # -- party plumbing --------------------------------------------------------------------------------------
    def _create_party(self, kind: str, values: Mapping[str, Any], message_id: str) -> str:
        service, root, entity = _PARTIES[kind]
        document = {entity: [self._party_entity(root, values, action=None)]}
        result = self._call(service, "create", message_id=message_id, **{root: document})
        return self._first_key(result, kind, message_id)["AccountNum"]

    def _read_parties(self, kind: str, accounts: Sequence[str]) -> list[dict[str, Any]]:
        service, _root, entity = _PARTIES[kind]
        result = self._call(service, "read", message_id=None, EntityKeyList=entity_key_list("AccountNum", accounts))
        return self._entities(result, entity)

    def _find_parties(self, kind: str, criteria: Sequence[Criterion]) -> list[dict[str, Any]]:
        service, _root, entity = _PARTIES[kind]
        result = self._call(service, "find", message_id=None, QueryCriteria=query_criteria(criteria))
        return self._entities(result, entity)

    def _update_party(self, kind: str, account: str, changes: Mapping[str, Any], *, message_id: str,
                      document_hash: str | None, rec_id: int | None, rec_version: int | None, partial: bool) -> None:
        if not document_hash and (rec_id is None or rec_version is None):
            raise ValueError("an update needs the document hash or the RecId and RecVersion from a read")
        service, root, entity = _PARTIES[kind]
        values = dict(changes)
        if document_hash:
            values["_DocumentHash"] = document_hash
        else:
            values["RecId"], values["RecVersion"] = rec_id, rec_version
        document = {entity: [self._party_entity(root, values, action="update" if partial else None)]}
        self._call(service, "update", message_id=message_id, EntityKeyList=entity_key_list("AccountNum", [account]),
                   **{root: document})

    def _party_entity(self, root: str, values: Mapping[str, Any], *, action: str | None) -> dict[str, Any]:
        entity = as_entity({k: v for k, v in values.items() if k != "DirParty"}, action=action)
        party = values.get("DirParty")
        if party is not None:
            party = dict(party)
            kind = party.pop("_type", "DirOrganization")
            party_type = self._zeep().get_type(f"{{{DOCUMENT_NS}{root}}}AxdEntity_DirParty_{kind}")
            # DirParty is abstract: a typed value makes zeep write xsi:type, which AX requires (reference §3.1).
            entity["DirParty"] = [party_type(**as_entity(party, children=_PARTY_CHILDREN, action=action))]
        return entity

    def _find_keys(self, service: str, criteria: Sequence[Criterion], field: str) -> list[str]:
        result = self._call(service, "findKeys", message_id=None, QueryCriteria=query_criteria(criteria))
        return [key[field] for key in entity_keys(result) if field in key]

    @staticmethod
    def _entities(document: Any, entity: str) -> list[dict[str, Any]]:
        return [plain(item) for item in (getattr(document, entity, None) or [])] if document is not None else []

    @staticmethod
    def _first_key(result: Any, what: str, message_id: str) -> dict[str, str]:
        keys = entity_keys(result)
        if not keys:
            raise TargetValidationError(f"AX accepted the {what} but returned no entity key.", system=SYSTEM,
                                        payload={"message_id": message_id})
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
        except HttpFailure as exc:
            raise self._http_error(exc.status_code, f"{service}.{operation}", exc.retry_after) from None
        except TransportError as exc:
            raise self._http_error(exc.status_code, f"{service}.{operation}") from None
        except requests.exceptions.RequestException as exc:
            raise self._network_error(exc) from None
        except XMLSyntaxError as exc:
            raise TransientError(f"AX answered {service}.{operation} with something that is not SOAP ({exc}).",
                                 system=SYSTEM) from None

    # -- zeep plumbing ---------------------------------------------------------------------------------------
    def _zeep(self) -> Client:
        if self._client is None:
            transport = _AifTransport(session=self.session, timeout=self.timeout, operation_timeout=self.timeout,
                                      cache=_WSDL_CACHE)
            settings = Settings(strict=False, xml_huge_tree=False)
            what = "the service description (WSDL)"
            try:
                self._client = Client(self.wsdl_url, transport=transport, settings=settings)
            except requests.exceptions.HTTPError as exc:
                response = exc.response
                raise self._http_error(response.status_code if response is not None else 0, what,
                                       parse_retry_after(response.headers.get("Retry-After"))
                                       if response is not None else None) from None
            except TransportError as exc:
                raise self._http_error(exc.status_code, what) from None
            except requests.exceptions.RequestException as exc:
                raise self._network_error(exc) from None
            except (XMLSyntaxError, etree.XMLSyntaxError, ZeepError) as exc:
                raise ConfigurationError(
                    f"{self.wsdl_url} did not return a valid AX service description (WSDL): {exc}. Check the port "
                    "URL (…/MicrosoftDynamicsAXAif60/<Port>/xppservice.svc) and that the port is activated.",
                    system=SYSTEM,
                ) from None
        return self._client

    def _service(self, service: str) -> Any:
        if service not in self._services:
            client = self._zeep()
            binding = next(
                (qname for qname, b in client.wsdl.bindings.items()
                 if getattr(b.port_type.name, "localname", None) == service
                 and b.__class__.__name__ == "Soap11Binding"),
                None,
            )
            if binding is None:
                raise ConfigurationError(
                    f"The AX port at {self.endpoint_url} does not expose {service}. Add the service operation to the "
                    "inbound port in AX (System administration > Setup > Services and AIF > Inbound ports).",
                    system=SYSTEM,
                )
            # Always post to the configured endpoint: WSDL addresses often carry an internal machine name.
            self._services[service] = client.create_service(binding, self.endpoint_url)
        return self._services[service]

    # -- error mapping ---------------------------------------------------------------------------------------
    def _http_error(self, status: int | None, what: str, retry_after: float | None = None) -> ConnectorError:
        if status in (401, 403):
            return AuthError(
                f"AX refused the service account '{self.username}' (HTTP {status}) when requesting {what}. Check the "
                "user name and password and that the user is an AX user allowed to use the inbound port.",
                system=SYSTEM, status=status,
            )
        if status is not None and (status >= 500 or status in (408, 429)):
            busy = " (the server is busy)" if status in (429, 503) else ""
            return TransientError(f"AX returned HTTP {status} for {what}{busy}; will retry.", system=SYSTEM,
                                  status=status, retry_after=retry_after)
        if status == 404:
            return ConfigurationError(
                f"AX returned HTTP 404 for {what} at {self.endpoint_url}; check the port name in the URL and that "
                "the inbound port is activated.",
                system=SYSTEM, status=status,
            )
        return ConfigurationError(f"AX returned HTTP {status} for {what}.", system=SYSTEM, status=status)

    def _network_error(self, exc: requests.exceptions.RequestException) -> ConnectorError:
        if isinstance(exc, requests.exceptions.SSLError):
            return ConfigurationError(f"TLS handshake with {self.endpoint_url} failed: {exc.__class__.__name__}.",
                                      system=SYSTEM)
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
            return ConfigurationError(f"Invalid AX endpoint URL {self.endpoint_url!r}.", system=SYSTEM)
        kind = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "could not be reached"
        return TransientError(f"AX at {self.endpoint_url} {kind} ({exc.__class__.__name__}); will retry.",
                              system=SYSTEM)

    def _fault_error(self, fault: Fault, service: str, operation: str, message_id: str | None) -> ConnectorError:
        info = parse_fault(fault)
        code = info["code"]
        what = f"{service}.{operation}"
        payload = {"message_id": message_id, "faultstring": info["faultstring"],
                   "xpp_exception_type": info["xpp"]}
        if info["duplicate"]:
            return DuplicateError(
                f"AX has already processed message {message_id} ({what}); the earlier request was committed.",
                system=SYSTEM, code=DUPLICATE_CODE, payload={"message_id": message_id},
            )
        if not info["aif_fault"]:
            return self._infrastructure_fault(info, what, payload)
        infolog = info["infolog"]
        errors = [m for t, m in infolog if t == "Error" and m != "Update has been canceled."] or [
            m for _t, m in infolog
        ]
        if info["xpp"] in RETRYABLE_XPP:
            return TransientError(f"AX reported a temporary failure in {what}; will retry.", system=SYSTEM,
                                  code=code or "Timeout", details=errors, payload=payload)
        if not infolog:
            return TargetValidationError(
                f"AX rejected {what} without saying why ({info['faultstring']}). Enable 'Include exceptions in "
                "fault' on the inbound port (Troubleshooting), or look in System administration > Periodic > "
                "Services and AIF > Exceptions.",
                system=SYSTEM, code=code or "RequestFailed", payload=payload,
            )
        return self._business_fault(errors, info, what, payload)

    def _infrastructure_fault(self, info: dict[str, Any], what: str, payload: dict[str, Any]) -> ConnectorError:
        """A SOAP fault without AifFault: WCF could not dispatch the call or the AOS is unreachable."""
        code = info["code"]
        if code == "ActionNotSupported":
            return ConfigurationError(f"The AX port does not expose {what} (ActionNotSupported). Add the operation "
                                      "to the inbound port.", system=SYSTEM, code=code, payload=payload)
        if code in _INFRASTRUCTURE_CODES or not code:
            return TransientError(f"AX could not process {what}: the AOS behind the port is unreachable or failed "
                                  f"({info['faultstring'][:200]}); will retry.", system=SYSTEM,
                                  code=code or "ServerFault", payload=payload)
        return TargetValidationError(f"AX rejected {what} ({code}: {info['faultstring'][:200]}).", system=SYSTEM,
                                     code=code, payload=payload)

    def _business_fault(self, errors: list[str], info: dict[str, Any], what: str,
                        payload: dict[str, Any]) -> ConnectorError:
        first = errors[0] if errors else info["faultstring"]
        details = {"system": SYSTEM, "details": errors, "payload": payload}
        if any(_COMPANY.search(m) for m in errors):
            return ConfigurationError(f"AX does not know company '{self.company}'", code="UnknownCompany", **details)
        if any(_NOT_FOUND.search(m) for m in errors):
            return NotFoundError(f"AX found no record for the key given to {what}", code="NotFound", **details)
        if info["xpp"] == UPDATE_CONFLICT_XPP or any(_CONFLICT.search(m) for m in errors):
            return TargetValidationError(f"AX refused {what}: the record changed since it was read; read it again",
                                         code="UpdateConflict", **details)
        if info["xpp"] == DUPLICATE_KEY_XPP:
            return TargetValidationError(f"AX refused {what}: the record already exists", code="RecordExists",
                                         **details)
        if any(_UNBALANCED.search(m) for m in errors):
            return TargetValidationError(f"AX rejected {what}: the journal does not balance", code="Unbalanced",
                                         **details)
        if any(_INTEGRITY.search(m) for m in errors):
            return IntegrityError(f"AX rejected {what}: a record the document refers to does not exist",
                                  code="RelatedRecordNotFound", **details)
        code = "InvalidDocumentSchema" if first.startswith("Invalid document schema") else (info["code"] or "AifFault")
        return TargetValidationError(f"AX rejected {what}", code=code, **details)


def parse_fault(fault: Fault) -> dict[str, Any]:
    """Faultcode/faultstring plus the AifFault detail (infolog lines, XppExceptionType, FaultMessage codes)."""
    code = str(fault.code or "")
    code = code.rsplit(":", 1)[-1].rsplit("}", 1)[-1]
    faultstring = str(fault.message or "")
    infolog: list[tuple[str, str]] = []
    codes: list[str] = []
    xpp: int | None = None
    detail = fault.detail if isinstance(fault.detail, etree._Element) else None
    aif_fault = detail is not None and detail.find(f".//{{{FAULT_NS}}}AifFault") is not None
    if detail is not None and etree.QName(detail).localname == "AifFault":
        aif_fault = True
    if detail is not None:
        for node in detail.iter(f"{{{INFOLOG_NS}}}InfologMessage"):
            infolog.append((node.findtext(f"{{{INFOLOG_NS}}}InfologMessageType") or "",
                            (node.findtext(f"{{{INFOLOG_NS}}}Message") or "").strip()))
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
        "code": code if code not in ("Client",) else (codes[0] if codes else ""),
        "faultstring": faultstring,
        "infolog": infolog,
        "xpp": xpp,
        "duplicate": duplicate,
        "aif_fault": aif_fault,
    }


__all__ = ["AifClient", "Criterion", "HttpFailure", "entity_keys", "parse_fault"]
