"""WSDL/XSD set of an AX 2012 *enhanced inbound port* with the HTTP adapter, built from a list of services.

Why a builder instead of one static WSDL: a real port serves a *flattened* WCF metadata set — a root WSDL
(``xppservice.svc?wsdl``) that imports ``?wsdl=wsdl0`` (messages + portTypes), which imports every schema as
``?xsd=xsdN`` — and the set depends on which services/operations the administrator added to the port. The
sandbox serves exactly that shape (with absolute URLs pointing at the request's own host, as IIS does) so that
the zeep client exercises the same import chain it will meet on a real IIS.

Shared schemas (CallContext, AifFault, InfologMessage, EntityKeyList, EntityKey, QueryCriteria, WCF arrays)
are the real AX 2012 R2 files; ``SharedTypes.xsd`` is a real subset plus a few constructed types; document
schemas (``documents/<Root>.xsd``) are constructed — see the header comment of each file. Adding a service
later means adding its document XSD and one ``ServiceSpec`` to ``SERVICE_CATALOG``.

Inferred (not seen on a real HTTP port): binding names ``BasicHttpBinding_<Service>``, the NTLM policy
assertion, the xsd numbering order, and the wrapper-schema layout (taken from the real NetTcp port in
ax-samples).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.sax.saxutils import quoteattr

from lxml import etree

HERE = Path(__file__).resolve().parent

SERVICES_NS = "http://schemas.microsoft.com/dynamics/2008/01/services"
CALLCONTEXT_NS = "http://schemas.microsoft.com/dynamics/2010/01/datacontracts"
FAULT_NS = "http://schemas.microsoft.com/dynamics/2008/01/documents/Fault"
INFOLOG_NS = "http://schemas.datacontract.org/2004/07/Microsoft.Dynamics.AX.Framework.Services"
ENTITYKEYLIST_NS = "http://schemas.microsoft.com/dynamics/2006/02/documents/EntityKeyList"
ENTITYKEY_NS = "http://schemas.microsoft.com/dynamics/2006/02/documents/EntityKey"
QUERYCRITERIA_NS = "http://schemas.microsoft.com/dynamics/2006/02/documents/QueryCriteria"
SHAREDTYPES_NS = "http://schemas.microsoft.com/dynamics/2008/01/sharedtypes"
ARRAYS_NS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
SERIALIZATION_NS = "http://schemas.microsoft.com/2003/10/Serialization/"
DOCUMENT_NS_BASE = "http://schemas.microsoft.com/dynamics/2008/01/documents/"
ROOT_WSDL_NS = "http://tempuri.org/"


def document_ns(root: str) -> str:
    return DOCUMENT_NS_BASE + root


def soap_action(service: str, operation: str) -> str:
    """``http://schemas.microsoft.com/dynamics/2008/01/services/<Service>/<operation>`` (H: reference
    §2.1)."""
    return f"{SERVICES_NS}/{service}/{operation}"


def wrapper_name(service: str, operation: str, direction: str) -> str:
    """``FreeTextInvoiceServiceCreateRequest`` — external name + capitalised op + Request/Response (H)."""
    return f"{service}{operation[0].upper()}{operation[1:]}{direction}"


# operation -> (request children, response children); "document" stands for the service's document root
# element.
OPERATION_SHAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "create": (("document",), ("EntityKeyList",)),
    "read": (("EntityKeyList",), ("document",)),
    "update": (("EntityKeyList", "document"), ()),
    "delete": (("EntityKeyList",), ()),
    "find": (("QueryCriteria",), ("document",)),
    "findKeys": (("QueryCriteria",), ("EntityKeyList",)),
}


@dataclass(frozen=True)
class ServiceSpec:
    """One AIF document service as exposed on a port (external name, document root, enabled operations)."""

    name: str
    document: str
    operations: tuple[str, ...]


# External service names: CustomerService is real ([KOMET], [PHP]); the others are inferred (reference §1.1).
SERVICE_CATALOG: dict[str, ServiceSpec] = {
    "CustomerService": ServiceSpec(
        "CustomerService", "Customer", ("create", "read", "update", "delete", "find", "findKeys")
    ),
    "VendTableService": ServiceSpec(
        "VendTableService", "Vendor", ("create", "read", "update", "delete", "find", "findKeys")
    ),
    "ItemService": ServiceSpec("ItemService", "Item", ("read", "find", "findKeys")),
    "FreeTextInvoiceService": ServiceSpec("FreeTextInvoiceService", "FreeTextInvoice", ("create", "findKeys")),
    "GeneralJournalService": ServiceSpec("GeneralJournalService", "LedgerGeneralJournal", ("create", "read")),
    "CustPaymJournalService": ServiceSpec("CustPaymJournalService", "CustPaymJournal", ("create",)),
    "PurchaseInvoiceService": ServiceSpec("PurchaseInvoiceService", "PurchaseInvoice", ("create",)),
}

SHARED_SCHEMAS: dict[str, str] = {
    "EntityKeyList": ENTITYKEYLIST_NS,
    "EntityKey": ENTITYKEY_NS,
    "QueryCriteria": QUERYCRITERIA_NS,
    "SharedTypes": SHAREDTYPES_NS,
    "CallContext": CALLCONTEXT_NS,
    "Arrays": ARRAYS_NS,
    "Fault": FAULT_NS,
    "InfologMessage": INFOLOG_NS,
    "Serialization": SERIALIZATION_NS,
}

_TOKEN = re.compile(r'schemaLocation="xsd:(\w+)"')


def _schema_path(name: str) -> Path:
    shared = HERE / "shared" / f"{name}.xsd"
    return shared if shared.exists() else HERE / "documents" / f"{name}.xsd"


@cache
def _schema_text(name: str) -> str:
    return _schema_path(name).read_text(encoding="utf-8")


class PortDefinition:
    """The metadata set of one inbound port: ``root_wsdl``, ``wsdl0`` and ``xsd(N)`` for a given endpoint
    URL."""

    def __init__(self, port_name: str, services: list[str] | tuple[str, ...] = ("FreeTextInvoiceService",)):
        self.port_name = port_name
        self.services = [SERVICE_CATALOG[name] for name in services]
        documents = list(dict.fromkeys(spec.document for spec in self.services))
        # xsd numbering (inferred order): wrappers, key/query schemas, documents, shared types, WCF contracts.
        self.schema_names = [
            "Services",
            "EntityKeyList",
            "EntityKey",
            "QueryCriteria",
            *documents,
            "SharedTypes",
            "CallContext",
            "Arrays",
            "Fault",
            "InfologMessage",
            "Serialization",
        ]
        self.namespaces = {
            **SHARED_SCHEMAS,
            "Services": SERVICES_NS,
            **{d: document_ns(d) for d in documents},
        }

    # -- lookups ---------------------------------------------------------------------------------------------
    def service(self, name: str) -> ServiceSpec | None:
        return next((spec for spec in self.services if spec.name == name), None)

    def resolve_action(self, action: str) -> tuple[ServiceSpec, str] | None:
        """Map a SOAPAction URI to (service, operation), or None when the port does not expose it."""
        action = action.strip().strip('"')
        prefix = SERVICES_NS + "/"
        if not action.startswith(prefix):
            return None
        service_name, _, operation = action[len(prefix) :].partition("/")
        spec = self.service(service_name)
        if spec and operation in spec.operations:
            return spec, operation
        return None

    def resolve_wrapper(self, local_name: str) -> tuple[ServiceSpec, str] | None:
        """Map a body wrapper element name (``…CreateRequest``) to (service, operation)."""
        for spec in self.services:
            for operation in spec.operations:
                if wrapper_name(spec.name, operation, "Request") == local_name:
                    return spec, operation
        return None

    # -- documents -------------------------------------------------------------------------------------------
    def _xsd_url(self, endpoint: str, name: str) -> str:
        return f"{endpoint}?xsd=xsd{self.schema_names.index(name)}"

    def xsd(self, endpoint: str, key: str) -> bytes | None:
        """Schema ``xsdN`` (or by name) with imports rewritten to absolute ``?xsd=`` URLs; None if unknown."""
        match = re.fullmatch(r"xsd(\d+)", key)
        if match:
            index = int(match.group(1))
            if index >= len(self.schema_names):
                return None
            name = self.schema_names[index]
        elif key in self.schema_names:
            name = key
        else:
            return None
        text = self._services_schema() if name == "Services" else _schema_text(name)
        text = _TOKEN.sub(lambda m: f'schemaLocation="{self._xsd_url(endpoint, m.group(1))}"', text)
        return text.encode("utf-8")

    def _services_schema(self) -> str:
        imports = [("EntityKeyList", ENTITYKEYLIST_NS), ("QueryCriteria", QUERYCRITERIA_NS)]
        imports += [(spec.document, document_ns(spec.document)) for spec in self.services]
        lines = [
            '<?xml version="1.0" encoding="utf-8"?>',
            "<!-- Generated request/response wrappers (pattern REAL: "
            "ax-samples/jaestevan-.../JAEEServicios4.xsd). -->",
            f'<xs:schema xmlns:tns="{SERVICES_NS}" elementFormDefault="qualified" '
            f'targetNamespace="{SERVICES_NS}" '
            'xmlns:xs="http://www.w3.org/2001/XMLSchema">',
        ]
        for name, ns in dict(imports).items():
            lines.append(f'  <xs:import schemaLocation="xsd:{name}" namespace="{ns}" />')
        counter = 0
        for spec in self.services:
            for operation in spec.operations:
                request, response = OPERATION_SHAPES[operation]
                for direction, children in (("Request", request), ("Response", response)):
                    lines.append(f'  <xs:element name="{wrapper_name(spec.name, operation, direction)}">')
                    lines.append("    <xs:complexType>")
                    lines.append("      <xs:sequence>")
                    for child in children:
                        counter += 1
                        local = spec.document if child == "document" else child
                        ns = self.namespaces[local] if child == "document" else SHARED_SCHEMAS[child]
                        lines.append(
                            f'        <xs:element xmlns:q{counter}="{ns}" minOccurs="0" '
                            f'ref="q{counter}:{local}" />'
                        )
                    lines.append("      </xs:sequence>")
                    lines.append("    </xs:complexType>")
                    lines.append("  </xs:element>")
        lines.append("</xs:schema>")
        return "\n".join(lines) + "\n"

    def wsdl0(self, endpoint: str) -> bytes:
        """The imported WSDL (``?wsdl=wsdl0``): types, messages and one portType per service."""
        out = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:wsaw="http://www.w3.org/2006/05/addressing/wsdl" '
            f'xmlns:tns="{SERVICES_NS}" targetNamespace="{SERVICES_NS}">',
            "  <wsdl:types>",
            f'    <xsd:schema targetNamespace="{SERVICES_NS}/Imports">',
        ]
        for name in self.schema_names:
            out.append(
                f"      <xsd:import schemaLocation={quoteattr(self._xsd_url(endpoint, name))} "
                f'namespace="{self.namespaces[name]}" />'
            )
        out += ["    </xsd:schema>", "  </wsdl:types>"]
        for spec in self.services:
            for op in spec.operations:
                req, resp = wrapper_name(spec.name, op, "Request"), wrapper_name(spec.name, op, "Response")
                out += [
                    f'  <wsdl:message name="{req}"><wsdl:part name="parameters" element="tns:{req}" '
                    "/></wsdl:message>",
                    f'  <wsdl:message name="{req}_Headers"><wsdl:part xmlns:q1="{CALLCONTEXT_NS}" '
                    'name="context" '
                    'element="q1:CallContext" /></wsdl:message>',
                    f'  <wsdl:message name="{resp}"><wsdl:part name="parameters" element="tns:{resp}" '
                    "/></wsdl:message>",
                    f'  <wsdl:message name="{spec.name}_{op}_AifFaultFault_FaultMessage"><wsdl:part '
                    f'xmlns:q2="{FAULT_NS}" '
                    'name="detail" element="q2:AifFault" /></wsdl:message>',
                ]
        for spec in self.services:
            out.append(f'  <wsdl:portType name="{spec.name}">')
            for op in spec.operations:
                action = soap_action(spec.name, op)
                req, resp = wrapper_name(spec.name, op, "Request"), wrapper_name(spec.name, op, "Response")
                out += [
                    f'    <wsdl:operation name="{op}">',
                    f'      <wsdl:input wsaw:Action="{action}" name="{req}" message="tns:{req}" />',
                    f'      <wsdl:output wsaw:Action="{action}Response" name="{resp}" message="tns:{resp}" '
                    "/>",
                    f'      <wsdl:fault wsaw:Action="{action}AifFaultFault" name="AifFaultFault" '
                    f'message="tns:{spec.name}_{op}_AifFaultFault_FaultMessage" />',
                    "    </wsdl:operation>",
                ]
            out.append("  </wsdl:portType>")
        out.append("</wsdl:definitions>")
        return ("\n".join(out) + "\n").encode("utf-8")

    def root_wsdl(self, endpoint: str) -> bytes:
        """``xppservice.svc?wsdl``: policy, import of wsdl0, SOAP 1.1 bindings and the service/port
        addresses."""
        policy_id = f"BasicHttpBinding_{self.port_name}_policy"
        out = [
            '<?xml version="1.0" encoding="utf-8"?>',
            '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" '
            'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
            'xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy" '
            'xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" '
            f'xmlns:i0="{SERVICES_NS}" xmlns:tns="{ROOT_WSDL_NS}" name="{self.port_name}" '
            f'targetNamespace="{ROOT_WSDL_NS}">',
            f'  <wsp:Policy wsu:Id="{policy_id}"><wsp:ExactlyOne><wsp:All>'
            '<http:NtlmAuthentication xmlns:http="http://schemas.microsoft.com/ws/06/2004/policy/http" />'
            "</wsp:All></wsp:ExactlyOne></wsp:Policy>",
            f'  <wsdl:import namespace="{SERVICES_NS}" location={quoteattr(endpoint + "?wsdl=wsdl0")} />',
            "  <wsdl:types />",
        ]
        for spec in self.services:
            out += [
                f'  <wsdl:binding name="BasicHttpBinding_{spec.name}" type="i0:{spec.name}">',
                f'    <wsp:PolicyReference URI="#{policy_id}" />',
                '    <soap:binding transport="http://schemas.xmlsoap.org/soap/http" />',
            ]
            for op in spec.operations:
                out += [
                    f'    <wsdl:operation name="{op}">',
                    f'      <soap:operation soapAction="{soap_action(spec.name, op)}" style="document" />',
                    f'      <wsdl:input name="{wrapper_name(spec.name, op, "Request")}">',
                    f'        <soap:header message="i0:{wrapper_name(spec.name, op, "Request")}_Headers" '
                    'part="context" '
                    'use="literal" />',
                    '        <soap:body use="literal" />',
                    "      </wsdl:input>",
                    f'      <wsdl:output name="{wrapper_name(spec.name, op, "Response")}">',
                    '        <soap:body use="literal" />',
                    "      </wsdl:output>",
                    '      <wsdl:fault name="AifFaultFault">',
                    '        <soap:fault use="literal" name="AifFaultFault" namespace="" />',
                    "      </wsdl:fault>",
                    "    </wsdl:operation>",
                ]
            out.append("  </wsdl:binding>")
        out.append(f'  <wsdl:service name="{self.port_name}">')
        for spec in self.services:
            out += [
                f'    <wsdl:port name="BasicHttpBinding_{spec.name}" '
                f'binding="tns:BasicHttpBinding_{spec.name}">',
                f"      <soap:address location={quoteattr(endpoint)} />",
                "    </wsdl:port>",
            ]
        out += ["  </wsdl:service>", "</wsdl:definitions>"]
        return ("\n".join(out) + "\n").encode("utf-8")


class _TokenResolver(etree.Resolver):
    def resolve(self, url, pubid, context):  # noqa: ANN001 - lxml signature
        match = re.fullmatch(r"xsd:(\w+)", url or "")
        if match:
            return self.resolve_filename(str(_schema_path(match.group(1))), context)
        return None


@cache
def document_schema(root: str) -> etree.XMLSchema:
    """Compiled XSD of one document (``FreeTextInvoice``) for server-side validation in the sandbox."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    parser.resolvers.add(_TokenResolver())
    return etree.XMLSchema(etree.parse(str(_schema_path(root)), parser))


_XS = "{http://www.w3.org/2001/XMLSchema}"


@cache
def field_order(root: str, type_name: str) -> tuple[str, ...]:
    """Element names of a document complex type in schema order (for an extension: only its own elements)."""
    tree = etree.parse(str(_schema_path(root)), etree.XMLParser(resolve_entities=False, no_network=True))
    for complex_type in tree.getroot().iter(f"{_XS}complexType"):
        if complex_type.get("name") == type_name:
            sequence = complex_type.find(f"{_XS}sequence")
            if sequence is None:
                sequence = complex_type.find(f"{_XS}complexContent/{_XS}extension/{_XS}sequence")
            return tuple(element.get("name") for element in sequence.findall(f"{_XS}element"))
    raise KeyError(f"{type_name} is not defined in the {root} schema")
