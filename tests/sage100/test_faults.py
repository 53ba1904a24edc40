"""The Sage sandbox's switchable faults, seen from a client over loopback HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from integrations.core.errors import TransientError
from integrations.sage100.sandbox.faults import SageFaultSwitch

CUSTOMER = {"key": "f-1", "object": "AR_Customer_bus", "action": "create",
            "fields": {"ARDivisionNo": "01", "CustomerNo": "FAULT", "CustomerName": "Fault Tolerant Inc"}}


def health(sandbox, timeout: float = 5) -> requests.Response:
    return requests.get(f"{sandbox.url}/v1/health", headers=sandbox.headers, timeout=timeout)


def test_rate_limit_answers_429_with_retry_after(sandbox):
    sandbox.app.faults.set({"rate_limit": {"every": 2, "retry_after": 7}})
    assert health(sandbox).status_code == 200
    limited = health(sandbox)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["error"]["code"] == "rate_limited"


def test_latency(sandbox):
    sandbox.app.faults.set({"slow_ms": 150})
    started = time.perf_counter()
    assert health(sandbox).status_code == 200
    assert time.perf_counter() - started >= 0.15


def test_timeout_hangs_then_drops(sandbox):
    sandbox.app.faults.set({"timeout": {"hang_ms": 400}})
    with pytest.raises(requests.Timeout):
        health(sandbox, timeout=0.2)


def test_server_error_processes_nothing(sandbox):
    sandbox.app.faults.set({"server_error": {"status": 502, "times": 1}})
    response = requests.post(f"{sandbox.url}/v1/batches", json={"operations": [CUSTOMER]}, headers=sandbox.headers,
                             timeout=5)
    assert response.status_code == 502
    assert sandbox.rows("SELECT 1 FROM AR_Customer WHERE CustomerNo = 'FAULT'") == []
    assert sandbox.one(CUSTOMER)["ret"] == 1  # the fault fired its one time


def test_dropped_connection(sandbox):
    sandbox.app.faults.set({"drop": {"every": 1}})
    with pytest.raises(requests.ConnectionError):
        health(sandbox)


def test_boi_error_fails_operations_with_a_boi_text_and_writes_nothing(sandbox):
    sandbox.app.faults.set({"boi_error": {"every": 2, "objects": ["AR_Customer_bus"]}})
    vendor = {"key": "f-v", "object": "AP_Vendor_bus", "action": "create",
              "fields": {"APDivisionNo": "00", "VendorNo": "FV", "VendorName": "Fault Vendor"}}
    customers = [dict(CUSTOMER, key=f"f-{n}", fields={**CUSTOMER["fields"], "CustomerNo": f"F{n}"})
                 for n in range(4)]
    results = sandbox.batch(customers[0], vendor, customers[1], customers[2], customers[3])
    assert [(r["key"], r["ret"], r["code"]) for r in results] == [
        ("f-0", 1, "ok"), ("f-v", 1, "ok"), ("f-1", 0, "in_use"), ("f-2", 1, "ok"), ("f-3", 0, "in_use")]
    assert results[2]["last_error"] == "The record is in use by another user. Try again later."
    assert sandbox.rows("SELECT CustomerNo FROM AR_Customer WHERE CustomerNo LIKE 'F_' ORDER BY 1") == [
        {"CustomerNo": "F0"}, {"CustomerNo": "F2"}]
    sandbox.app.faults.clear()
    assert sandbox.one(customers[1])["ret"] == 1  # a failed key was not recorded: the retry applies


def test_boi_error_with_a_custom_text(sandbox):
    sandbox.app.faults.set({"boi_error": {"message": "Invalid field name CustomerName$ (custom)."}})
    result = sandbox.one(CUSTOMER)
    assert (result["ret"], result["code"]) == (0, "validation")


def test_agent_down_answers_like_a_stopped_windows_service(sandbox):
    sandbox.app.faults.set({"agent_down": {"every": 1}})
    response = health(sandbox)
    assert response.status_code == 503
    assert "HTTP Error 503. The service is unavailable." in response.text
    with pytest.raises(TransientError, match="unavailable"):
        sandbox.client().health()
    sandbox.app.faults.set({"agent_down": {"mode": "drop"}})
    with pytest.raises(requests.ConnectionError):
        health(sandbox)
    with pytest.raises(TransientError, match="cannot be reached"):
        sandbox.client().health()


def test_faults_switch_at_run_time_through_the_sandbox_route(sandbox):
    response = requests.post(f"{sandbox.url}/_sandbox/faults", json={"agent_down": {"times": 1}}, timeout=5)
    assert response.json()["config"] == {"agent_down": {"times": 1, "every": 1}}
    assert health(sandbox).status_code == 503
    assert health(sandbox).status_code == 200
    assert requests.get(f"{sandbox.url}/_sandbox/faults", timeout=5).json()["fired"] == {"agent_down": 1}
    bad = requests.post(f"{sandbox.url}/_sandbox/faults", json={"agent_down": {"mode": "sideways"}}, timeout=5)
    assert bad.status_code == 400


def test_fault_config_is_validated():
    assert set(SageFaultSwitch.names()) >= {"rate_limit", "slow_ms", "timeout", "server_error", "drop", "boi_error",
                                            "agent_down"}
    with pytest.raises(ValueError, match="objects"):
        SageFaultSwitch({"boi_error": {"objects": "AR_Customer_bus"}})
    with pytest.raises(ValueError, match="unknown fault"):
        SageFaultSwitch({"sql_timeout": {}})
