"""GL suggestions inside a tenant: inputs from its charts, map and feedback; accept, reject, accept-above,
auto-accept; the suggester stored per flow and retrained when its inputs change."""

from __future__ import annotations

import pytest

from ai_copilot import gl_service
from ai_copilot.models import CopilotSettings, GLFeedback, StoredModel
from mapping import versions
from portal.accounts.models import AuditEntry


def by_code(rows):
    return {row.account.code: row for row in rows}


def test_unmapped_nominals_come_first_with_ranked_reasoned_suggestions(gl_flow):
    rows = gl_service.rows(gl_flow)
    assert [r.mapped_to for r in rows[:6]] == [""] * 6 and {r.account.code for r in rows[-2:]} == {"4000", "4001"}
    found = by_code(rows)
    assert found["4009"].best.target_code == "403300"
    assert found["7502"].best.target_code == "601600"
    assert found["8001"].best.target_code == "607200"
    for row in rows:
        if not row.mapped_to:
            assert row.suggestions and all(0.0 <= s.score <= 1.0 and s.reason for s in row.suggestions)
            assert [s.score for s in row.suggestions] == sorted((s.score for s in row.suggestions), reverse=True)
    assert found["4000"].suggestions == []  # mapped already: nothing to suggest
    assert StoredModel.objects.filter(scope="gl:kashflow_invoices_to_ax").exists()


def test_accepting_writes_the_draft_keeps_a_label_and_retrains(gl_flow, admin):
    gl_service.rows(gl_flow)
    first = StoredModel.objects.get(scope="gl:kashflow_invoices_to_ax").inputs_digest
    assert gl_service.accept(gl_flow, [("7502", "601600", 0.91)], actor=admin) == 1
    draft = versions.draft_version(gl_flow)
    assert draft.rules["gl_accounts"]["7502"] == "601600"
    assert versions.published_version(gl_flow).rules["gl_accounts"].get("7502") is None  # a person publishes
    label = GLFeedback.objects.get(source_code="7502")
    assert (label.verdict, label.target_code, label.source_name, label.target_name) == (
        "accepted", "601600", "Telephone", "Telephone and Internet")
    rows = by_code(gl_service.rows(gl_flow))
    assert rows["7502"].mapped_to == "601600"
    assert StoredModel.objects.get(scope="gl:kashflow_invoices_to_ax").inputs_digest != first
    assert AuditEntry.objects.filter(action="copilot.gl_accepted").exists()


def test_an_account_outside_the_chart_is_refused(gl_flow, admin):
    with pytest.raises(gl_service.CopilotError):
        gl_service.accept(gl_flow, [("7502", "999999", None)], actor=admin)
    assert versions.draft_version(gl_flow) is None


def test_a_rejected_suggestion_is_not_offered_again_for_that_nominal(gl_flow, admin):
    best = by_code(gl_service.rows(gl_flow))["7901"].best.target_code
    gl_service.reject(gl_flow, "7901", best, actor=admin)
    again = by_code(gl_service.rows(gl_flow))["7901"]
    assert best not in [s.target_code for s in again.suggestions]
    assert GLFeedback.objects.filter(verdict="rejected", source_code="7901", target_code=best).exists()


def test_accept_all_above_takes_only_confident_best_suggestions(gl_flow, admin):
    rows = gl_service.rows(gl_flow, only_unmapped=True)
    threshold = sorted(r.best.score for r in rows)[len(rows) // 2]
    expected = {r.account.code: r.best.target_code for r in rows if r.best.score >= threshold}
    assert gl_service.accept_all_above(gl_flow, threshold, actor=admin) == len(expected)
    draft = versions.draft_version(gl_flow).rules["gl_accounts"]
    assert {k: draft[k] for k in expected} == expected
    with pytest.raises(gl_service.CopilotError):
        gl_service.accept_all_above(gl_flow, 1.5, actor=admin)


def test_auto_accept_acts_only_with_a_threshold_the_tenant_set_and_publishes_it(gl_flow):
    assert gl_service.auto_accept(gl_flow) == 0  # no threshold: a person decides
    options = CopilotSettings.current()
    options.gl_auto_accept = 0.5
    options.save()
    rows = gl_service.rows(gl_flow, only_unmapped=True)
    count = gl_service.auto_accept(gl_flow)
    assert count == sum(1 for r in rows if r.best and r.best.score >= 0.5) and count > 0
    published = versions.published_version(gl_flow)
    assert "auto-accept" in published.note
    assert GLFeedback.objects.filter(automatic=True).count() == count
