"""suggest_fix: concrete advice from the real messages and codes of each connector."""

from __future__ import annotations

import pytest

from integrations.core.errors import (
    AuthError,
    ConfigurationError,
    DuplicateError,
    IntegrityError,
    NotFoundError,
    TargetValidationError,
    TransientError,
)
from integrations.sync.models import Connection, Flow, SyncRecord
from integrations.sync.suggestions import suggest_fix, suggest_for


def failed(error, *, entity: str = "sales_invoice", payload: dict | None = None, flow=None) -> SyncRecord:
    """An unsaved failed record as the engine fills it from a ConnectorError."""
    record = SyncRecord(entity=entity, source_id="INV1", payload=payload or {"number": "INV1"}, status="failed",
                        last_error=str(error), error_kind=error.kind, error_code=error.code)
    if flow is not None:
        record.flow = flow
    return record


AX_INFOLOG = [
    "The value '999999' in field 'Main account' is not found in the relating table 'Main accounts'.",
    "The value '099' of the dimension 'Department' does not exist.",
    "The value 'NOPE01' in field 'Customer account' is not found in the relating table 'Customers'.",
]


def test_mapping_missing_names_the_source_value_and_where_to_map_it():
    error = TargetValidationError("No AX main account is mapped for Kashflow nominal code 4000", system="Mapping",
                                  code="mapping_missing")
    advice = suggest_fix(failed(error))
    assert "Kashflow nominal code 4000 has no AX main account" in advice
    assert "map nominal code 4000 to an AX main account" in advice
    assert "publish" in advice and "replay the record with the current mapping" in advice


def test_every_ax_infolog_problem_gets_its_own_line():
    error = IntegrityError("AX rejected FreeTextInvoiceService.create: a record the document refers to does not exist",
                           system="Dynamics AX", code="RelatedRecordNotFound", details=AX_INFOLOG)
    lines = suggest_fix(failed(error)).splitlines()
    assert len(lines) == 3
    assert any("AX has no main account 999999" in line and "Main accounts" in line for line in lines)
    assert any("dimension 'Department' has no value '099'" in line for line in lines)
    assert any("Customer NOPE01 does not exist in AX" in line for line in lines)


