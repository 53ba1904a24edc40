"""WSGI emulator of an AX 2012 enhanced inbound integration port with the HTTP adapter (IIS, SOAP 1.1).

Why: we cannot reach a real AX, so the AIF client is developed and tested against this emulator, which follows
the documented protocol (reference dynamics-ax.md §1–5, §10):
``/MicrosoftDynamicsAXAif60/<Port>/xppservice.svc`` serving ``?wsdl`` / ``?wsdl=wsdl0`` / ``?xsd=xsdN`` and
accepting SOAP 1.1 POSTs routed by ``SOAPAction`` (or, without one, by the body wrapper element), CallContext
(Company, MessageId) handling with duplicate-message detection on create/update/delete, XSD validation, AX-style
business validation with infolog faults, and switchable faults (``faults.py``). The document services live in
``services/``; deliberate differences from a real port are listed in ``DIFFERENCES`` (docs/sandbox/dynamics-ax.md).
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from integrations.core.wsgi import Request, Response, Router
from integrations.dynamics_ax import wsdl as axwsdl

from .aif import (
    DUPLICATE_TEXT,
    GENERIC_FAULT,
    IDEMPOTENT_OPERATIONS,
    UPDATE_CANCELED,
    XPP_ERROR,
    XPP_TIMEOUT,
    AifError,
    CallContext,
    OperationResult,
    duplicate_message,
)
from .faults import AxFaultSwitch, Faults, iis_page
from .posting import Poster
from .services import PortOptions, build_handlers
from .store import AxStore, normalize_message_id
from .xmlkit import entity_key_list, local, q

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
WCF_DISPATCHER_NS = "http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher"
WCF_TIMEOUT_TEXT = (
    "The request channel timed out while waiting for a reply after 00:01:00. Increase the timeout value passed "
    "to the call to Request or increase the SendTimeout value on the Binding. The time allotted to this "
    "operation may have been a portion of a longer timeout."
)
INTERNAL_SERVICE_FAULT = (
    "The server was unable to process the request due to an internal error.  For more information about the "
    "error, either turn on IncludeExceptionDetailInFaults (either from ServiceBehaviorAttribute or from the "
    "<serviceDebug> configuration behavior) on the server in order to send the exception information back to "
    "the client, or turn on tracing as per the Microsoft .NET Framework SDK documentation and inspect the server "
    "trace logs."
)

DIFFERENCES = [
    "Authentication: the real IIS port uses Windows authentication (NTLM/Kerberos; some sites Basic over "
    "HTTPS). The sandbox accepts HTTP Basic only and answers 401 with 'WWW-Authenticate: Basic "
    'realm="AX"\'; it does not check AX user roles or LogonAsUser rights.',
    "Document schemas other than the shared AIF schemas are constructed subsets (field selection, order, string "
    "lengths, LedgerDimension types); read the real ones from the port's ?wsdl.",
    "External service names VendTableService, ItemService, FreeTextInvoiceService, GeneralJournalService, "
    "CustPaymJournalService and PurchaseInvoiceService and their root elements are inferred; CustomerService is "
    "real.",
    "FreeTextInvoiceService.create returns EntityKeyList with KeyField RecId=<CUSTINVOICETABLE.RECID> (key field "
    "inferred); journals return JournalNum, customers and vendors AccountNum, items ItemId.",
    "Duplicate MessageId fault: SOAP faultcode s:Client, faultstring 'Duplicate message. Message has already "
    "been processed.' and AifFault/FaultMessageListArray/.../FaultMessage Code 'DuplicateMessage' (shape "
    "inferred; AX documents only the code and text). MessageIds are remembered only for successfully processed "
    "create/update/delete messages, globally (not per port/operation).",
    "Fault faultstring is always the generic 'Request Failed. See the Exception Log for details.'; with "
    "include_exceptions_in_fault the AifFault detail carries InfologMessageList and XppExceptionType, without it "
    "the AifFault detail is empty (nil members).",
    "Infolog texts for invalid main account, unknown dimension name/value, display-value mismatch, missing lines, "
    "unbalanced vouchers, unknown company, unknown query fields and concurrency conflicts are inferred (AX 2012 "
    "wording not found); the relating-table and 'must be filled in' texts follow the AX pattern.",
    "Schema errors are reported as 'Invalid document schema. The following error was returned: ...' with a "
    ".NET-style message built from the lxml validation error.",
    "Over-long strings fail schema validation (the XSD maxLength facets) unless the port option "
    "truncate_long_strings is on; the AX troubleshooting guide says AIF truncates them silently.",
    "Non-editable fields (RecId, RecVersion, InvoiceId, Party, JournalNum, Posted) are accepted and ignored on "
    "create (AX rejects or ignores them depending on the field).",
    "Journals must balance per voucher when they are created (AX checks at posting). Lines without a voucher "
    "get one 'in connection with balance'.",
    "Posting (free-text invoices, journals) happens only with the port option auto_post or on POST "
    "/_sandbox/post; it writes customer transactions, settlements and the sales tax of free-text invoices "
    "(TAXTRANS), but no general ledger, vendor or bank transactions.",
    "WS-Addressing headers sent by zeep (wsa:Action, wsa:To, wsa:MessageID) are ignored, as WCF "
    "basicHttpBinding does for headers without mustUnderstand.",
]


class AxSandbox:
    """The WSGI application object returned by :func:`create_app`."""

    def __init__(
        self,
        store: AxStore,
        *,
        port_name: str,
        users: Mapping[str, str],
        include_exceptions_in_fault: bool,
        faults: AxFaultSwitch,
        options: PortOptions | None = None,
        default_company: str | None = None,
    ) -> None:
        self.store = store
        self.port = axwsdl.PortDefinition(port_name, list(axwsdl.SERVICE_CATALOG))
        self.port_name = port_name
        self.users = dict(users)
        self.faults = faults
        self.options = options or PortOptions(port_name=port_name)
        self.options.port_name = port_name
        self.options.include_exceptions_in_fault = include_exceptions_in_fault
        self.default_company = default_company
        self.handlers = build_handlers(store, self.options)
        self.router = Router()
        self.router.route("GET", "/MicrosoftDynamicsAXAif60/{port}/xppservice.svc")(self._metadata)
        self.router.route("POST", "/MicrosoftDynamicsAXAif60/{port}/xppservice.svc")(self._soap)
        self.router.route("GET", "/_sandbox/faults")(lambda request: Response.json(self.faults.snapshot()))
        self.router.route("POST", "/_sandbox/faults")(self._set_faults)
        self.router.route("GET", "/_sandbox/health")(lambda request: Response.json({"status": "ok"}))
        self.router.route("POST", "/_sandbox/post")(self._post_pending)
        self.router.route("GET", "/_sandbox/options")(lambda request: Response.json(self._options()))
        self.router.route("POST", "/_sandbox/options")(self._set_options)

    @property
    def include_exceptions_in_fault(self) -> bool:
        return self.options.include_exceptions_in_fault

    @include_exceptions_in_fault.setter
    def include_exceptions_in_fault(self, value: bool) -> None:
        self.options.include_exceptions_in_fault = bool(value)

    def endpoint_path(self) -> str:
        return f"/MicrosoftDynamicsAXAif60/{self.port_name}/xppservice.svc"

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        handler, path_seen = self.router.resolve(request)
        if handler is None:
            response = Response(405 if path_seen else 404, b"", content_type="text/html")
        elif request.path.startswith("/_sandbox/") and not _loopback(request):
            response = Response.json({"error": "sandbox control routes answer on loopback only"}, status=403)
        else:
            response = handler(request)
        return response(start_response)

    # -- control routes --------------------------------------------------------------------------------------
    def _set_faults(self, request: Request) -> Response:
        try:
            self.faults.set(request.json() or {})
        except (ValueError, TypeError) as exc:
            return Response.json({"error": str(exc)}, status=400)
        return Response.json(self.faults.snapshot())

    def _post_pending(self, request: Request) -> Response:
        """Run the "posting batch job": post every unposted free-text invoice and journal."""
        with self.store.transaction():
            result = {company.upper(): Poster(self.store, company).post_pending() for company in self.store.companies()}
        return Response.json(result)

    def _options(self) -> dict[str, Any]:
        return {"auto_post": self.options.auto_post, "truncate_long_strings": self.options.truncate_long_strings,
                "include_exceptions_in_fault": self.options.include_exceptions_in_fault}

    def _set_options(self, request: Request) -> Response:
        try:
            data = request.json() or {}
        except ValueError:
            return Response.json({"error": "options must be a JSON object"}, status=400)
        unknown = set(data) - set(self._options()) if isinstance(data, dict) else {"?"}
        if unknown or not all(isinstance(v, bool) for v in data.values()):
            return Response.json({"error": f"options are booleans among {', '.join(self._options())}"}, status=400)
        for name, value in data.items():
            setattr(self.options, name, value)
        return Response.json(self._options())

    # -- auth ------------------------------------------------------------------------------------------------
    def _authenticate(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = base64.b64decode(token.strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return username if username in self.users and self.users[username] == password else None

    @staticmethod
    def _unauthorized() -> Response:
        title = "401 - Unauthorized: Access is denied due to invalid credentials."
        body = f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h2>{title}</h2></body></html>"
        return Response(401, body.encode(), content_type="text/html",
                        headers=[("WWW-Authenticate", 'Basic realm="AX"')])

    def _port_matches(self, request: Request) -> bool:
        return request.params.get("port", "").lower() == self.port_name.lower()

    # -- metadata --------------------------------------------------------------------------------------------
    def _metadata(self, request: Request) -> Response:
        if not self._port_matches(request):
            return Response(404, b"", content_type="text/html")
        intercepted = self.faults.intercept()
        if intercepted is not None:
            return intercepted
        if self._authenticate(request) is None:
            return self._unauthorized()
        endpoint = request.root_url + self.endpoint_path()
        xsd, wsdl = request.arg("xsd"), request.arg("wsdl")
        if xsd is not None:
            body = self.port.xsd(endpoint, xsd)
        elif wsdl is not None:
            body = (self.port.root_wsdl(endpoint) if wsdl == ""
                    else (self.port.wsdl0(endpoint) if wsdl.lower() == "wsdl0" else None))
        else:
            page = (
                f"<html><head><title>{self.port_name} Service</title></head><body><h1>{self.port_name} Service</h1>"
                "<p>You have created a service.</p><p>To test this service, you will need to create a client and "
                f'use it to call the service. <a href="{endpoint}?wsdl">{endpoint}?wsdl</a></p></body></html>'
            )
            return Response(200, page.encode(), content_type="text/html; charset=UTF-8")
        if body is None:
            return Response(404, b"", content_type="text/html")
        return Response(200, body, content_type="text/xml; charset=UTF-8")

    # -- SOAP ------------------------------------------------------------------------------------------------
    def _soap(self, request: Request) -> Response:
        if not self._port_matches(request):
            return Response(404, b"", content_type="text/html")
        intercepted = self.faults.intercept()
        if intercepted is not None:
            return intercepted
        user = self._authenticate(request)
        if user is None:
            return self._unauthorized()
        if not request.headers.get("content-type", "").lower().startswith("text/xml"):
            return Response(415, b"", content_type="")  # basicHttpBinding accepts SOAP 1.1 (text/xml) only
        try:
            envelope = etree.fromstring(request.body, etree.XMLParser(resolve_entities=False, no_network=True))
        except etree.XMLSyntaxError:
            return Response(400, b"", content_type="text/html")
        if envelope.tag != q(SOAP11_NS, "Envelope"):
            return Response(400, b"", content_type="text/html")
        header = envelope.find(q(SOAP11_NS, "Header"))
        body = envelope.find(q(SOAP11_NS, "Body"))
        wrapper = next((child for child in body if isinstance(child.tag, str)), None) if body is not None else None
        action = request.headers.get("soapaction", "").strip().strip('"')
        resolved = (self.port.resolve_action(action) if action
                    else (self.port.resolve_wrapper(local(wrapper.tag)) if wrapper is not None else None))
        if resolved is None:
            return self._action_not_supported(action or (local(wrapper.tag) if wrapper is not None else ""))
        spec, operation = resolved
        expected = axwsdl.wrapper_name(spec.name, operation, "Request")
        if wrapper is None or wrapper.tag != q(axwsdl.SERVICES_NS, expected):
            return self._fault_response(AifError([f"The request body does not contain {expected}."]))
        return self._process(spec.name, operation, header, wrapper, user)

    def _process(self, service: str, operation: str, header: etree._Element | None, wrapper: etree._Element,
                 user: str) -> Response:
        if self.faults.fires("aos_unavailable"):
            return self._aos_unavailable()
        spec = self.faults.fires("aif_timeout")
        if spec:
            time.sleep(float(spec.get("hang_ms", 0) or 0) / 1000)
            return self._fault_response(AifError([WCF_TIMEOUT_TEXT], xpp_type=XPP_TIMEOUT))
        try:
            context = self._call_context(header, user)
            result = self._run(service, operation, context, wrapper)
        except AifError as exc:
            return self._fault_response(exc)
        spec = self.faults.fires("timeout_after_commit")
        if spec:
            time.sleep(float(spec.get("hang_ms", 0) or 0) / 1000)
            return iis_page(500)
        return Response(200, _envelope(self._response_body(service, operation, result)),
                        content_type="text/xml; charset=utf-8")

    def _run(self, service: str, operation: str, context: CallContext, wrapper: etree._Element) -> OperationResult:
        """Run one operation in one transaction; create/update/delete are idempotent per MessageId (§2.3)."""
        idempotent = operation in IDEMPOTENT_OPERATIONS
        with self.store.transaction():
            if idempotent and context.message_id_given and self.store.processed_message(context.message_id):
                raise duplicate_message()
            result = self.handlers[(service, operation)](context, wrapper)
            if idempotent:
                self.store.log_message(
                    context.message_id, port=self.port_name, action=axwsdl.soap_action(service, operation),
                    company=context.company, user=context.user, keys=_key_summary(result.keys),
                )
        return result

    @staticmethod
    def _response_body(service: str, operation: str, result: OperationResult) -> bytes:
        wrapper = etree.Element(q(axwsdl.SERVICES_NS, axwsdl.wrapper_name(service, operation, "Response")),
                                nsmap={None: axwsdl.SERVICES_NS})
        if operation in ("create", "findKeys"):
            wrapper.append(entity_key_list(result.keys))
        elif result.document is not None:
            wrapper.append(result.document)
        return etree.tostring(wrapper)

    def _call_context(self, header: etree._Element | None, user: str) -> CallContext:
        values: dict[str, str] = {}
        node = header.find(q(axwsdl.CALLCONTEXT_NS, "CallContext")) if header is not None else None
        if node is not None:
            for child in node:
                if isinstance(child.tag, str) and child.get(q(XSI_NS, "nil")) != "true" and (child.text or "").strip():
                    values[local(child.tag)] = child.text.strip()
        company = values.get("Company") or self.default_company
        if company is None:
            first = self.store.one("SELECT ID FROM DATAAREA ORDER BY RECID LIMIT 1")
            company = (first or {}).get("ID", "dat")
        if self.store.company(company) is None:
            raise AifError([f"Company '{company}' does not exist."])
        partition = values.get("PartitionKey")
        if partition and not self.store.scalar("SELECT 1 FROM PARTITIONS WHERE PARTITIONKEY = ?", (partition,)):
            raise AifError([f"The partition key '{partition}' does not exist."])
        message_id = values.get("MessageId")
        if message_id:
            try:
                message_id = normalize_message_id(message_id)
            except ValueError:
                raise AifError([f"The message ID '{message_id}' is not a valid GUID."]) from None
        return CallContext(
            company=company.upper(), dataareaid=company.lower(),
            message_id=message_id or str(uuid.uuid4()).upper(), message_id_given=bool(message_id),
            user=values.get("LogonAsUser") or user, language=values.get("Language", "en-us"), extra=values,
        )

    # -- faults ----------------------------------------------------------------------------------------------
    def _action_not_supported(self, action: str) -> Response:
        text = (
            f"The message with Action '{action}' cannot be processed at the receiver, due to a ContractFilter "
            "mismatch at the EndpointDispatcher. This may be because of either a contract mismatch (mismatched "
            "Actions between sender and receiver) or a binding/security mismatch between the sender and the "
            "receiver.  Check that sender and receiver have the same contract and the same binding (including "
            "security requirements, e.g. Message, Transport, None)."
        )
        body = (f'<s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/ws/2005/05/addressing/none">'
                f'a:ActionNotSupported</faultcode><faultstring xml:lang="en-US">{escape(text)}</faultstring>'
                "</s:Fault>").encode()
        return Response(500, _envelope(body), content_type="text/xml; charset=utf-8")

    def _aos_unavailable(self) -> Response:
        """What IIS answers when the AOS behind the port is down: a WCF fault, no AifFault detail."""
        spec = self.faults.spec("aos_unavailable") or {}
        text = INTERNAL_SERVICE_FAULT
        if spec.get("detail"):
            text = (f"Could not connect to net.tcp://aos:8201/DynamicsAx/Services/{self.port_name}. The connection "
                    "attempt lasted for a time span of 00:00:02.0156250. TCP error code 10061: No connection could "
                    "be made because the target machine actively refused it.")
        body = (f'<s:Fault><faultcode xmlns:a="{WCF_DISPATCHER_NS}">a:InternalServiceFault</faultcode>'
                f'<faultstring xml:lang="en-US">{escape(text)}</faultstring></s:Fault>').encode()
        return Response(500, _envelope(body), content_type="text/xml; charset=utf-8")

    def _fault_response(self, error: AifError) -> Response:
        visible = self.options.include_exceptions_in_fault
        parts = [f'<AifFault xmlns="{axwsdl.FAULT_NS}" xmlns:i="{XSI_NS}">', '<CustomDetailXml i:nil="true"/>']
        if error.fault_code:
            parts.append(
                '<FaultMessageListArray><FaultMessageList><Document i:nil="true"/><DocumentOperation i:nil="true"/>'
                f"<FaultMessageArray><FaultMessage><Code>{escape(error.fault_code)}</Code><Message>"
                f"{escape(error.messages[0])}</Message></FaultMessage></FaultMessageArray></FaultMessageList>"
                "</FaultMessageListArray>"
            )
        else:
            parts.append('<FaultMessageListArray i:nil="true"/>')
        if visible and not error.fault_code:
            parts.append(f'<InfologMessageList xmlns:b="{axwsdl.INFOLOG_NS}">')
            for message in error.messages:
                parts.append("<b:InfologMessage><b:InfologMessageType>Error</b:InfologMessageType>"
                             f"<b:Message>{escape(message)}</b:Message></b:InfologMessage>")
            parts.append("</InfologMessageList>")
        else:
            parts.append('<InfologMessageList i:nil="true"/>')
        parts.append('<StackTrace i:nil="true"/>')
        if visible and not error.fault_code:
            parts.append(f"<XppExceptionType>{error.xpp_type}</XppExceptionType>")
        parts.append("</AifFault>")
        faultstring = error.faultstring if (visible or error.always_visible) else GENERIC_FAULT
        body = (f'<s:Fault><faultcode>s:Client</faultcode><faultstring xml:lang="en-US">{escape(faultstring)}'
                f"</faultstring><detail>{''.join(parts)}</detail></s:Fault>").encode()
        return Response(500, _envelope(body), content_type="text/xml; charset=utf-8")


def _envelope(body: bytes) -> bytes:
    return f'<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body>'.encode() + body + b"</s:Body></s:Envelope>"


def _key_summary(keys: list[dict[str, str]]) -> dict[str, str]:
    """Entity keys for the message log: ``{"AccountNum": "GB-0001,GB-0002"}``."""
    merged: dict[str, list[str]] = {}
    for key in keys:
        for name, value in key.items():
            merged.setdefault(name, []).append(str(value))
    return {name: ",".join(values) for name, values in merged.items()}


def _loopback(request: Request) -> bool:
    return request.environ.get("REMOTE_ADDR", "127.0.0.1") in ("127.0.0.1", "::1", "localhost")


def create_app(
    store: AxStore,
    *,
    port_name: str = "LedgerbridgeServices",
    users: Mapping[str, str] | None = None,
    include_exceptions_in_fault: bool = True,
    faults: AxFaultSwitch | Mapping[str, Any] | None = None,
    auto_post: bool = False,
    truncate_long_strings: bool = False,
    default_company: str | None = None,
) -> AxSandbox:
    """WSGI app emulating ``http://<iis>/MicrosoftDynamicsAXAif60/<port_name>/xppservice.svc``."""
    if not isinstance(faults, AxFaultSwitch):
        faults = AxFaultSwitch(dict(faults or {}))
    options = PortOptions(port_name=port_name, auto_post=auto_post, truncate_long_strings=truncate_long_strings)
    return AxSandbox(
        store,
        port_name=port_name,
        users=users if users is not None else {"user": "password"},
        include_exceptions_in_fault=include_exceptions_in_fault,
        faults=faults,
        options=options,
        default_company=default_company,
    )


__all__ = ["DIFFERENCES", "DUPLICATE_TEXT", "GENERIC_FAULT", "UPDATE_CANCELED", "XPP_ERROR", "XPP_TIMEOUT",
           "AifError", "AxSandbox", "CallContext", "Faults", "create_app"]
