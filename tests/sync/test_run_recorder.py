"""How a run's outcome is summed up: errors and transient failures make it partial; waiting records do not."""

from __future__ import annotations

import pytest

from integrations.sync.engine import RunRecorder
from integrations.sync.models import Connection, Flow, SyncRun


@pytest.fixture
def run(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    flow = Flow.objects.create(key="payments", name="Payments", source=kf, target=ax)
    return SyncRun.objects.create(flow=flow, trigger=SyncRun.Trigger.MANUAL)


def test_records_waiting_for_their_invoice_leave_the_run_succeeded_and_say_so(run):
    recorder = RunRecorder(run)
    recorder.start()
    recorder.count("posted", 3)
    recorder.retry_later(2, "Kashflow invoice 12 is not in AX yet", "awaiting_invoice")
    finished = recorder.finish()
    assert finished.status == SyncRun.Status.SUCCEEDED
    assert "2 record(s) wait for a record they depend on" in finished.message and "invoice 12" in finished.message


def test_transient_failures_still_make_the_run_partial(run):
    recorder = RunRecorder(run)
    recorder.start()
    recorder.retry_later(1, "AX timed out", "timeout")
    recorder.retry_later(1, "invoice 9 waits", "awaiting_invoice")
    finished = recorder.finish()
    assert finished.status == SyncRun.Status.PARTIAL
    assert "could not be posted yet" in finished.message and "wait for a record" in finished.message
