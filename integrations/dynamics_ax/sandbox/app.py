"""WSGI emulator of an AX 2012 enhanced inbound integration port with the HTTP adapter (IIS, SOAP 1.1).

Why: we cannot reach a real AX, so the AIF client is developed and tested against this emulator, which follows
the documented protocol (reference dynamics-ax.md §1–5, §10):
``/MicrosoftDynamicsAXAif60/<Port>/xppservice.svc`` serving ``?wsdl`` / ``?wsdl=wsdl0`` / ``?xsd=xsdN`` and
accepting SOAP 1.1 POSTs routed by ``SOAPAction``, CallContext (Company, MessageId) handling with
duplicate-message detection, XSD validation, AX-style business validation with infolog faults, silent
truncation of over-long strings, and switchable transport faults for retry testing.

Deliberate differences from a real port are listed in ``DIFFERENCES`` (copy into docs/sandbox.md).
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from integrations.core.wsgi import Request, Response, Router
from integrations.dynamics_ax import wsdl as axwsdl

from .store import EMPTY_DATE, AxStore, normalize_message_id

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
GENERIC_FAULT = "Request Failed. See the Exception Log for details."
DUPLICATE_TEXT = "Duplicate message. Message has already been processed."
UPDATE_CANCELED = "Update has been canceled."
XPP_ERROR, XPP_TIMEOUT = 3, 15

DIFFERENCES = [
    "Authentication: the real IIS port uses Windows authentication (NTLM/Kerberos; some sites Basic over "
    "HTTPS). The sandbox accepts HTTP Basic only and answers 401 with 'WWW-Authenticate: Basic "
    'realm="AX"\'; it does not check AX user roles or LogonAsUser rights.',
    "The FreeTextInvoice document schema (root name, field selection, alphabetical order, LedgerDimension as"
    " AxdType_LedgerAccount, string lengths) is constructed; read the real one from the port's ?wsdl.",
    "create returns EntityKeyList with KeyField RecId=<CUSTINVOICETABLE.RECID> (key field inferred).",
    "Duplicate MessageId fault: SOAP faultcode s:Client, faultstring 'Duplicate message. Message has already"
    " been processed.' and AifFault/FaultMessageListArray/.../FaultMessage Code 'DuplicateMessage' (shape "
    "inferred; AX documents only the code and text). MessageIds are remembered only for successfully "
    "processed messages, globally (not per port/operation).",
    "Fault faultstring is always the generic 'Request Failed. See the Exception Log for details.'; with "
    "include_exceptions_in_fault the AifFault detail carries InfologMessageList and XppExceptionType, "
    "without it the AifFault detail is empty (nil members).",
    "Infolog texts for invalid main account, unknown dimension name/value, display-value mismatch, missing "
    "lines and unknown company are inferred (AX 2012 wording not found); the relating-table text follows the"
    " AX pattern.",
    "Schema errors are reported as 'Invalid document schema. The following error was returned: ...' with a "
    ".NET-style message built from the lxml validation error.",
    "Over-long strings are truncated before schema validation (AX truncates silently); other facets are "
    "enforced.",
    "Non-editable fields (RecId, RecVersion, InvoiceId, _DocumentHash) are accepted and ignored on create "
    "(AX rejects or ignores them depending on the field).",
    "No tax calculation, posting, number sequences for InvoiceId, or workflow; invoices stay unposted.",
    "WS-Addressing headers sent by zeep (wsa:Action, wsa:To, wsa:MessageID) are ignored, as WCF "
    "basicHttpBinding does for headers without mustUnderstand.",
    "Fault switches (/_sandbox/faults) are sandbox-only; timeout_after_commit answers HTTP 500 (optionally "
    "after hang_ms) after committing, emulating a client timeout after the server committed.",
]

KNOWN_FAULTS = {"timeout_after_commit", "server_error", "slow_ms"}
_IIS_500 = (
    b"<!DOCTYPE html><html><head><title>500 - Internal server error.</title></head><body><h2>500 - "
    b"Internal server error.</h2><h3>There is a problem with the resource you are looking for, and it cannot "
    b"be displayed.</h3></body></html>"
)


class Faults:
    """Switchable failure injection, shared by the app and the ``/_sandbox/faults`` control route.

    ``{"timeout_after_commit": {"every": N, "hang_ms": 0}}`` commit, then answer 500 (after hang_ms);
    ``{"server_error": {"every": N}}`` answer 500 without processing; ``{"slow_ms": 500}`` delay every SOAP
    call. ``every: N`` fires on the Nth, 2Nth… qualifying request counted from when the switch was set.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._config: dict[str, Any] = {}
        self._counters: dict[str, int] = {}
        self.set(config or {})

    def set(self, config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(config) - KNOWN_FAULTS
        if unknown:
            raise ValueError(f"unknown fault switch(es): {', '.join(sorted(unknown))}")
        with self._lock:
            self._config = {k: copy.deepcopy(v) for k, v in config.items() if v not in (None, {}, 0, False)}
            self._counters = {}
            return dict(self._config)

    def get(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._config)

    def clear(self) -> None:
        self.set({})

    def fire(self, name: str) -> dict[str, Any] | None:
        """Count one qualifying request for ``name``; return its options when it should fail now."""
        with self._lock:
            options = self._config.get(name)
            if not isinstance(options, dict):
                return None
            self._counters[name] = self._counters.get(name, 0) + 1
            every = max(int(options.get("every", 1)), 1)
            return options if self._counters[name] % every == 0 else None

    def slow_ms(self) -> int:
        with self._lock:
            return int(self._config.get("slow_ms") or 0)


class AifError(Exception):
    """An AIF processing failure that becomes a SOAP fault with an AifFault detail."""

    def __init__(
        self,
        messages: list[str],
        *,
        xpp_type: int = XPP_ERROR,
        fault_code: str = "",
        faultstring: str = GENERIC_FAULT,
        always_visible: bool = False,
    ) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        self.xpp_type = xpp_type
        self.fault_code = fault_code
        self.faultstring = faultstring
        self.always_visible = always_visible


@dataclass
class CallContext:
    company: str
    dataareaid: str
    message_id: str
    message_id_given: bool
    user: str
    language: str = "en-us"
    extra: dict[str, str] = field(default_factory=dict)


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


class AxSandbox:
    """The WSGI application object returned by :func:`create_app`."""

    def __init__(
        self,
        store: AxStore,
        *,
        port_name: str,
        users: Mapping[str, str],
        include_exceptions_in_fault: bool,
        faults: Faults,
    ) -> None:
        self.store = store
        self.port = axwsdl.PortDefinition(port_name, list(axwsdl.SERVICE_CATALOG))
        self.port_name = port_name
        self.users = dict(users)
        self.include_exceptions_in_fault = include_exceptions_in_fault
        self.faults = faults
        self.handlers: dict[tuple[str, str], Callable[[CallContext, etree._Element], bytes]] = {
            ("FreeTextInvoiceService", "create"): self._free_text_invoice_create,
        }
        self.router = Router()
        self.router.route("GET", "/MicrosoftDynamicsAXAif60/{port}/xppservice.svc")(self._metadata)
        self.router.route("POST", "/MicrosoftDynamicsAXAif60/{port}/xppservice.svc")(self._soap)
        self.router.route("GET", "/_sandbox/faults")(lambda request: Response.json(self.faults.get()))
        self.router.route("POST", "/_sandbox/faults")(self._set_faults)
        self.router.route("GET", "/_sandbox/health")(lambda request: Response.json({"status": "ok"}))

    def endpoint_path(self) -> str:
        return f"/MicrosoftDynamicsAXAif60/{self.port_name}/xppservice.svc"

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        handler, path_seen = self.router.resolve(request)
        if handler is None:
            response = Response(405 if path_seen else 404, b"", content_type="text/html")
        else:
            response = handler(request)
        return response(start_response)

    # -- control route ---------------------------------------------------------------------------------------
    def _set_faults(self, request: Request) -> Response:
        try:
            return Response.json(self.faults.set(request.json() or {}))
        except (ValueError, TypeError) as exc:
            return Response.json({"error": str(exc)}, status=400)

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
        body = (
            b"<!DOCTYPE html><html><head><title>401 - Unauthorized: Access is denied due to invalid "
            b"credentials."
            b"</title></head><body><h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>"
            b"</body></html>"
        )
        return Response(
            401, body, content_type="text/html", headers=[("WWW-Authenticate", 'Basic realm="AX"')]
        )

    def _port_matches(self, request: Request) -> bool:
        return request.params.get("port", "").lower() == self.port_name.lower()

    # -- metadata --------------------------------------------------------------------------------------------
    def _metadata(self, request: Request) -> Response:
        if not self._port_matches(request):
            return Response(404, b"", content_type="text/html")
        if self._authenticate(request) is None:
            return self._unauthorized()
        endpoint = request.base_url + self.endpoint_path()
        xsd, wsdl = request.arg("xsd"), request.arg("wsdl")
        if xsd is not None:
            body = self.port.xsd(endpoint, xsd)
        elif wsdl is not None:
            body = (
                self.port.root_wsdl(endpoint)
                if wsdl == ""
                else (self.port.wsdl0(endpoint) if wsdl.lower() == "wsdl0" else None)
            )
        else:
            page = (
                f"<html><head><title>{self.port_name} Service</title></head><body><h1>{self.port_name} "
                "Service"
                f"</h1><p>You have created a service.</p><p>To test this service, you will need to create a "
                f'client and use it to call the service. <a href="{endpoint}?wsdl">{endpoint}?wsdl</a></p>'
                f"</body></html>"
            )
            return Response(200, page.encode(), content_type="text/html; charset=UTF-8")
        if body is None:
            return Response(404, b"", content_type="text/html")
        return Response(200, body, content_type="text/xml; charset=UTF-8")

    # -- SOAP ------------------------------------------------------------------------------------------------
    def _soap(self, request: Request) -> Response:
        if not self._port_matches(request):
            return Response(404, b"", content_type="text/html")
        if self._authenticate(request) is None:
            return self._unauthorized()
        user = self._authenticate(request) or ""
        delay = self.faults.slow_ms()
        if delay:
            time.sleep(delay / 1000)
        if self.faults.fire("server_error"):
            return Response(500, _IIS_500, content_type="text/html")
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("text/xml"):
            return Response(415, b"", content_type="")  # basicHttpBinding accepts SOAP 1.1 (text/xml) only
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        try:
            envelope = etree.fromstring(request.body, parser)
        except etree.XMLSyntaxError:
            return Response(400, b"", content_type="text/html")
        if envelope.tag != _q(SOAP11_NS, "Envelope"):
            return Response(400, b"", content_type="text/html")
        header = envelope.find(_q(SOAP11_NS, "Header"))
        body = envelope.find(_q(SOAP11_NS, "Body"))
        wrapper = body[0] if body is not None and len(body) else None
        action = request.headers.get("soapaction", "").strip().strip('"')
        resolved = (
            self.port.resolve_action(action)
            if action
            else (self.port.resolve_wrapper(_local(wrapper.tag)) if wrapper is not None else None)
        )
        if resolved is None:
            return self._action_not_supported(action or (_local(wrapper.tag) if wrapper is not None else ""))
        spec, operation = resolved
        if wrapper is None or wrapper.tag != _q(
            axwsdl.SERVICES_NS, axwsdl.wrapper_name(spec.name, operation, "Request")
        ):
            return self._fault_response(
                AifError(
                    [
                        f"The request body does not contain "
                        f"{axwsdl.wrapper_name(spec.name, operation, 'Request')}."
                    ]
                )
            )
        try:
            context = self._call_context(header, user)
            if context.message_id_given and self.store.processed_message(context.message_id):
                raise self._duplicate()
            body_xml = self.handlers[(spec.name, operation)](context, wrapper)
        except AifError as exc:
            return self._fault_response(exc)
        if self.faults.fire("timeout_after_commit"):
            options = self.faults.get().get("timeout_after_commit") or {}
            hang = int(options.get("hang_ms", 0) or 0)
            if hang:
                time.sleep(hang / 1000)
            return Response(500, _IIS_500, content_type="text/html")
        return Response(200, _envelope(body_xml), content_type="text/xml; charset=utf-8")

    def _call_context(self, header: etree._Element | None, user: str) -> CallContext:
        values: dict[str, str] = {}
        node = header.find(_q(axwsdl.CALLCONTEXT_NS, "CallContext")) if header is not None else None
        if node is not None:
            for child in node:
                if child.get(_q(XSI_NS, "nil")) != "true" and child.text and child.text.strip():
                    values[_local(child.tag)] = child.text.strip()
        company = values.get("Company")
        if company is None:
            first = self.store.one("SELECT ID FROM DATAAREA ORDER BY RECID LIMIT 1")
            company = (first or {}).get("ID", "dat")
        if self.store.company(company) is None:
            raise AifError([f"Company '{company}' does not exist."])
        message_id = values.get("MessageId")
        if message_id:
            try:
                message_id = normalize_message_id(message_id)
            except ValueError:
                raise AifError([f"The message ID '{message_id}' is not a valid GUID."]) from None
        return CallContext(
            company=company.upper(),
            dataareaid=company.lower(),
            message_id=message_id or str(uuid.uuid4()).upper(),
            message_id_given=bool(message_id),
            user=values.get("LogonAsUser") or user,
            language=values.get("Language", "en-us"),
            extra=values,
        )

    @staticmethod
    def _duplicate() -> AifError:
        return AifError(
            [DUPLICATE_TEXT],
            xpp_type=0,
            fault_code="DuplicateMessage",
            faultstring=DUPLICATE_TEXT,
            always_visible=True,
        )

    def _action_not_supported(self, action: str) -> Response:
        text = (
            f"The message with Action '{action}' cannot be processed at the receiver, due to a "
            "ContractFilter "
            "mismatch at the EndpointDispatcher. This may be because of either a contract mismatch "
            "(mismatched "
            "Actions between sender and receiver) or a binding/security mismatch between the sender and the "
            "receiver.  Check that sender and receiver have the same contract and the same binding "
            "(including "
            "security requirements, e.g. Message, Transport, None)."
        )
        body = (
            f'<s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/ws/2005/05/addressing/none">'
            f'a:ActionNotSupported</faultcode><faultstring xml:lang="en-US">{escape(text)}</faultstring>'
            f"</s:Fault>"
        ).encode()
        return Response(500, _envelope(body), content_type="text/xml; charset=utf-8")

    def _fault_response(self, error: AifError) -> Response:
        visible = self.include_exceptions_in_fault
        parts = [
            f'<AifFault xmlns="{axwsdl.FAULT_NS}" xmlns:i="{XSI_NS}">',
            '<CustomDetailXml i:nil="true"/>',
        ]
        if error.fault_code:
            parts.append(
                '<FaultMessageListArray><FaultMessageList><Document i:nil="true"/><DocumentOperation '
                'i:nil="true"/>'
                f"<FaultMessageArray><FaultMessage><Code>{escape(error.fault_code)}</Code><Message>"
                f"{escape(error.messages[0])}</Message></FaultMessage></FaultMessageArray></FaultMessageList>"
                "</FaultMessageListArray>"
            )
        else:
            parts.append('<FaultMessageListArray i:nil="true"/>')
        if visible and not error.fault_code:
            parts.append(f'<InfologMessageList xmlns:b="{axwsdl.INFOLOG_NS}">')
            for message in error.messages:
                parts.append(
                    "<b:InfologMessage><b:InfologMessageType>Error</b:InfologMessageType>"
                    f"<b:Message>{escape(message)}</b:Message></b:InfologMessage>"
                )
            parts.append("</InfologMessageList>")
        else:
            parts.append('<InfologMessageList i:nil="true"/>')
        parts.append('<StackTrace i:nil="true"/>')
        if visible and not error.fault_code:
            parts.append(f"<XppExceptionType>{error.xpp_type}</XppExceptionType>")
        parts.append("</AifFault>")
        faultstring = error.faultstring if (visible or error.always_visible) else GENERIC_FAULT
        body = (
            f'<s:Fault><faultcode>s:Client</faultcode><faultstring xml:lang="en-US">{escape(faultstring)}'
            f"</faultstring><detail>{''.join(parts)}</detail></s:Fault>"
        ).encode()
        return Response(500, _envelope(body), content_type="text/xml; charset=utf-8")

    # -- document validation ---------------------------------------------------------------------------------
    def _validated_document(self, wrapper: etree._Element, root: str) -> etree._Element:
        """The document element after silent truncation and XSD validation (AifError on schema errors)."""
        document = wrapper.find(_q(axwsdl.document_ns(root), root))
        if document is None:
            found = ", ".join(f"'{_local(child.tag)}'" for child in wrapper) or "nothing"
            raise AifError(
                [
                    f"Invalid document schema. The following error was returned:  Expected element '{root}' "
                    f"in namespace '{axwsdl.document_ns(root)}', found {found}."
                ]
            )
        document = etree.fromstring(
            etree.tostring(document)
        )  # own tree, so error paths are document-relative
        schema = axwsdl.document_schema(root)
        for _ in range(200):
            if schema.validate(document):
                return document
            errors = list(schema.error_log)
            truncated = False
            for error in errors:
                match = re.search(r"exceeds the allowed maximum length of '(\d+)'", error.message)
                if match:
                    for node in document.xpath(error.path):
                        node.text = (node.text or "")[: int(match.group(1))]
                        truncated = True
            if not truncated:
                raise AifError(
                    [
                        "Invalid document schema. The following error was returned:  "
                        + _dotnet_schema_message(document, errors[0])
                    ]
                )
        raise AifError(["Invalid document schema."])

    # -- FreeTextInvoiceService.create -----------------------------------------------------------------------
    def _free_text_invoice_create(self, context: CallContext, wrapper: etree._Element) -> bytes:
        ns = axwsdl.document_ns("FreeTextInvoice")
        document = self._validated_document(wrapper, "FreeTextInvoice")
        headers = document.findall(_q(ns, "CustInvoiceTable"))
        if not headers:
            raise AifError(["The document does not contain a free text invoice.", UPDATE_CANCELED])
        hierarchy, structure = self.store.account_structure()
        action = axwsdl.soap_action("FreeTextInvoiceService", "create")
        with self.store.transaction():
            if context.message_id_given and self.store.processed_message(context.message_id):
                raise self._duplicate()
            errors: list[str] = []
            plans = [self._plan_invoice(context, header, ns, structure, errors) for header in headers]
            if errors:
                raise AifError([*errors, UPDATE_CANCELED])
            keys = []
            for plan in plans:
                keys.append(self._insert_invoice(context, plan, hierarchy))
            self.store.log_message(
                context.message_id,
                port=self.port_name,
                action=action,
                company=context.company,
                user=context.user,
                keys={"RecId": ",".join(str(k) for k in keys)},
            )
        entity_keys = "".join(
            f"<EntityKey "
            f'xmlns="{axwsdl.ENTITYKEY_NS}"><KeyData><KeyField><Field>RecId</Field><Value>{key}</Value>'
            f"</KeyField></KeyData></EntityKey>"
            for key in keys
        )
        return (
            f'<FreeTextInvoiceServiceCreateResponse xmlns="{axwsdl.SERVICES_NS}"><EntityKeyList '
            f'xmlns="{axwsdl.ENTITYKEYLIST_NS}">{entity_keys}</EntityKeyList></FreeTextInvoiceServiceC'
            "reateResponse>"
        ).encode()

    def _plan_invoice(
        self, context: CallContext, header: etree._Element, ns: str, structure: list[str], errors: list[str]
    ) -> dict[str, Any]:
        fields = _fields(header, ns)
        store = self.store
        plan: dict[str, Any] = {"lines": []}
        customer = None
        order_account = fields.get("OrderAccount", "")
        if not order_account:
            errors.append("Field 'Customer account' must be filled in.")
        else:
            customer = store.customer(context.dataareaid, order_account)
            if customer is None:
                errors.append(
                    f"The value '{order_account}' in field 'Customer account' is not found in the relating "
                    "table 'Customers'."
                )
        invoice_account = (
            fields.get("InvoiceAccount") or (customer or {}).get("INVOICEACCOUNT") or order_account
        )
        if (
            fields.get("InvoiceAccount")
            and store.customer(context.dataareaid, fields["InvoiceAccount"]) is None
        ):
            errors.append(
                f"The value '{fields['InvoiceAccount']}' in field 'Invoice account' is not found in the "
                "relating table 'Customers'."
            )
        currency = fields.get("CurrencyCode") or (customer or {}).get("CURRENCY") or ""
        if fields.get("CurrencyCode") and store.currency(fields["CurrencyCode"]) is None:
            errors.append(
                f"The value '{fields['CurrencyCode']}' in field 'Currency' is not found in the relating "
                "table 'Currency'."
            )
        payment = fields.get("Payment") or (customer or {}).get("PAYMTERMID") or ""
        if fields.get("Payment") and store.payment_term(context.dataareaid, fields["Payment"]) is None:
            errors.append(
                f"The value '{fields['Payment']}' in field 'Terms of payment' is not found in the relating "
                "table 'Terms of payment'."
            )
        invoice_date = fields.get("InvoiceDate") or date.today().isoformat()
        plan["DEFAULTDIMENSION"] = self._dimension_set(
            header.find(_q(ns, "DefaultDimension")), structure, errors
        )
        plan["header"] = {
            "DATAAREAID": context.dataareaid,
            "ORDERACCOUNT": order_account,
            "INVOICEACCOUNT": invoice_account,
            "NAME": fields.get("Name") or (customer or {}).get("PARTYNAME") or "",
            "CURRENCYCODE": currency,
            "CUSTOMERREF": fields.get("CustomerRef", ""),
            "DOCUMENTNUM": fields.get("DocumentNum", ""),
            "DOCUMENTDATE": fields.get("DocumentDate") or EMPTY_DATE,
            "INVOICEDATE": invoice_date,
            "DUEDATE": fields.get("DueDate") or invoice_date,
            "PAYMENT": payment,
            "PAYMMODE": fields.get("PaymMode", ""),
            "POSTINGPROFILE": fields.get("PostingProfile") or "GEN",
            "TAXGROUP": fields.get("TaxGroup", ""),
            "LANGUAGEID": fields.get("LanguageId") or (customer or {}).get("LANGUAGEID") or context.language,
        }
        lines = header.findall(_q(ns, "CustInvoiceLine"))
        if not lines:
            errors.append("The free text invoice must contain at least one line.")
        for index, line in enumerate(lines, start=1):
            plan["lines"].append(self._plan_line(line, ns, index, structure, errors))
        return plan

    def _plan_line(
        self, line: etree._Element, ns: str, index: int, structure: list[str], errors: list[str]
    ) -> dict[str, Any]:
        fields = _fields(line, ns)
        quantity = _decimal(fields.get("Quantity"))
        unit_price = _decimal(fields.get("UnitPrice"))
        amount = _decimal(fields.get("AmountCur"))
        if amount is None:
            amount = (quantity or Decimal(0)) * (unit_price or Decimal(0))
        planned: dict[str, Any] = {
            "LINENUM": str(_decimal(fields.get("LineNum")) or index),
            "DESCRIPTION": fields.get("Description", ""),
            "QUANTITY": str(quantity or 0),
            "UNITPRICE": str(unit_price or 0),
            "AMOUNTCUR": str(amount),
            "TAXGROUP": fields.get("TaxGroup", ""),
            "TAXITEMGROUP": fields.get("TaxItemGroup", ""),
        }
        planned["DEFAULTDIMENSION"] = self._dimension_set(
            line.find(_q(ns, "DefaultDimension")), structure, errors
        )
        planned["ledger"] = self._ledger_account(line.find(_q(ns, "LedgerDimension")), structure, errors)
        return planned

    def _dimension_values(
        self,
        values_node: etree._Element | None,
        structure: list[str],
        errors: list[str],
        main_account: str = "",
    ) -> list[tuple[dict, dict]]:
        st = axwsdl.SHAREDTYPES_NS
        pairs: list[tuple[dict, dict]] = []
        if values_node is None:
            return pairs
        for value in values_node.findall(_q(st, "Value")):
            name = (value.findtext(_q(st, "Name")) or "").strip()
            code = (value.findtext(_q(st, "Value")) or "").strip()
            attribute, row = self.store.dimension_value(name, code)
            if attribute is None:
                errors.append(f"The dimension attribute '{name}' does not exist.")
            elif main_account and name not in structure:
                errors.append(
                    f"The dimension '{name}' is not part of the account structure for main account "
                    f"{main_account}."
                )
            elif row is None:
                errors.append(f"The value '{code}' of the dimension '{name}' does not exist.")
            else:
                pairs.append((attribute, row))
        return pairs

    def _dimension_set(self, node: etree._Element | None, structure: list[str], errors: list[str]) -> list:
        if node is None:
            return []
        return self._dimension_values(node.find(_q(axwsdl.SHAREDTYPES_NS, "Values")), structure, errors)

    def _ledger_account(
        self, node: etree._Element | None, structure: list[str], errors: list[str]
    ) -> dict[str, Any] | None:
        st = axwsdl.SHAREDTYPES_NS
        if node is None:
            errors.append("Field 'Main account' must be filled in.")
            return None
        main_id = (node.findtext(_q(st, "MainAccount")) or "").strip()
        display = (node.findtext(_q(st, "DisplayValue")) or "").strip()
        main = self.store.main_account(main_id) if main_id else None
        if not main_id:
            errors.append("Field 'Main account' must be filled in.")
            return None
        if main is None:
            errors.append(
                f"The value '{main_id}' in field 'Main account' is not found in the relating table "
                "'Main accounts'."
            )
            return None
        pairs = self._dimension_values(node.find(_q(st, "Values")), structure, errors, main_account=main_id)
        by_name = {attribute["NAME"]: row["DISPLAYVALUE"] for attribute, row in pairs}
        segments = [main_id, *[by_name.get(name, "") for name in structure]]
        while len(segments) > 1 and segments[-1] == "":
            segments.pop()
        expected = "-".join(segments)
        if display != expected and len(pairs) == len(node.findall(f"{{{st}}}Values/{{{st}}}Value")):
            errors.append(
                f"The display value '{display}' does not match main account '{main_id}' and the dimension "
                f"values given ('{expected}')."
            )
        return {"main": main, "display": expected}

    def _insert_invoice(self, context: CallContext, plan: dict[str, Any], hierarchy: int) -> int:
        store = self.store
        total = sum((Decimal(line["AMOUNTCUR"]) for line in plan["lines"]), Decimal(0))
        header_recid = store.insert(
            "CUSTINVOICETABLE",
            {
                **plan["header"],
                "DEFAULTDIMENSION": store.value_set(plan["DEFAULTDIMENSION"]),
                "INVOICEAMOUNT": str(total),
                "POSTED": 0,
            },
        )
        for line in plan["lines"]:
            ledger = line.pop("ledger")
            default_dimension = store.value_set(line.pop("DEFAULTDIMENSION"))
            store.insert(
                "CUSTINVOICELINE",
                {
                    **line,
                    "DATAAREAID": context.dataareaid,
                    "PARENTRECID": header_recid,
                    "DEFAULTDIMENSION": default_dimension,
                    "LEDGERDIMENSION": store.ledger_combination(
                        ledger["display"], ledger["main"]["RECID"], hierarchy
                    ),
                },
            )
        return header_recid


def _fields(entity: etree._Element, ns: str) -> dict[str, str]:
    """Simple-valued child fields of an entity element (nil and empty elements count as absent)."""
    out = {}
    for child in entity:
        if (
            len(child) == 0
            and child.get(_q(XSI_NS, "nil")) != "true"
            and isinstance(child.tag, str)
            and etree.QName(child).namespace == ns
            and (child.text or "").strip()
        ):
            out[_local(child.tag)] = child.text.strip()
    return out


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _dotnet_schema_message(document: etree._Element, error: Any) -> str:
    """Rephrase an lxml schema error the way .NET's XmlSchema validation words it (best effort)."""
    match = re.match(
        r"Element '\{([^}]*)\}(\w+)': This element is not expected\.(?: Expected is(?: one of)? \((.*)\))?",
        error.message,
    )
    nodes = document.xpath(error.path) if error.path else []
    if match and nodes:
        namespace, child = match.group(1), match.group(2)
        parent = nodes[0].getparent()
        parent_name = _local(parent.tag) if parent is not None else ""
        text = (
            f"The element '{parent_name}' in namespace '{namespace}' has invalid child element '{child}' in "
            f"namespace '{namespace}'."
        )
        if match.group(3):
            expected = ", ".join(re.sub(r"\{[^}]*\}", "", name.strip()) for name in match.group(3).split(","))
            text += f" List of possible elements expected: '{expected}' in namespace '{namespace}'."
        return text
    return error.message


def _envelope(body: bytes) -> bytes:
    return f'<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body>'.encode() + body + b"</s:Body></s:Envelope>"


def create_app(
    store: AxStore,
    *,
    port_name: str = "LedgerbridgeServices",
    users: Mapping[str, str] | None = None,
    include_exceptions_in_fault: bool = True,
    faults: Faults | Mapping[str, Any] | None = None,
) -> AxSandbox:
    """WSGI app emulating ``http://<iis>/MicrosoftDynamicsAXAif60/<port_name>/xppservice.svc``."""
    if not isinstance(faults, Faults):
        faults = Faults(faults)
    return AxSandbox(
        store,
        port_name=port_name,
        users=users if users is not None else {"user": "password"},
        include_exceptions_in_fault=include_exceptions_in_fault,
        faults=faults,
    )


def main(argv: list[str] | None = None) -> None:
    """Run the sandbox as its own process (demo): ``python -m integrations.dynamics_ax.sandbox.app``."""
    import argparse

    from integrations.core.wsgi import ServerThread

    from .seed import seed

    parser = argparse.ArgumentParser(description="AX 2012 AIF sandbox (HTTP adapter emulator)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--db", default=":memory:", help="SQLite file (seeded when new) or :memory:")
    parser.add_argument("--user", default="user")
    parser.add_argument("--password", default="password")
    args = parser.parse_args(argv)
    store = AxStore(args.db)
    if store.one("SELECT 1 FROM DATAAREA") is None:
        seed(store)
    server = ServerThread(
        create_app(store, users={args.user: args.password}), host=args.host, port=args.port, quiet=False
    )
    print(f"AX sandbox on {server.url}/MicrosoftDynamicsAXAif60/LedgerbridgeServices/xppservice.svc?wsdl")  # noqa: T201
    server.server.serve_forever()


if __name__ == "__main__":
    main()
