"""Raw SOAP 1.1 requests against the AX 2012 AIF sandbox (no zeep), checking protocol and AX-like
behaviour.
"""

from __future__ import annotations

import requests
from lxml import etree

from integrations.dynamics_ax.sandbox.store import FIRST_RECID

AUTH = ("user", "password")
ACTION = "http://schemas.microsoft.com/dynamics/2008/01/services/FreeTextInvoiceService/create"
NS = {
    "s": "http://schemas.xmlsoap.org/soap/envelope/",
    "f": "http://schemas.microsoft.com/dynamics/2008/01/documents/Fault",
    "b": "http://schemas.datacontract.org/2004/07/Microsoft.Dynamics.AX.Framework.Services",
    "ek": "http://schemas.microsoft.com/dynamics/2006/02/documents/EntityKey",
    "wsdl": "http://schemas.xmlsoap.org/wsdl/",
    "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
}
LINE = """
       <CustInvoiceLine class="entity"> <AmountCur>{amount}</AmountCur>
       <Description>{description}</Description> <LedgerDimension> <st:DisplayValue>{display}</st:DisplayValue>
       <st:MainAccount>{main}</st:MainAccount> <st:Values>{values}</st:Values> </LedgerDimension>
       <LineNum>{num}</LineNum> <Quantity>1</Quantity> <UnitPrice>{amount}</UnitPrice> </CustInvoiceLine>"""


def dim(name: str, value: str) -> str:
    return f"<st:Value><st:Name>{name}</st:Name><st:Value>{value}</st:Value></st:Value>"


def line(
    num: int = 1,
    *,
    main: str = "401100",
    dims: tuple = (("BusinessUnit", "001"), ("Department", "022")),
    display: str | None = None,
    description: str = "Bike service",
    amount: str = "100.00",
) -> str:
    display = display if display is not None else "-".join([main, *[v for _n, v in dims]])
    return LINE.format(
        amount=amount,
        description=description,
        display=display,
        main=main,
        values="".join(dim(n, v) for n, v in dims),
        num=num,
    )


def envelope(
    *,
    company: str | None = "GBSI",
    message_id: str | None = "3E9D4B21-77A0-4B8C-A1D2-5C6E7F8091AB",
    order_account: str = "BRIG01",
    lines: str | None = None,
    header_extra: str = "",
    before_order: str = "<InvoiceDate>2024-03-01</InvoiceDate>",
) -> bytes:
    context = ""
    if company is not None:
        context += f"<Company>{company}</Company>"
    if message_id is not None:
        context += f"<MessageId>{{{message_id}}}</MessageId>"
    order = f"<OrderAccount>{order_account}</OrderAccount>" if order_account else ""
    return f"""<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Header><CallContext
  xmlns="http://schemas.microsoft.com/dynamics/2010/01/datacontracts">{context}</CallContext>
  </s:Header>
  <s:Body>
    <FreeTextInvoiceServiceCreateRequest xmlns="http://schemas.microsoft.com/dynamics/2008/01/services">
      <FreeTextInvoice xmlns="http://schemas.microsoft.com/dynamics/2008/01/documents/FreeTextInvoice"
                       xmlns:st="http://schemas.microsoft.com/dynamics/2008/01/sharedtypes">
        <CustInvoiceTable class="entity">
          <CurrencyCode>GBP</CurrencyCode>
          <CustomerRef>INV-1001</CustomerRef>
          <DueDate>2024-03-31</DueDate>
          {before_order}{order}{header_extra}{line() if lines is None else lines}
        </CustInvoiceTable>
      </FreeTextInvoice>
    </FreeTextInvoiceServiceCreateRequest>
  </s:Body>
</s:Envelope>""".encode()


def post(endpoint: str, body: bytes, *, action: str | None = ACTION, auth=AUTH) -> requests.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if action is not None:
        headers["SOAPAction"] = f'"{action}"'
    return requests.post(endpoint, data=body, headers=headers, auth=auth, timeout=10)