def test_an_unknown_main_account_names_the_mapping_row_that_sent_it(tenant):
    from mapping.models import MappingVersion

    kf = Connection.objects.create(name="Kashflow live", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    flow = Flow.objects.create(key="f", name="F", source=kf, target=ax)
    error = IntegrityError("AX rejected FreeTextInvoiceService.create: a record the document refers to does not exist",
                           system="Dynamics AX", code="RelatedRecordNotFound", details=AX_INFOLOG[:1])
    record = failed(error, flow=flow)
    record.mapping_version = MappingVersion(pk=1, number=2, rules={"gl_accounts": {"4000": "999999", "4010": "401100"}})
    advice = suggest_fix(record)
    assert "the flow's GL account mapping sends Kashflow nominal code 4000 to it" in advice
    assert "4010" not in advice


@pytest.mark.parametrize(("detail", "expected"), [
    ("The transactions on voucher V1 do not balance as per 6/28/2024. (accounting currency: 0.01)",
     "does not balance"),
    ("Posting date 31/01/2020 is not in an open ledger period.", "period that is closed or on hold"),
    ("The period 1/31/2020 is closed for module General ledger.", "period that is closed or on hold"),
    ("Ledger period January 2020 is on hold.", "period that is closed or on hold"),
    ("The value 'XYZ' in field 'Currency' is not found in the relating table 'Currency'.",
     "Currency XYZ is not set up"),
    ("The value '30D' in field 'Terms of payment' is not found in the relating table 'Terms of payment'.",
     "Terms of payment 30D"),
    ("The value '77' in field 'Vendor group' is not found in the relating table 'Vendor groups'.",
     "AX has no 'Vendor groups' record '77' for the field 'Vendor group'"),
    ("The dimension attribute 'Region' does not exist.", "no financial dimension 'Region'"),
    ("Invoice FTI-0001 is not an open transaction of customer C0001.", "not an open transaction of customer C0001"),
])
def test_ax_business_validation(detail, expected):
    error = TargetValidationError("AX rejected FreeTextInvoiceService.create", system="Dynamics AX", code="AifFault",
                                  details=[detail])
    assert expected in suggest_fix(failed(error))


@pytest.mark.parametrize(("code", "expected"), [
    ("Unbalanced", "does not balance"),
    ("UpdateConflict", "changed in AX"),
    ("RecordExists", "already has a record with this key"),
    ("InvalidDocumentSchema", "document's structure"),
    ("RequestFailed", "Include exceptions in fault"),
])
def test_ax_codes_without_a_recognisable_message(code, expected):
    error = TargetValidationError("AX rejected LedgerGeneralJournalService.create", system="Dynamics AX", code=code)
    assert expected in suggest_fix(failed(error))


def test_unknown_ax_company_is_a_connection_setting(tenant):
    kf = Connection.objects.create(name="Kashflow live", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX production", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    flow = Flow.objects.create(key="f", name="F", source=kf, target=ax)
    error = ConfigurationError("AX does not know company 'ZZZZ'", system="Dynamics AX", code="UnknownCompany",
                               details=["Company 'ZZZZ' does not exist."])
    advice = suggest_fix(failed(error, flow=flow))
    assert "company" in advice and "'AX production'" in advice


@pytest.mark.parametrize(("message", "expected"), [
    ("Customer with code 'ACME9' does not exist.", "Customer 'ACME9' does not exist in Kashflow"),
    ("Supplier with code 'S1' does not exist.", "Supplier 'S1' does not exist in Kashflow"),
    ("Nominal code 4999 not found.", "Kashflow has no nominal code 4999"),
    ("NominalCode is required on line 2.", "nominal code on every line"),
    ("Currency XYZ is not set up for this account.", "Currency XYZ is not set up in the Kashflow account"),
    ("Invoice number 1001 already exists.", "already has invoice number 1001"),
    ("The value 'weekly' is not valid for PaymentTerms.", "does not accept 'weekly' for PaymentTerms"),
    ("Amount must be greater than zero (line 3).", "zero or negative amounts"),
    ("Payments of 150.00 exceed the gross amount 120.00 of invoice 7.", "payments exceed the invoice total"),
    ("CustomerCode is required.", "Kashflow requires CustomerCode"),
])
def test_kashflow_validation_messages(message, expected):
    error = TargetValidationError(f"Kashflow rejected the request: {message}", system="Kashflow",
                                  code="ValidationError", status=400)
    advice = suggest_fix(failed(error))
    assert expected in advice
    assert len(advice.splitlines()) == 1


def test_kashflow_auth_points_at_the_connection_page(tenant):
    kf = Connection.objects.create(name="Kashflow live", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    flow = Flow.objects.create(key="f", name="F", source=kf, target=ax)
    error = AuthError("Kashflow refused the user name, password or memorable word.", system="Kashflow",
                      code="InvalidCredentials")
    advice = suggest_fix(failed(error, flow=flow))
    assert "Re-enter the user name, password and memorable word on the connection page of 'Kashflow live'" in advice
    locked = AuthError("Kashflow has locked this user", system="Kashflow", code="accountlocked")
    assert "unlock it in Kashflow" in suggest_fix(failed(locked, flow=flow))
    expired = AuthError("password expired", system="Kashflow", code="passwordexpired")
    assert "Set a new one in Kashflow" in suggest_fix(failed(expired, flow=flow))


def test_ax_auth_without_a_flow_still_says_where():
    error = AuthError("AX refused the service account 'svc' (HTTP 401)", system="Dynamics AX", status=401)
    advice = suggest_fix(failed(error))
    assert "Re-enter the user name and password on its connection page" in advice


@pytest.mark.parametrize(("error", "expected"), [
    (TargetValidationError("Sage 100 refused the record: SalesAcctKey is required. (AR_Invoice insert)",
                           system="Sage 100", code="validation"), "Sage 100 requires SalesAcctKey"),
    (IntegrityError("Sage 100 is missing a record this one needs: Customer 01-ABC is not on file. "
                    "(AR_Invoice insert)", system="Sage 100", code="not_on_file"),
     "Customer 01-ABC is not on file in Sage 100"),
    (TargetValidationError("The outcome of an earlier attempt is unknown: x", system="Sage 100",
                           code="unknown_outcome"), "Look for it in Sage 100"),
    (TargetValidationError("The idempotency key was used for another write", system="Sage 100", code="key_reused"),
     "idempotency key"),
    (DuplicateError("Sage 100 already has this record: AR_Customer 01-ABC", system="Sage 100", code="duplicate"),
     "already has this record"),
])
def test_sage_100_results(error, expected):
    assert expected in suggest_fix(failed(error))


@pytest.mark.parametrize(("error", "expected"), [
    (ConfigurationError("No Kashflow API answered at this address", system="Kashflow"), "misconfigured"),
    (NotFoundError("Kashflow has no such record: Invoice 5 not found.", system="Kashflow", code="NotFound"),
     "no longer exists in Kashflow"),
    (NotFoundError("AX found no record for the key given to CustomerService.read", system="Dynamics AX",
                   code="NotFound"), "no longer exists in Dynamics AX"),
    (IntegrityError("A dependency is missing", system="Dynamics AX", code="X"), "Create or sync that record first"),
    (TransientError("AX timed out", system="Dynamics AX"), "temporary failure"),
])
def test_by_kind(error, expected):
    assert expected in suggest_fix(failed(error))


def test_unreadable_source_records_are_fixed_in_the_source():
    error = TargetValidationError("The source record could not be read; fix it in the source.", system="Ledgerbridge",
                                  code="unreadable")
    advice = suggest_fix(failed(error, payload={"unreadable": True, "raw": {"Number": "x"}}))
    assert "could not read this sales invoice" in advice and "Correct it in the source system" in advice


def test_invalid_payload_after_an_edit():
    error = TargetValidationError("The stored invoice is not a valid sales invoice ('issue_date').",
                                  system="Ledgerbridge", code="invalid_payload")
    assert "Edit and retry" in suggest_fix(failed(error))


def test_anything_else_gets_a_generic_but_useful_line():
    record = SyncRecord(entity="x", source_id="1", payload={}, last_error="??", error_kind="odd")
    assert "replay" in suggest_fix(record)


def test_it_never_raises():
    class Broken:
        pk = 1

        @property
        def last_error(self):
            raise RuntimeError("boom")

    assert suggest_fix(Broken())


def test_suggest_for_without_a_record():
    advice = suggest_for(kind="auth", message="Kashflow: refused", source_name="KF", source_system="kashflow")
    assert "connection page of 'KF'" in advice
