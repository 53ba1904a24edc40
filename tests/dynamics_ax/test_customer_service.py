"""CustomerService through the zeep client and raw SOAP: create, read, update, delete, find, findKeys."""

from __future__ import annotations

import uuid

import pytest
from lxml import etree

from integrations.core.errors import DuplicateError, IntegrityError, NotFoundError, TargetValidationError
from integrations.dynamics_ax import wsdl as axwsdl
from integrations.dynamics_ax.aif_documents import Criterion

from .soap import call, criteria, document, infolog, keys, xpp

CUSTOMER_NS = axwsdl.document_ns("Customer")


def mid() -> str:
    return str(uuid.uuid4())


def new_customer(**overrides) -> dict:
    customer = {
        "CustGroup": "30",
        "Currency": "GBP",
        "PaymTermId": "Net30",
        "VATNum": "GB123456789",
        "DirParty": {
            "Name": "Fabrikam Widgets Ltd",
            "DirPartyPostalAddressView": [{"City": "Brighton", "CountryRegionId": "GBR", "Roles": "Business;Invoice",
                                           "Street": "1 Marine Parade", "ZipCode": "BN2 1TL"}],
            "DirPartyContactInfoView": [{"Locator": "accounts@fabrikam.example", "Type": "Email", "IsPrimary": "Yes"}],
        },
    }
    customer.update(overrides)
    return customer


def test_create_numbers_the_account_and_read_returns_the_whole_document(aif, instance) -> None:
    highest = instance.store.scalar("SELECT MAX(ACCOUNTNUM) FROM CUSTTABLE WHERE DATAAREAID = 'gbsi'")
    account = aif.create_customer(new_customer(), message_id=mid())
    assert account > highest and account.startswith("GB-")
    customer = aif.read_customer(account)
    assert customer["AccountNum"] == account and customer["CustGroup"] == "30" and customer["Blocked"] == "No"
    assert len(customer["_DocumentHash"]) == 32 and customer["RecVersion"] == 1
    party = customer["DirParty"][0]
    assert party["Name"] == "Fabrikam Widgets Ltd" and party["NameAlias"] == "FABRIKAM WIDGETS LTD"
    address = party["DirPartyPostalAddressView"][0]
    assert (address["Street"], address["City"], address["ZipCode"], address["CountryRegionId"]) == (
        "1 Marine Parade", "Brighton", "BN2 1TL", "GBR")
    assert address["IsPrimary"] == "Yes" and address["Roles"] == "Business;Invoice"
    assert party["DirPartyContactInfoView"][0]["Locator"] == "accounts@fabrikam.example"
    row = instance.store.one("SELECT C.*, P.PRIMARYCONTACTEMAIL FROM CUSTTABLE C JOIN DIRPARTYTABLE P ON "
                             "P.RECID = C.PARTY WHERE ACCOUNTNUM = ?", (account,))
    assert row["DATAAREAID"] == "gbsi" and row["PRIMARYCONTACTEMAIL"] > 0 and row["PAYMTERMID"] == "Net30"


def test_create_with_own_account_and_a_person_party(aif) -> None:
    account = aif.create_customer(new_customer(AccountNum="KF-JSMITH", DirParty={
        "_type": "DirPerson", "PersonName": [{"FirstName": "Jane", "LastName": "Smith"}]}), message_id=mid())
    assert account == "KF-JSMITH"
    party = aif.read_customer("KF-JSMITH")["DirParty"][0]
    assert party["Name"] == "Jane Smith" and party["PersonName"][0]["LastName"] == "Smith"


def test_read_output_is_schema_valid_with_dirparty_xsi_type(instance) -> None:
    response = call(instance, "CustomerService", "read", keys("AccountNum", "GB-0001", "GB-0002"), message_id=None)
    assert response.status_code == 200
    customer = etree.fromstring(response.content).find(f".//{{{CUSTOMER_NS}}}Customer")
    assert axwsdl.document_schema("Customer").validate(etree.fromstring(etree.tostring(customer)))
    tables = customer.findall(f"{{{CUSTOMER_NS}}}CustTable")
    assert [t.findtext(f"{{{CUSTOMER_NS}}}AccountNum") for t in tables] == ["GB-0001", "GB-0002"]
    party = tables[0].find(f"{{{CUSTOMER_NS}}}DirParty")
    assert party.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "AxdEntity_DirParty_DirOrganization"