def infolog(response: requests.Response) -> list[str]:
    root = etree.fromstring(response.content)
    return [m.text for m in root.iterfind(".//b:InfologMessage/b:Message", NS)]


def faultstring(response: requests.Response) -> str:
    return etree.fromstring(response.content).findtext(".//s:Fault/faultstring", namespaces=NS)


# -- metadata / auth -----------------------------------------------------------------------------------------
def test_wsdl_is_served_with_own_host_and_imports(endpoint: str) -> None:
    response = requests.get(endpoint + "?wsdl", auth=AUTH, timeout=10)
    assert response.status_code == 200
    root = etree.fromstring(response.content)
    assert root.find("soap:address", NS) is None
    address = root.find(".//wsdl:service/wsdl:port/soap:address", NS).get("location")
    assert address == endpoint
    assert root.find("wsdl:import", NS).get("location") == endpoint + "?wsdl=wsdl0"
    actions = {op.get("soapAction") for op in root.iterfind(".//wsdl:binding/wsdl:operation/soap:operation", NS)}
    assert ACTION in actions
    wsdl0 = etree.fromstring(requests.get(endpoint + "?wsdl=wsdl0", auth=AUTH, timeout=10).content)
    imports = wsdl0.findall(".//{http://www.w3.org/2001/XMLSchema}import")
    assert imports and all(i.get("schemaLocation").startswith(endpoint + "?xsd=xsd") for i in imports)
    for item in imports:  # every referenced schema is served and parses
        etree.fromstring(requests.get(item.get("schemaLocation"), auth=AUTH, timeout=10).content)
    assert (
        b"FreeTextInvoiceServiceCreateRequest"
        in requests.get(endpoint + "?xsd=xsd0", auth=AUTH, timeout=10).content
    )


def test_401_without_credentials(endpoint: str) -> None:
    for response in (
        requests.get(endpoint + "?wsdl", timeout=10),
        post(endpoint, envelope(), auth=None),
        post(endpoint, envelope(), auth=("user", "wrong")),
    ):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="AX"'


def test_unknown_port_is_404(server) -> None:
    response = requests.get(
        server.url + "/MicrosoftDynamicsAXAif60/Other/xppservice.svc?wsdl", auth=AUTH, timeout=10
    )
    assert response.status_code == 404


# -- create --------------------------------------------------------------------------------------------------
def test_create_returns_recid_and_rows_land_in_ax_tables(endpoint: str, store) -> None:
    body = envelope(lines=line(1) + line(2, main="401200", dims=(("BusinessUnit", "002"),), amount="50.5"))
    response = post(endpoint, body)
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    assert root.findtext(".//ek:KeyField/ek:Field", namespaces=NS) == "RecId"
    recid = int(root.findtext(".//ek:KeyField/ek:Value", namespaces=NS))
    assert recid >= FIRST_RECID

    header = store.one("SELECT * FROM CUSTINVOICETABLE WHERE RECID = ?", (recid,))
    assert header["DATAAREAID"] == "gbsi" and header["ORDERACCOUNT"] == "BRIG01"
    assert header["INVOICEACCOUNT"] == "BRIG01" and header["CUSTOMERREF"] == "INV-1001"
    assert header["INVOICEDATE"] == "2024-03-01" and header["DUEDATE"] == "2024-03-31"
    assert header["POSTED"] == 0 and header["RECVERSION"] == 1 and header["PARTITION"] >= FIRST_RECID
    lines = store.query("SELECT * FROM CUSTINVOICELINE WHERE PARENTRECID = ? ORDER BY LINENUM", (recid,))
    assert [float(x["AMOUNTCUR"]) for x in lines] == [100.0, 50.5]
    combos = [
        store.one(
            "SELECT DISPLAYVALUE FROM DIMENSIONATTRIBUTEVALUECOMBINATION WHERE RECID = ?",
            (x["LEDGERDIMENSION"],),
        )["DISPLAYVALUE"]
        for x in lines
    ]
    assert combos == ["401100-001-022", "401200-002"]
    logged = store.one("SELECT * FROM AIFMESSAGELOG")
    assert (
        logged["MESSAGEID"] == "3E9D4B21-77A0-4B8C-A1D2-5C6E7F8091AB"
        and logged["ENTITYKEYS"] == f"RecId={recid}"
    )


