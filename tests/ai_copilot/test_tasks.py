"""The co-pilot's background work: one queued retrain per tenant, what a retrain refits, when the tick asks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ai_copilot import tasks
from ai_copilot.models import AnomalyLabel, CopilotSettings, StoredModel


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr("portal.tasks.enqueue_for_tenant",
                        lambda schema, func, **kw: calls.append((schema, func)) or f"task-{len(calls)}")
    return calls


def test_only_one_retrain_is_queued_at_a_time(tenant, queued):
    assert tasks.request_retrain() == "task-1"
    assert tasks.request_retrain() is None  # another worker's tick: already queued
    assert queued == [("alpha", tasks.TASK)]
    CopilotSettings.objects.update(retrain_queued_at=timezone.now() - timedelta(hours=2))  # a dead worker's mark
    assert tasks.request_retrain() == "task-2"


def test_a_retrain_refits_the_anomaly_model_and_each_gl_suggester_and_clears_the_mark(gl_flow, queued):
    tasks.request_retrain()
    summary = tasks.retrain_tenant()
    assert summary["anomaly"]["rows"] == 0 and summary["gl:kashflow_invoices_to_ax"] == {"auto_accepted": 0}
    assert set(StoredModel.objects.values_list("scope", flat=True)) == {"anomaly", "gl:kashflow_invoices_to_ax"}
    assert CopilotSettings.current().retrain_queued_at is None


def test_the_tick_asks_for_a_retrain_when_the_model_is_missing_old_or_has_new_labels(tenant, queued):
    assert tasks.due() is not None  # no model yet
    tasks.retrain_tenant()
    now = timezone.now()
    assert tasks.due(now) is None  # fresh
    assert tasks.due(now + timedelta(hours=25)) is not None  # a day old
    tasks.retrain_tenant()
    AnomalyLabel.objects.create(reason_code="duplicate", key="C1", verdict="dismissed")
    assert tasks.due(timezone.now()) is None  # labels are picked up after a short pause, not every minute
    assert tasks.due(timezone.now() + timedelta(minutes=11)) is not None