def test_read_of_an_unknown_key_is_a_not_found_fault(aif, instance) -> None:
    with pytest.raises(NotFoundError):
        aif.read_customer("NOPE-1")
    assert infolog(call(instance, "CustomerService", "read", keys("AccountNum", "NOPE-1"))) == [
        "No valid document identified from the entity key."]


def test_find_and_find_keys_apply_query_criteria(aif, instance) -> None:
    everyone = instance.store.query("SELECT ACCOUNTNUM, CUSTGROUP FROM CUSTTABLE WHERE DATAAREAID = 'gbsi' ORDER BY 1")
    group = everyone[0]["CUSTGROUP"]
    expected = [row["ACCOUNTNUM"] for row in everyone if row["CUSTGROUP"] == group]
    assert aif.find_customer_keys([Criterion("CustTable", "CustGroup", group)]) == expected
    assert [c["AccountNum"] for c in aif.find_customers([Criterion("CustTable", "CustGroup", group)])] == expected
    assert aif.find_customer_keys([Criterion("CustTable", "AccountNum", "GB-0002", "Range", "GB-0003")]) == [
        "GB-0002", "GB-0003"]
    # criteria on the same field are OR-ed, on different fields AND-ed
    assert aif.find_customer_keys([Criterion("CustTable", "AccountNum", "GB-0002"),
                                   Criterion("CustTable", "AccountNum", "GB-0004"),
                                   Criterion("CustTable", "CustGroup", "NONE")]) == []
    assert aif.find_customer_keys([Criterion("CustTable", "AccountNum", "GB-0002"),
                                   Criterion("CustTable", "AccountNum", "GB-0004")]) == ["GB-0002", "GB-0004"]
    name = instance.store.scalar("SELECT P.NAME FROM CUSTTABLE C JOIN DIRPARTYTABLE P ON P.RECID = C.PARTY WHERE "
                                 "C.ACCOUNTNUM = 'GB-0003' AND C.DATAAREAID = 'gbsi'")
    assert "GB-0003" in aif.find_customer_keys([Criterion("DirParty", "Name", name.split(" ")[0] + "*")])
    assert aif.find_customer_keys([Criterion("CustTable", "AccountNum", "GB-0001", "NotEqual")])[0] == "GB-0002"


def test_find_with_unknown_field_or_data_source_is_a_fault(instance) -> None:
    messages = infolog(call(instance, "CustomerService", "find", criteria(("CustTable", "Colour", "Equal", "red"))))
    assert messages == ["Field 'Colour' does not exist in data source 'CustTable'."]
    messages = infolog(call(instance, "CustomerService", "findKeys", criteria(("SalesTable", "SalesId", "Equal", "1"))))
    assert messages[0].startswith("The data source 'SalesTable' is not part of the query of document 'Customer'.")


def test_partial_update_with_document_hash_changes_only_what_is_sent(aif, instance) -> None:
    before = aif.read_customer("GB-0002")
    stamp = instance.store.scalar("SELECT MODIFIEDDATETIME FROM CUSTTABLE WHERE ACCOUNTNUM = 'GB-0002'")
    aif.update_customer("GB-0002", {"CreditMax": "7500", "DirParty": {"Name": "Renamed Trading Ltd"}},
                        message_id=mid(), document_hash=before["_DocumentHash"])
    after = aif.read_customer("GB-0002")
    assert after["CreditMax"] == 7500 and after["DirParty"][0]["Name"] == "Renamed Trading Ltd"
    assert after["CustGroup"] == before["CustGroup"] and after["VATNum"] == before["VATNum"]
    assert after["RecVersion"] != before["RecVersion"] and after["_DocumentHash"] != before["_DocumentHash"]
    assert instance.store.scalar("SELECT MODIFIEDDATETIME FROM CUSTTABLE WHERE ACCOUNTNUM = 'GB-0002'") > stamp


