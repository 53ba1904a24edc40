"""Reading and writing AIF XML: validated inbound documents, entity keys, query criteria, outbound entities.

Inbound documents are validated against the port's XSD the way AIF does (element order, enumerations, types,
string lengths), and reported with .NET's XmlSchema wording (reference §3: "The element … has invalid child
element …"). Outbound documents are built in schema order and omit empty values, as AX does ("non-mandatory
fields with null/0 values are not serialized").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from lxml import etree

from integrations.dynamics_ax import wsdl as axwsdl

from .aif import AifError, Criterion

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_NIL = f"{{{XSI_NS}}}nil"
_LENGTH = re.compile(r"exceeds the allowed maximum length of '(\d+)'")


def q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def is_nil(node: etree._Element) -> bool:
    return node.get(_NIL) == "true"


def fields(entity: etree._Element, ns: str) -> dict[str, str]:
    """Simple-valued child fields of an entity element (nil and empty elements count as absent)."""
    out = {}
    for child in entity:
        if (
            isinstance(child.tag, str)
            and len(child) == 0
            and not is_nil(child)
            and etree.QName(child).namespace == ns
            and (child.text or "").strip()
        ):
            out[local(child.tag)] = child.text.strip()
    return out


def nil_fields(entity: etree._Element, ns: str) -> set[str]:
    """Fields sent as ``xsi:nil="true"`` (cleared on update only with ClearNilFieldsOnUpdate)."""
    return {local(child.tag) for child in entity if isinstance(child.tag, str) and is_nil(child)
            and etree.QName(child).namespace == ns}


def children(entity: etree._Element, ns: str, name: str) -> list[etree._Element]:
    return entity.findall(q(ns, name))


def validated_document(wrapper: etree._Element, root: str, *, truncate: bool = False) -> etree._Element:
    """The document element of a request wrapper after XSD validation (AifError on schema errors).

    With ``truncate`` over-long strings are cut to the schema length first (the silent truncation the AX
    troubleshooting guide describes) instead of failing validation.
    """
    document = wrapper.find(q(axwsdl.document_ns(root), root))
    if document is None:
        found = ", ".join(f"'{local(child.tag)}'" for child in wrapper if isinstance(child.tag, str)) or "nothing"
        raise AifError([
            "Invalid document schema. The following error was returned:  Expected element "
            f"'{root}' in namespace '{axwsdl.document_ns(root)}', found {found}."
        ])
    document = etree.fromstring(etree.tostring(document))  # own tree, so error paths are document-relative
    schema = axwsdl.document_schema(root)
    for _ in range(500):
        if schema.validate(document):
            return document
        errors = list(schema.error_log)
        if not (truncate and _truncate_strings(document, errors)):
            raise AifError([
                "Invalid document schema. The following error was returned:  "
                + dotnet_schema_message(document, errors[0])
            ])
    raise AifError(["Invalid document schema."])


def _truncate_strings(document: etree._Element, errors: Sequence[Any]) -> bool:
    truncated = False
    for error in errors:
        match = _LENGTH.search(error.message)
        if match:
            for node in document.xpath(error.path):
                node.text = (node.text or "")[: int(match.group(1))]
                truncated = True
    return truncated


def dotnet_schema_message(document: etree._Element, error: Any) -> str:
    """Rephrase an lxml schema error the way .NET's XmlSchema validation words it (best effort)."""
    nodes = document.xpath(error.path) if error.path else []
    node = nodes[0] if nodes else None
    match = re.match(
        r"Element '\{([^}]*)\}(\w+)': This element is not expected\.(?: Expected is(?: one of)? \((.*)\))?",
        error.message,
    )
    if match and node is not None:
        namespace, child = match.group(1), match.group(2)
        parent = node.getparent()
        parent_name = local(parent.tag) if parent is not None else ""
        text = (f"The element '{parent_name}' in namespace '{namespace}' has invalid child element '{child}' in "
                f"namespace '{namespace}'.")
        if match.group(3):
            expected = ", ".join(re.sub(r"\{[^}]*\}", "", name.strip()) for name in match.group(3).split(","))
            text += f" List of possible elements expected: '{expected}' in namespace '{namespace}'."
        return text
    match = re.match(r"Element '\{([^}]*)\}(\w+)': Missing child element\(s\)\. Expected is(?: one of)? \((.*)\)",
                     error.message)
    if match:
        expected = ", ".join(re.sub(r"\{[^}]*\}", "", name.strip()) for name in match.group(3).split(","))
        return (f"The element '{match.group(2)}' in namespace '{match.group(1)}' has incomplete content. List of "
                f"possible elements expected: '{expected}' in namespace '{match.group(1)}'.")
    match = _LENGTH.search(error.message)
    if match and node is not None:
        name = etree.QName(node)
        return (f"The '{name.namespace}:{name.localname}' element is invalid - The value '{node.text}' is invalid "
                f"according to its datatype - The actual length is greater than the MaxLength value.")
    match = re.match(r"Element '\{([^}]*)\}(\w+)': \[facet 'enumeration'\] The value '([^']*)'", error.message)
    if match:
        return (f"The '{match.group(1)}:{match.group(2)}' element is invalid - The value '{match.group(3)}' is "
                "invalid according to its datatype - The Enumeration constraint failed.")
    return error.message