def test_routing_falls_back_to_body_wrapper_and_rejects_unknown_action(endpoint: str, store) -> None:
    assert post(endpoint, envelope(), action=None).status_code == 200
    for action in ("http://schemas.microsoft.com/dynamics/2008/01/services/SalesOrderService/create",  # not on port
                   "http://schemas.microsoft.com/dynamics/2008/01/services/FreeTextInvoiceService/read"):  # no such op
        response = post(endpoint, envelope(message_id=None), action=action)
        assert response.status_code == 500 and "ActionNotSupported" in response.text
    # a known action whose body is another operation's wrapper is rejected, not guessed
    response = post(endpoint, envelope(message_id=None),
                    action="http://schemas.microsoft.com/dynamics/2008/01/services/CustomerService/create")
    assert response.status_code == 500 and "does not contain CustomerServiceCreateRequest" in infolog(response)[0]
    assert len(store.free_text_invoices()) == 1


def test_duplicate_message_id_is_a_fault_and_not_reprocessed(endpoint: str, store) -> None:
    assert post(endpoint, envelope()).status_code == 200
    # same GUID, lower case and without braces: AX compares GUIDs, not strings
    again = envelope().replace(
        b"{3E9D4B21-77A0-4B8C-A1D2-5C6E7F8091AB}", b"3e9d4b21-77a0-4b8c-a1d2-5c6e7f8091ab"
    )
    response = post(endpoint, again)
    assert response.status_code == 500
    assert faultstring(response) == "Duplicate message. Message has already been processed."
    code = etree.fromstring(response.content).findtext(".//f:FaultMessage/f:Code", namespaces=NS)
    assert code == "DuplicateMessage"
    assert len(store.free_text_invoices()) == 1


def test_without_message_id_each_request_creates(endpoint: str, store) -> None:
    assert post(endpoint, envelope(message_id=None)).status_code == 200
    assert post(endpoint, envelope(message_id=None)).status_code == 200
    assert len(store.free_text_invoices()) == 2


def test_unknown_customer_gives_infolog_fault(endpoint: str, store) -> None:
    response = post(endpoint, envelope(order_account="NOPE01"))
    assert response.status_code == 500
    assert faultstring(response) == "Request Failed. See the Exception Log for details."
    assert infolog(response) == [
        "The value 'NOPE01' in field 'Customer account' is not found in the relating table 'Customers'.",
        "Update has been canceled.",
    ]
    assert etree.fromstring(response.content).findtext(".//f:XppExceptionType", namespaces=NS) == "3"
    assert store.free_text_invoices() == []
    # a failed message is not "processed": the same MessageId may be sent again once the data is fixed
    assert post(endpoint, envelope()).status_code == 200


def test_bad_main_account_and_dimensions(endpoint: str) -> None:
    messages = infolog(post(endpoint, envelope(lines=line(main="999999"))))
    assert (
        "The value '999999' in field 'Main account' is not found in the relating table 'Main accounts'."
        in messages
    )
    messages = infolog(
        post(endpoint, envelope(lines=line(dims=(("BusinessUnit", "001"), ("Department", "099")))))
    )
    assert "The value '099' of the dimension 'Department' does not exist." in messages
    messages = infolog(post(endpoint, envelope(lines=line(dims=(("Region", "North"),)))))
    assert "The dimension attribute 'Region' does not exist." in messages
    messages = infolog(post(endpoint, envelope(lines=line(display="401100-022-001"))))
    assert any("display value '401100-022-001'" in m for m in messages)
    assert messages[-1] == "Update has been canceled."