def test_stale_document_hash_or_recversion_is_an_update_conflict(aif, instance) -> None:
    stale = aif.read_customer("GB-0003")
    aif.update_customer("GB-0003", {"CreditMax": "1"}, message_id=mid(), document_hash=stale["_DocumentHash"])
    with pytest.raises(TargetValidationError) as info:
        aif.update_customer("GB-0003", {"CreditMax": "2"}, message_id=mid(), document_hash=stale["_DocumentHash"])
    assert info.value.code == "UpdateConflict" and "document hash does not match" in info.value.details[0]
    with pytest.raises(TargetValidationError) as info:
        aif.update_customer("GB-0003", {"CreditMax": "3"}, message_id=mid(), rec_id=stale["RecId"],
                            rec_version=stale["RecVersion"])
    assert info.value.code == "UpdateConflict"
    assert info.value.payload["xpp_exception_type"] == 11
    current = aif.read_customer("GB-0003")
    assert current["CreditMax"] == 1
    aif.update_customer("GB-0003", {"CreditMax": "4"}, message_id=mid(), rec_id=current["RecId"],
                        rec_version=current["RecVersion"])
    assert aif.read_customer("GB-0003")["CreditMax"] == 4


def test_update_needs_a_hash_or_recid_and_recversion(instance) -> None:
    body = keys("AccountNum", "GB-0004") + document(
        "Customer", '<CustTable class="entity" action="update"><CreditMax>5</CreditMax></CustTable>')
    messages = infolog(call(instance, "CustomerService", "update", body))
    assert messages == ["The document hash (_DocumentHash) or the RecId and RecVersion of the record must be "
                        "specified to update it."]


def test_full_update_clears_fields_that_are_not_sent(aif, instance) -> None:
    current = aif.read_customer("GB-0004")
    assert current.get("VATNum")
    body = keys("AccountNum", "GB-0004") + document("Customer", (
        f'<CustTable class="entity"><_DocumentHash>{current["_DocumentHash"]}</_DocumentHash>'
        f'<Currency>GBP</Currency><CustGroup>{current["CustGroup"]}</CustGroup></CustTable>'))
    assert call(instance, "CustomerService", "update", body).status_code == 200
    assert "VATNum" not in aif.read_customer("GB-0004")
    missing_group = keys("AccountNum", "GB-0004") + document("Customer", (
        f'<CustTable class="entity"><_DocumentHash>{aif.read_customer("GB-0004")["_DocumentHash"]}</_DocumentHash>'
        "<Currency>GBP</Currency></CustTable>"))
    assert "Field 'Customer group' must be filled in." in infolog(call(instance, "CustomerService", "update",
                                                                       missing_group))


def test_partial_update_of_an_address_and_a_new_contact(aif) -> None:
    customer = aif.read_customer("GB-0005")
    address = customer["DirParty"][0]["DirPartyPostalAddressView"][0]
    aif.update_customer("GB-0005", {"DirParty": {
        "DirPartyPostalAddressView": [{"RecId": address["RecId"], "City": "Hove", "action": "update"}],
        "DirPartyContactInfoView": [{"Locator": "+44 1273 000000", "Type": "Phone", "action": "create"}],
    }}, message_id=mid(), document_hash=customer["_DocumentHash"])
    party = aif.read_customer("GB-0005")["DirParty"][0]
    assert party["DirPartyPostalAddressView"][0]["City"] == "Hove"
    assert party["DirPartyPostalAddressView"][0]["Street"] == address["Street"]
    assert "+44 1273 000000" in [c["Locator"] for c in party["DirPartyContactInfoView"]]


def test_delete_removes_the_customer_but_not_one_with_transactions(aif, instance) -> None:
    account = aif.create_customer(new_customer(), message_id=mid())
    aif.delete_customer(account, message_id=mid())
    with pytest.raises(NotFoundError):
        aif.read_customer(account)
    with_transactions = instance.store.scalar("SELECT ACCOUNTNUM FROM CUSTTRANS WHERE DATAAREAID = 'gbsi' LIMIT 1")
    with pytest.raises(TargetValidationError) as info:
        aif.delete_customer(with_transactions, message_id=mid())
    assert "transactions exist" in info.value.details[0]