# -- entity keys and query criteria ----------------------------------------------------------------------------


def entity_keys(node: etree._Element | None) -> list[dict[str, str]]:
    """``EntityKeyList`` element -> ``[{"AccountNum": "GB-0001"}, ...]``."""
    if node is None:
        return []
    ek = axwsdl.ENTITYKEY_NS
    keys = []
    for entity in node.findall(q(ek, "EntityKey")):
        pairs = {}
        for key_field in entity.iterfind(f"{q(ek, 'KeyData')}/{q(ek, 'KeyField')}"):
            name = (key_field.findtext(q(ek, "Field")) or "").strip()
            pairs[name] = (key_field.findtext(q(ek, "Value")) or "").strip()
        keys.append(pairs)
    return keys


def key_list_from(wrapper: etree._Element) -> list[dict[str, str]]:
    return entity_keys(wrapper.find(q(axwsdl.ENTITYKEYLIST_NS, "EntityKeyList")))


def entity_key_list(keys: Iterable[dict[str, str]]) -> etree._Element:
    root = etree.Element(q(axwsdl.ENTITYKEYLIST_NS, "EntityKeyList"), nsmap={None: axwsdl.ENTITYKEYLIST_NS})
    ek = axwsdl.ENTITYKEY_NS
    for key in keys:
        entity = etree.SubElement(root, q(ek, "EntityKey"), nsmap={None: ek})
        data = etree.SubElement(entity, q(ek, "KeyData"))
        for name, value in key.items():
            key_field = etree.SubElement(data, q(ek, "KeyField"))
            etree.SubElement(key_field, q(ek, "Field")).text = name
            etree.SubElement(key_field, q(ek, "Value")).text = str(value)
    return root


def query_criteria(wrapper: etree._Element) -> list[Criterion]:
    qc = axwsdl.QUERYCRITERIA_NS
    node = wrapper.find(q(qc, "QueryCriteria"))
    if node is None:
        raise AifError(["The request does not contain query criteria."])
    criteria = []
    for element in node.findall(q(qc, "CriteriaElement")):
        criteria.append(Criterion(
            data_source=(element.findtext(q(qc, "DataSourceName")) or "").strip(),
            field=(element.findtext(q(qc, "FieldName")) or "").strip(),
            operator=(element.findtext(q(qc, "Operator")) or "").strip(),
            value1=element.findtext(q(qc, "Value1")) or "",
            value2=element.findtext(q(qc, "Value2")),
        ))
    if not criteria:
        raise AifError(["The request does not contain query criteria."])
    return criteria


# -- outbound documents ----------------------------------------------------------------------------------------