def test_missing_required_field_and_no_lines(endpoint: str) -> None:
    assert "Field 'Customer account' must be filled in." in infolog(
        post(endpoint, envelope(order_account=""))
    )
    assert "The free text invoice must contain at least one line." in infolog(
        post(endpoint, envelope(lines=""))
    )


def test_wrong_element_order_is_a_schema_fault(endpoint: str, store) -> None:
    body = envelope(
        before_order="", header_extra="<InvoiceDate>2024-03-01</InvoiceDate>"
    )  # after OrderAccount
    messages = infolog(post(endpoint, body))
    assert messages[0].startswith("Invalid document schema.")
    assert "has invalid child element 'InvoiceDate'" in messages[0]
    unknown = infolog(post(endpoint, envelope(header_extra="<Colour>red</Colour>")))
    assert "invalid child element 'Colour'" in unknown[0]
    assert store.free_text_invoices() == []


def test_over_long_strings_fail_schema_validation_unless_the_port_truncates(app, endpoint: str, store) -> None:
    messages = infolog(post(endpoint, envelope(lines=line(description="x" * 75))))
    assert messages[0].startswith("Invalid document schema.")
    assert "The actual length is greater than the MaxLength value." in messages[0]
    assert store.free_text_invoices() == []
    app.options.truncate_long_strings = True  # what the AX troubleshooting guide describes
    assert post(endpoint, envelope(lines=line(description="x" * 75))).status_code == 200
    assert store.free_text_invoices()[0]["lines"][0]["DESCRIPTION"] == "x" * 60


def test_no_exceptions_in_fault_mode(app, endpoint: str) -> None:
    app.include_exceptions_in_fault = False
    response = post(endpoint, envelope(order_account="NOPE01"))
    assert response.status_code == 500
    assert faultstring(response) == "Request Failed. See the Exception Log for details."
    assert infolog(response) == []
    assert etree.fromstring(response.content).find(".//f:AifFault", NS) is not None
    # the duplicate-message code stays visible: it is raised by the AIF framework, not by X++ business logic
    app.include_exceptions_in_fault = True
    assert post(endpoint, envelope()).status_code == 200
    app.include_exceptions_in_fault = False
    assert "Duplicate message" in faultstring(post(endpoint, envelope()))


def test_unknown_company(endpoint: str) -> None:
    response = post(endpoint, envelope(company="ZZZZ"))
    assert response.status_code == 500
    assert infolog(response) == ["Company 'ZZZZ' does not exist."]


def test_company_selects_legal_entity(endpoint: str, store) -> None:
    body = envelope(company="usmf", order_account="US-001").replace(b"GBP", b"USD")
    assert post(endpoint, body).status_code == 200
    assert store.free_text_invoices("USMF")[0]["DATAAREAID"] == "usmf"
    assert (
        "not found in the relating table 'Customers'"
        in infolog(
            post(endpoint, envelope(company="USMF", message_id="3E9D4B21-77A0-4B8C-A1D2-5C6E7F8091AC"))
        )[0]
    )  # BRIG01 is a GBSI customer


def test_fault_switches_via_control_route(server, endpoint: str, store) -> None:
    assert requests.post(server.url + "/_sandbox/faults", json={"bogus": 1}, timeout=10).status_code == 400
    requests.post(server.url + "/_sandbox/faults", json={"server_error": {"every": 1}}, timeout=10)
    assert requests.get(server.url + "/_sandbox/faults", timeout=10).json()["config"] == {"server_error": {"every": 1}}
    response = post(endpoint, envelope())
    assert response.status_code == 500 and "text/html" in response.headers["Content-Type"]
    assert store.free_text_invoices() == []
    requests.post(server.url + "/_sandbox/faults", json={"timeout_after_commit": {"every": 1}}, timeout=10)
    assert post(endpoint, envelope()).status_code == 500
    assert len(store.free_text_invoices()) == 1  # committed although the client saw an error
    requests.post(server.url + "/_sandbox/faults", json={}, timeout=10)
    assert "Duplicate message" in faultstring(post(endpoint, envelope()))
