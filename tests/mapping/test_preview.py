"""mapping.preview: a draft run over real sandbox records, source -> canonical -> target, writing nothing."""

from __future__ import annotations

import pytest

from integrations.sync.models import Binding, FlowCursor, SourceState, SyncRecord
from mapping.preview import PreviewUnavailable, preview
from mapping.versions import default_rules, published_version
from tests.e2e import conftest as e2e
from tests.e2e.helpers import ax_invoices, paid_numbers

# the e2e sandbox fixtures, for the tests here that run against real sandbox records
sandbox_servers, ax_pair, kashflow_sandbox, ax_sandbox, invoice_flow = (
    e2e.sandbox_servers, e2e.ax_pair, e2e.kashflow_sandbox, e2e.ax_sandbox, e2e.invoice_flow)


def _account(line: dict) -> str:
    return line["LedgerDimension"]["DisplayValue"].split("-")[0]


def test_preview_shows_source_canonical_and_target_and_writes_nothing(invoice_flow, kashflow_sandbox, ax_sandbox):
    rules = default_rules(invoice_flow)
    results = preview(invoice_flow, rules, limit=4)

    assert len(results) == 4
    paid = paid_numbers(kashflow_sandbox.store)
    for result in results:
        assert result["error"] is None, result["error"]
        assert result["source_id"] in paid  # only records the flow carries (paid_only)
        assert str(result["source"]["Number"]) == result["source_id"]
        assert result["canonical"]["number"] == result["source_id"] and result["canonical"]["status"] == "paid"
        header = result["target"]["CustInvoiceTable"][0]
        assert header["OrderAccount"] == result["canonical"]["customer_code"]
        for line, source_line in zip(header["CustInvoiceLine"], result["canonical"]["lines"], strict=True):
            assert _account(line) == rules["gl_accounts"][source_line["account_code"]]
            assert line["LedgerDimension"]["DisplayValue"].endswith("-001-022")
            assert line["TaxItemGroup"] == rules["tax_groups"][str(int(float(source_line["tax_rate"])))][
                "TaxItemGroup"]

    # nothing recorded, nothing settled, nothing sent
    assert not SyncRecord.objects.exists() and not SourceState.objects.exists()
    assert not FlowCursor.objects.exists() and not Binding.objects.exists()
    assert not ax_invoices(ax_sandbox.store)


def test_a_draft_change_shows_in_the_target_and_a_missing_mapping_as_the_inbox_error(invoice_flow):
    published = published_version(invoice_flow)
    draft = default_rules(invoice_flow)
    draft["gl_accounts"]["4000"] = "401200"
    del draft["gl_accounts"]["4001"]

    results = preview(invoice_flow, draft, limit=10)

    failed = [r for r in results if r["error"]]
    ok = [r for r in results if not r["error"]]
    assert failed and ok  # the seed has invoices with and without design-services lines
    for result in failed:
        assert "4001" in {line["account_code"] for line in result["canonical"]["lines"]}
        assert result["target"] is None
        assert result["error"]["code"] == "mapping_missing"
        assert result["error"]["payload"] == {"nominal_code": "4001"}
        assert "nominal code 4001" in result["error"]["message"]
    seen_4000 = False
    for result in ok:
        lines = result["target"]["CustInvoiceTable"][0]["CustInvoiceLine"]
        for line, source_line in zip(lines, result["canonical"]["lines"], strict=True):
            if source_line["account_code"] == "4000":
                assert _account(line) == "401200"
                seen_4000 = True
    assert seen_4000
    # the published mapping is untouched
    assert published_version(invoice_flow).pk == published.pk and published_version(invoice_flow).rules == \
        published.rules


def test_routing_in_the_draft_shows_as_hold(invoice_flow):
    draft = default_rules(invoice_flow) | {"routing": [{"when": "total_above", "amount": "0", "action": "hold"}]}
    results = preview(invoice_flow, draft, limit=2)
    assert len(results) == 2
    assert all(r["hold"].startswith("Total ") and r["target"] for r in results)


def test_an_unknown_flow_cannot_be_previewed(invoice_flow):
    invoice_flow.key = "no_such_flow"
    with pytest.raises(PreviewUnavailable):
        preview(invoice_flow, {})