def text_value(value: Any) -> str | None:
    """How AX serialises a value; None means "not serialised" (null, empty string, zero amount)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float | Decimal):
        if value == 0:
            return None
        return format(Decimal(str(value)).normalize(), "f")
    if isinstance(value, int):
        return None if value == 0 else str(value)
    return str(value)


class Builder:
    """Builds outbound AIF XML in one document namespace, in the order fields are added."""

    def __init__(self, root: str) -> None:
        self.document = root
        self.ns = axwsdl.document_ns(root)
        self.root = etree.Element(q(self.ns, root), nsmap={None: self.ns})

    def add(self, parent: etree._Element, name: str, value: Any, *, keep: bool = False) -> etree._Element | None:
        """A simple field; skipped when AX would not serialise it (``keep`` serialises enums and keys anyway)."""
        text = str(value) if keep and value is not None else text_value(value)
        if text is None:
            return None
        element = etree.SubElement(parent, q(self.ns, name))
        element.text = text
        return element

    def fields(self, parent: etree._Element, pairs: Sequence[tuple[str, Any]]) -> None:
        for name, value in pairs:
            self.add(parent, name, value)

    def ordered(self, parent: etree._Element, type_name: str, values: dict[str, Any],
                *, keep: Iterable[str] = ()) -> None:
        """Fields of ``values`` in the schema order of ``type_name``; a callable value writes itself (complex
        fields such as DefaultDimension get ``callable(parent)``). Names in ``keep`` are written even when empty
        or zero (keys, enums)."""
        keep = set(keep)
        for name in axwsdl.field_order(self.document, type_name):
            if name not in values:
                continue
            value = values[name]
            if callable(value):
                value(parent)
            else:
                self.add(parent, name, value, keep=name in keep)

    def entity(self, parent: etree._Element, name: str, *, xsi_type: str = "") -> etree._Element:
        element = etree.SubElement(parent, q(self.ns, name))
        if xsi_type:
            element.set(q(XSI_NS, "type"), xsi_type)
        element.set("class", "entity")
        return element

    def dimension_values(self, parent: etree._Element, name: str, pairs: Sequence[tuple[str, str]]) -> None:
        """AxdType_DimensionAttributeValueSet (``DefaultDimension``); nothing for an empty set."""
        if not pairs:
            return
        container = etree.SubElement(parent, q(self.ns, name))
        _values(container, pairs)

    def account(self, parent: etree._Element, name: str, display: str, account: str,
                pairs: Sequence[tuple[str, str]], *, account_field: str = "Account") -> None:
        """AxdType_MultiTypeAccount (``Account``) or AxdType_LedgerAccount (``MainAccount``)."""
        st = axwsdl.SHAREDTYPES_NS
        container = etree.SubElement(parent, q(self.ns, name))
        etree.SubElement(container, q(st, "DisplayValue")).text = display
        etree.SubElement(container, q(st, account_field)).text = account
        if pairs:
            _values(container, pairs)


def _values(container: etree._Element, pairs: Sequence[tuple[str, str]]) -> None:
    st = axwsdl.SHAREDTYPES_NS
    values = etree.SubElement(container, q(st, "Values"))
    for dimension, value in pairs:
        item = etree.SubElement(values, q(st, "Value"))
        etree.SubElement(item, q(st, "Name")).text = dimension
        etree.SubElement(item, q(st, "Value")).text = value


def document_hash(records: Iterable[tuple[int, int]]) -> str:
    """``_DocumentHash``: a hash over the RecId/RecVersion of every record in the document (reference §3.8)."""
    text = ";".join(f"{recid}:{version}" for recid, version in records)
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - change detection, not security


def dimension_pairs(values_node: etree._Element | None) -> list[tuple[str, str]]:
    """(Name, Value) pairs of a sharedtypes ``Values`` element."""
    if values_node is None:
        return []
    st = axwsdl.SHAREDTYPES_NS
    return [((value.findtext(q(st, "Name")) or "").strip(), (value.findtext(q(st, "Value")) or "").strip())
            for value in values_node.findall(q(st, "Value"))]
