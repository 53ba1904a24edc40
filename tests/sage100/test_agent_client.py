"""Ledgerbridge's agent client: answers and failures mapped to the connector error kinds."""

from __future__ import annotations

import socket

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
from integrations.core.wsgi import Response, ServerThread
from integrations.sage100.agent_client import AgentClient, OperationResult


def invoice(key: str, **fields) -> dict:
    return {"key": key, "object": "AR_Invoice_bus", "action": "create",
            "fields": {"ARDivisionNo": "01", "CustomerNo": "ABF", "InvoiceDate": "2024-01-31", **fields},
            "lines": [{"ItemCode": "6655", "QuantityShipped": 1}]}


def test_success_and_replay(sandbox):
    client = sandbox.client()
    first = client.apply_one(invoice("cl-1"))
    assert first.ok and not first.replayed and first.record_key["InvoiceType"] == "IN"
    again = client.apply_one(invoice("cl-1"))
    assert again.replayed and again.record_key == first.record_key
    assert client.applied("cl-1").record_key == first.record_key
    assert client.applied("never") is None


def test_warnings_are_success(sandbox):
    client = sandbox.client()
    order = {"key": "cl-po", "object": "SO_SalesOrder_bus", "action": "create",
             "fields": {"ARDivisionNo": "01", "CustomerNo": "ABF", "CustomerPONo": "PO-W"},
             "lines": [{"ItemCode": "6655", "QuantityOrdered": 1}]}
    client.apply_one(order)
    warned = client.apply_one(dict(order, key="cl-po-2"))
    assert warned.ok and warned.ret == -1 and warned.code == "warning"


@pytest.mark.parametrize(("operation", "error", "text"), [
    ({**invoice("m1"), "fields": {"ARDivisionNo": "01", "CustomerNo": "ABF"}}, TargetValidationError,
     "InvoiceDate is required"),
    (invoice("m2", CustomerNo="NOPE"), IntegrityError, "Customer 01-NOPE is not on file"),
    ({"key": "m3", "object": "GL_GeneralJournal_bus", "action": "create", "fields": {"PostingDate": "2024-01-31"},
      "lines": [{"AccountKey": "999999999", "DebitAmount": 1}]}, TargetValidationError, "Invalid G/L account"),
    ({"key": "m4", "object": "CI_ItemCode_bus", "action": "update", "fields": {"ItemCode": "NOPE"}}, NotFoundError,
     "not on file"),
    ({"key": "m5", "object": "Bogus_bus", "action": "create", "fields": {}}, TargetValidationError, "object must be"),
])
def test_operation_failures_map_to_typed_errors(sandbox, operation, error, text):
    with pytest.raises(error, match=text) as raised:
        sandbox.client().apply_one(operation)
    assert raised.value.system == "Sage 100" and raised.value.payload["key"] == operation["key"]


def test_duplicate_invoice_is_a_duplicate_error(sandbox):
    client = sandbox.client()
    client.apply_one(invoice("d1", InvoiceNo="0888001"))
    with pytest.raises(DuplicateError, match="already exists") as raised:
        client.apply_one(invoice("d2", InvoiceNo="0888001"))
    assert raised.value.kind == "duplicate"


def test_record_in_use_is_transient(sandbox):
    sandbox.app.faults.set({"boi_error": {"times": 1}})
    with pytest.raises(TransientError, match="in use"):
        sandbox.client().apply_one(invoice("busy"))
    assert sandbox.client().apply_one(invoice("busy")).ok


def test_batches_do_not_raise_for_failed_operations(sandbox):
    results = sandbox.client().apply([invoice("b1"), invoice("b2", CustomerNo="NOPE")])
    assert [r.ok for r in results] == [True, False]
    assert isinstance(results[1].error(), IntegrityError) and results[0].error() is None


def test_wrong_key_is_an_auth_error(sandbox):
    with pytest.raises(AuthError):
        AgentClient(sandbox.url, "wrong-key").health()


def test_rate_limit_and_5xx_are_transient_with_retry_after(sandbox):
    sandbox.app.faults.set({"rate_limit": {"retry_after": 3}})
    with pytest.raises(TransientError) as raised:
        sandbox.client().apply([invoice("r1")])
    assert raised.value.retry_after == 3.0 and raised.value.status == 429
    sandbox.app.faults.set({"server_error": {"status": 503}})
    with pytest.raises(TransientError, match="HTTP 503"):
        sandbox.client().health()


def test_timeouts_and_refused_connections_are_transient(sandbox):
    sandbox.app.faults.set({"timeout": {"hang_ms": 500}})
    with pytest.raises(TransientError, match="in time"):
        sandbox.client(timeout=0.2).health()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientError, match="cannot be reached"):
        AgentClient(f"http://127.0.0.1:{port}", "k").health()


def test_something_that_is_not_an_agent_is_a_configuration_error():
    def not_an_agent(environ, start_response):
        if environ["PATH_INFO"] == "/v1/health":
            return Response(200, b"<html>hello</html>", content_type="text/html")(start_response)
        return Response(404, b"nope", content_type="text/plain")(start_response)

    with ServerThread(not_an_agent) as server:
        client = AgentClient(server.url, "k")
        with pytest.raises(ConfigurationError, match="did not answer like"):
            client.health()
        with pytest.raises(ConfigurationError, match="No Ledgerbridge agent"):
            client.apply([invoice("x")])
    with pytest.raises(ConfigurationError, match="no agent URL"):
        AgentClient("", "k")


def test_result_codes_the_client_does_not_know_are_validation_errors():
    result = OperationResult.from_json({"key": "k", "object": "AR_Customer_bus", "action": "create", "ret": 0,
                                        "code": "something_new", "last_error": "Odd."})
    assert isinstance(result.error(), TargetValidationError)
    session = OperationResult.from_json({"ret": 0, "code": "session_failed", "last_error": "External access"})
    assert isinstance(session.error(), ConfigurationError)
    assert OperationResult.from_json({"ret": 1, "code": "ok"}).error() is None


def test_check_is_what_a_connection_test_shows(sandbox):
    assert "company ABC" in sandbox.client().check()
    with pytest.raises(AuthError):
        AgentClient(sandbox.url, "not-the-key").check()
