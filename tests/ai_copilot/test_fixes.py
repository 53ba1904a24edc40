"""Fix suggestions for failed records: nearest codes, and GL fixes for an account the ERP refused."""

from __future__ import annotations

from ai_copilot import fixes
from integrations.sync.models import SyncRecord
from mapping import versions


def test_nearest_codes_rank_by_similarity_and_say_why():
    found = fixes.nearest("CUST0O1", {"CUST001": "Alpha Ltd", "CUST100": "Beta Ltd", "ZED": "Zed plc"})
    assert [f.target for f in found] == ["CUST001", "CUST100", "ZED"]
    assert found[0].name == "Alpha Ltd" and "prefix CUST0" in found[0].reason
    assert found[0].score > found[1].score > found[2].score
    assert fixes.nearest("X", {}) == []


def test_an_account_the_erp_refused_gets_gl_fixes_for_the_nominal_mapped_to_it(gl_flow):
    version = versions.publish(gl_flow, {"gl_accounts": {"4000": "401100", "7502": "999999"}}, note="typo")
    record = SyncRecord.objects.create(
        flow=gl_flow, entity="sales_invoice", source_id="77", source_version="v1", idempotency_key="fix-77",
        payload={"number": "77"}, status="failed", error_kind="validation", mapping_version=version,
        last_error="The value '999999-001-022' in field 'MainAccount' is not found in the relating table "
                   "'DimensionAttributeValueCombination'.")
    found = fixes.for_record(record)
    assert found.applicable and (found.section, found.value) == ("gl_accounts", "7502")
    assert found.fixes[0].target == "601600" and found.fixes[0].name == "Telephone and Internet"
    assert "nominal 7502" in found.problem


def test_an_error_the_copilot_knows_nothing_about_gets_no_suggestions(gl_flow):
    record = SyncRecord(flow=gl_flow, entity="sales_invoice", source_id="78", status="failed",
                        error_code="timeout", last_error="The AX service did not answer in 60 s.")
    assert fixes.for_record(record) is None
