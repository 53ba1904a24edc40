"""The agent's HTTP API: authentication, batches, idempotency keys."""

from __future__ import annotations

import requests

from integrations.sage100.agent.app import hash_api_key, key_matches
from integrations.sage100.agent.keys import AppliedKeys
from integrations.sage100.agent.operations import Operation
from integrations.sage100.sandbox.system import AGENT_FILE

CUSTOMER = {"key": "cust-1", "object": "AR_Customer_bus", "action": "create",
            "fields": {"ARDivisionNo": "01", "CustomerNo": "IDEM", "CustomerName": "Idempotent Inc"}}


def test_missing_or_wrong_key_is_401(sandbox):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {sandbox.key}"},
                    {"X-API-Key": "nope"}):
        response = requests.get(f"{sandbox.url}/v1/health", headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"
    response = requests.post(f"{sandbox.url}/v1/batches", json={"operations": [CUSTOMER]}, timeout=5)
    assert response.status_code == 401
    assert sandbox.rows("SELECT 1 FROM AR_Customer WHERE CustomerNo = 'IDEM'") == []


def test_health_with_the_key(sandbox):
    for headers in (sandbox.headers, {"X-API-Key": sandbox.key}):
        body = requests.get(f"{sandbox.url}/v1/health", headers=headers, timeout=5).json()
        assert body["status"] == "ok" and body["backend"] == "emulated" and body["company"] == "ABC"
        assert body["session"] == "ok"


def test_the_key_is_stored_as_a_hash_and_compared_whole():
    stored = hash_api_key("s3cret-key")
    assert stored.startswith("sha256:") and "s3cret" not in stored
    assert key_matches("s3cret-key", stored)
    assert not key_matches("s3cret-ke", stored) and not key_matches("", stored)


def test_same_key_twice_is_applied_once_with_the_same_answer(sandbox):
    first = sandbox.one(CUSTOMER)
    second = sandbox.one(CUSTOMER)
    assert first["ret"] == second["ret"] == 1
    assert (first["replayed"], second["replayed"]) == (False, True)
    assert second["record_key"] == first["record_key"] and second["applied_at"] == first["applied_at"]
    assert len(sandbox.rows("SELECT 1 FROM AR_Customer WHERE CustomerNo = 'IDEM'")) == 1
    applied = requests.get(f"{sandbox.url}/v1/applied/cust-1", headers=sandbox.headers, timeout=5).json()
    assert applied["state"] == "applied" and applied["result"]["record_key"] == {"ARDivisionNo": "01",
                                                                                  "CustomerNo": "IDEM"}


def test_auto_numbered_documents_are_not_created_twice(sandbox):
    order = {"key": "so-9", "object": "SO_SalesOrder_bus", "action": "create",
             "fields": {"ARDivisionNo": "01", "CustomerNo": "ABF"}, "lines": [{"ItemCode": "6655",
                                                                               "QuantityOrdered": 1}]}
    first, second = sandbox.batch(order, order)
    assert second["replayed"] and second["record_key"] == first["record_key"]
    assert len(sandbox.rows("SELECT 1 FROM SO_SalesOrderHeader WHERE SalesOrderNo = ?",
                            (first["record_key"]["SalesOrderNo"],))) == 1


def test_a_key_reused_for_another_operation_is_refused(sandbox):
    sandbox.one(CUSTOMER)
    other = dict(CUSTOMER, fields={**CUSTOMER["fields"], "CustomerName": "Someone Else"})
    result = sandbox.one(other)
    assert (result["ret"], result["code"]) == (0, "key_reused")
    assert sandbox.rows("SELECT CustomerName FROM AR_Customer WHERE CustomerNo = 'IDEM'") == [
        {"CustomerName": "Idempotent Inc"}]


def test_failures_are_not_recorded_so_a_fixed_retry_applies(sandbox):
    body = {"key": "inv-x", "object": "AR_Invoice_bus", "action": "create",
            "fields": {"ARDivisionNo": "01", "CustomerNo": "LATER", "InvoiceDate": "2024-01-31"},
            "lines": [{"ItemCode": "6655", "QuantityShipped": 1}]}
    assert sandbox.one(body)["code"] == "not_on_file"
    missing = requests.get(f"{sandbox.url}/v1/applied/inv-x", headers=sandbox.headers, timeout=5)
    assert missing.status_code == 404
    sandbox.one({"key": "cust-later", "object": "AR_Customer_bus", "action": "create",
                 "fields": {"ARDivisionNo": "01", "CustomerNo": "LATER", "CustomerName": "Later Ltd",
                            "TermsCode": "01"}})
    assert sandbox.one(body)["ret"] == 1


def test_a_batch_reports_every_operation_in_order(sandbox):
    results = sandbox.batch(
        CUSTOMER,
        {"key": "bad-1", "object": "AR_Customer_bus", "action": "create",
         "fields": {"ARDivisionNo": "01", "CustomerNo": "NONAME"}},
        {"key": "bad-2", "object": "NoSuch_bus", "action": "create", "fields": {}},
        {"key": "ven-1", "object": "AP_Vendor_bus", "action": "create",
         "fields": {"APDivisionNo": "00", "VendorNo": "V1", "VendorName": "Vendor One"}},
        "not an object",
    )
    assert [(r["key"], r["ret"], r["code"]) for r in results] == [
        ("cust-1", 1, "ok"), ("bad-1", 0, "validation"), ("bad-2", 0, "invalid_operation"), ("ven-1", 1, "ok"),
        ("", 0, "invalid_operation")]
    assert results[1]["last_error"] == "CustomerName is required."


def test_malformed_batches(sandbox):
    def post(**kwargs) -> requests.Response:
        return requests.post(f"{sandbox.url}/v1/batches", headers=sandbox.headers, timeout=5, **kwargs)

    assert post(data=b"{nope").status_code == 400
    assert post(json={"operations": []}).json()["error"]["code"] == "invalid_batch"
    assert post(json=[CUSTOMER]).status_code == 400
    assert post(json={"operations": [CUSTOMER] * 501}).status_code == 413
    bad_key = dict(CUSTOMER, key="has space/slash")
    assert post(json={"operations": [bad_key]}).json()["results"][0]["code"] == "invalid_operation"


def test_a_claim_left_by_a_stopped_agent_is_an_unknown_outcome_until_released(sandbox):
    stale = AppliedKeys(sandbox.folder / AGENT_FILE)  # another agent process, which then "crashed"
    assert stale.claim(Operation.parse(CUSTOMER)) is None
    stale.close()
    result = sandbox.one(CUSTOMER)
    assert (result["ret"], result["code"]) == (0, "unknown_outcome")
    assert "Check Sage" in result["last_error"]
    assert sandbox.rows("SELECT 1 FROM AR_Customer WHERE CustomerNo = 'IDEM'") == []

    release = requests.delete(f"{sandbox.url}/v1/applied/cust-1", headers=sandbox.headers, timeout=5)
    assert release.status_code == 204
    assert sandbox.one(CUSTOMER)["ret"] == 1
    again = requests.delete(f"{sandbox.url}/v1/applied/cust-1", headers=sandbox.headers, timeout=5)
    assert again.status_code == 409  # applied keys are never released: that would allow a duplicate
    assert requests.delete(f"{sandbox.url}/v1/applied/nothing", headers=sandbox.headers,
                           timeout=5).status_code == 404


def test_unknown_routes(sandbox):
    assert requests.get(f"{sandbox.url}/v2/nope", headers=sandbox.headers, timeout=5).status_code == 404
    assert requests.put(f"{sandbox.url}/v1/batches", headers=sandbox.headers, timeout=5).status_code == 405
