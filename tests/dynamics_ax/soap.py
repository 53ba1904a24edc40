"""Raw SOAP 1.1 helpers for sandbox tests that need exact XML (element order, missing xsi:type, bad actions)."""

from __future__ import annotations

import uuid

import requests
from lxml import etree

SERVICES_NS = "http://schemas.microsoft.com/dynamics/2008/01/services"
NS = {
    "s": "http://schemas.xmlsoap.org/soap/envelope/",
    "f": "http://schemas.microsoft.com/dynamics/2008/01/documents/Fault",
    "b": "http://schemas.datacontract.org/2004/07/Microsoft.Dynamics.AX.Framework.Services",
    "ek": "http://schemas.microsoft.com/dynamics/2006/02/documents/EntityKey",
}
ST = 'xmlns:st="http://schemas.microsoft.com/dynamics/2008/01/sharedtypes"'
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def document(root: str, inner: str) -> str:
    return (f'<{root} xmlns="http://schemas.microsoft.com/dynamics/2008/01/documents/{root}" {ST} {XSI}>'
            f"{inner}</{root}>")


def keys(field: str, *values: str) -> str:
    items = "".join(
        '<EntityKey xmlns="http://schemas.microsoft.com/dynamics/2006/02/documents/EntityKey"><KeyData><KeyField>'
        f"<Field>{field}</Field><Value>{value}</Value></KeyField></KeyData></EntityKey>" for value in values)
    return f'<EntityKeyList xmlns="http://schemas.microsoft.com/dynamics/2006/02/documents/EntityKeyList">{items}' \
           "</EntityKeyList>"


def criteria(*elements: tuple[str, str, str, str]) -> str:
    items = "".join(f"<CriteriaElement><DataSourceName>{ds}</DataSourceName><FieldName>{name}</FieldName>"
                    f"<Operator>{op}</Operator><Value1>{value}</Value1></CriteriaElement>"
                    for ds, name, op, value in elements)
    return f'<QueryCriteria xmlns="http://schemas.microsoft.com/dynamics/2006/02/documents/QueryCriteria">{items}' \
           "</QueryCriteria>"


def call(instance, service: str, operation: str, body: str, *, company: str | None = "GBSI",
         message_id: str | None = "new", action: bool = True) -> requests.Response:
    context = f"<Company>{company}</Company>" if company else ""
    if message_id == "new":
        message_id = str(uuid.uuid4())
    if message_id:
        context += f"<MessageId>{{{message_id}}}</MessageId>"
    wrapper = f"{service}{operation[0].upper()}{operation[1:]}Request"
    envelope = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>'
        f'<CallContext xmlns="http://schemas.microsoft.com/dynamics/2010/01/datacontracts">{context}</CallContext>'
        f'</s:Header><s:Body><{wrapper} xmlns="{SERVICES_NS}">{body}</{wrapper}></s:Body></s:Envelope>'
    )
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if action:
        headers["SOAPAction"] = f'"{SERVICES_NS}/{service}/{operation}"'
    return requests.post(instance.endpoint, data=envelope.encode(), headers=headers,
                         auth=(instance.credentials["username"], instance.credentials["password"]), timeout=10)


def infolog(response: requests.Response) -> list[str]:
    root = etree.fromstring(response.content)
    return [m.text for m in root.iterfind(".//b:InfologMessage/b:Message", NS)]


def xpp(response: requests.Response) -> str | None:
    return etree.fromstring(response.content).findtext(".//f:XppExceptionType", namespaces=NS)


def body_element(response: requests.Response) -> etree._Element:
    return etree.fromstring(response.content).find("s:Body", NS)[0]