def test_duplicate_message_on_create_update_and_delete(aif, instance) -> None:
    create_id = mid()
    account = aif.create_customer(new_customer(), message_id=create_id)
    with pytest.raises(DuplicateError):
        aif.create_customer(new_customer(), message_id=create_id.upper())
    assert instance.store.scalar("SELECT COUNT(*) FROM CUSTTABLE WHERE DATAAREAID = 'gbsi' AND ACCOUNTNUM > ?",
                                 (account,)) == 0
    update_id = mid()
    aif.update_customer(account, {"CreditMax": "10"}, message_id=update_id,
                        document_hash=aif.read_customer(account)["_DocumentHash"])
    with pytest.raises(DuplicateError):  # not re-applied, even with a fresh hash
        aif.update_customer(account, {"CreditMax": "20"}, message_id=update_id,
                            document_hash=aif.read_customer(account)["_DocumentHash"])
    assert aif.read_customer(account)["CreditMax"] == 10
    delete_id = mid()
    aif.delete_customer(account, message_id=delete_id)
    with pytest.raises(DuplicateError):
        aif.delete_customer(account, message_id=delete_id)
    logged = instance.store.one("SELECT * FROM AIFMESSAGELOG WHERE MESSAGEID = ?", (create_id.upper(),))
    assert logged["ACTIONID"].endswith("/CustomerService/create") and logged["ENTITYKEYS"] == f"AccountNum={account}"


def test_validation_faults_carry_the_infolog(aif, instance) -> None:
    with pytest.raises(IntegrityError) as info:
        aif.create_customer(new_customer(CustGroup="99"), message_id=mid())
    assert info.value.details == ["The value '99' in field 'Customer group' is not found in the relating table "
                                  "'Customer groups'."]
    customer = new_customer()
    customer.pop("CustGroup")
    customer["DirParty"]["DirPartyPostalAddressView"][0]["CountryRegionId"] = "GB"  # AX 2012 wants ISO alpha-3
    with pytest.raises(IntegrityError) as info:  # every failed check is reported, not just the first
        aif.create_customer(customer, message_id=mid())
    assert "Field 'Customer group' must be filled in." in info.value.details
    assert any("'GB' in field 'Country/region'" in m for m in info.value.details)
    with pytest.raises(TargetValidationError) as info:
        aif.create_customer(new_customer(AccountNum="GB-0001"), message_id=mid())
    assert info.value.code == "RecordExists"
    assert info.value.details == ["Cannot create a record in Customers (CustTable). Customer account: GB-0001. The "
                                  "record already exists."]
    response = call(instance, "CustomerService", "create", document("Customer", (
        '<CustTable class="entity"><CustGroup>30</CustGroup><DirParty class="entity"><Name>No type</Name></DirParty>'
        "</CustTable>")))
    assert infolog(response)[0].startswith("Invalid document schema.") and xpp(response) == "3"


def test_wrong_element_order_and_over_long_account_are_schema_faults(instance) -> None:
    party = '<DirParty xsi:type="AxdEntity_DirParty_DirOrganization" class="entity"><Name>X</Name></DirParty>'
    order = document("Customer", f'<CustTable class="entity"><CustGroup>30</CustGroup><AccountNum>Z1</AccountNum>'
                                 f"{party}</CustTable>")
    message = infolog(call(instance, "CustomerService", "create", order))[0]
    assert "The element 'CustTable' in namespace" in message and "has invalid child element 'AccountNum'" in message
    long = document("Customer", f'<CustTable class="entity"><AccountNum>{"A" * 21}</AccountNum><CustGroup>30'
                                f"</CustGroup>{party}</CustTable>")
    assert "The actual length is greater than the MaxLength value." in infolog(
        call(instance, "CustomerService", "create", long))[0]


def test_call_context_company_selects_the_legal_entity(instance) -> None:
    usmf = instance.client(company="USMF")
    account = usmf.create_customer(new_customer(Currency="USD"), message_id=mid())
    assert account.startswith("US-")
    assert usmf.read_customer(account)["Currency"] == "USD"
    with pytest.raises(NotFoundError):
        instance.client(company="GBSI").read_customer(account)
    assert instance.store.scalar("SELECT DATAAREAID FROM CUSTTABLE WHERE ACCOUNTNUM = ?", (account,)) == "usmf"
    assert infolog(call(instance, "CustomerService", "read", keys("AccountNum", account), company="ZZZZ")) == [
        "Company 'ZZZZ' does not exist."]
    # no Company in the CallContext: the service account's default company (GBSI)
    assert call(instance, "CustomerService", "read", keys("AccountNum", "GB-0001"), company=None).status_code == 200
