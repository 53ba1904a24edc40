"""Every switchable fault of the AX sandbox, seen raw on the wire and through the client's error mapping."""

from __future__ import annotations

import time
import uuid
from io import BytesIO

import pytest
import requests
from lxml import etree

from integrations.core.errors import DuplicateError, TransientError
from integrations.dynamics_ax.sandbox.faults import AxFaultSwitch

from .soap import NS, call, infolog, keys, xpp

NEW_CUSTOMER = {"CustGroup": "30", "DirParty": {"Name": "Fault Test Ltd"}}


def mid() -> str:
    return str(uuid.uuid4())


def customers(instance) -> int:
    return instance.store.scalar("SELECT COUNT(*) FROM CUSTTABLE")


def test_rate_limit_answers_iis_503_with_retry_after(aif, instance) -> None:
    aif.check()
    instance.app.faults.set({"rate_limit": {"every": 1, "retry_after": 3, "times": 1}})
    response = call(instance, "CustomerService", "read", keys("AccountNum", "GB-0001"))
    assert response.status_code == 503 and response.headers["Retry-After"] == "3"
    assert "Service Unavailable" in response.text and "text/html" in response.headers["Content-Type"]
    assert call(instance, "CustomerService", "read", keys("AccountNum", "GB-0001")).status_code == 200  # times: 1
    instance.app.faults.set({"rate_limit": {"every": 2, "retry_after": 5}})
    aif.read_customer("GB-0001")
    with pytest.raises(TransientError) as info:
        aif.read_customer("GB-0001")
    assert info.value.status == 503 and info.value.retry_after == 5
    assert instance.app.faults.snapshot()["fired"] == {"rate_limit": 1}


def test_rate_limit_can_answer_429_like_a_gateway_and_also_hits_the_wsdl(instance) -> None:
    instance.app.faults.set({"rate_limit": {"status": 429, "retry_after": 1}})
    response = requests.get(instance.endpoint + "?wsdl", timeout=10)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    with pytest.raises(TransientError) as info:
        instance.client().check()
    assert info.value.status == 429 and info.value.retry_after == 1


def test_slow_ms_delays_every_answer(aif, instance) -> None:
    aif.check()
    instance.app.faults.set({"slow_ms": 150})
    started = time.perf_counter()
    aif.read_customer("GB-0001")
    assert time.perf_counter() - started >= 0.15


def test_timeout_hangs_then_drops_and_the_client_gives_up(instance) -> None:
    client = instance.client(timeout=0.3)
    client.check()
    instance.app.faults.set({"timeout": {"every": 1, "hang_ms": 700, "times": 1}})
    with pytest.raises(TransientError) as info:
        client.create_customer(NEW_CUSTOMER, message_id=mid())
    assert "timed out" in info.value.message


def test_server_error_and_drop_process_nothing(aif, instance) -> None:
    aif.check()
    before = customers(instance)
    instance.app.faults.set({"server_error": {"status": 502}})
    response = call(instance, "CustomerService", "create", "")
    assert response.status_code == 502 and "text/html" in response.headers["Content-Type"]
    with pytest.raises(TransientError) as info:
        aif.create_customer(NEW_CUSTOMER, message_id=mid())
    assert info.value.status == 502
    instance.app.faults.set({"drop": {"every": 1}})
    with pytest.raises(requests.exceptions.ConnectionError):
        call(instance, "CustomerService", "read", keys("AccountNum", "GB-0001"))
    with pytest.raises(TransientError):
        aif.create_customer(NEW_CUSTOMER, message_id=mid())
    assert customers(instance) == before


def test_timeout_after_commit_then_retry_gets_duplicate_message(aif, instance) -> None:
    aif.check()
    before = customers(instance)
    message_id = mid()
    instance.app.faults.set({"timeout_after_commit": {"every": 1, "times": 1}})
    with pytest.raises(TransientError) as info:
        aif.create_customer(NEW_CUSTOMER, message_id=message_id)
    assert info.value.status == 500
    assert customers(instance) == before + 1  # AX committed although the client saw a failure
    with pytest.raises(DuplicateError):
        aif.create_customer(NEW_CUSTOMER, message_id=message_id)
    assert customers(instance) == before + 1


def test_aif_timeout_is_an_aif_fault_with_xpp_timeout_and_nothing_committed(aif, instance) -> None:
    before = customers(instance)
    instance.app.faults.set({"aif_timeout": {"every": 1}})
    response = call(instance, "CustomerService", "create", "")
    assert response.status_code == 500 and xpp(response) == "15"
    assert infolog(response)[0].startswith("The request channel timed out while waiting for a reply")
    with pytest.raises(TransientError) as info:
        aif.create_customer(NEW_CUSTOMER, message_id=mid())
    assert info.value.code == "Timeout" and info.value.retryable
    assert customers(instance) == before


def test_aos_unavailable_is_a_wcf_fault_without_aif_detail(aif, instance) -> None:
    aif.check()
    instance.app.faults.set({"aos_unavailable": {"every": 1}})
    response = call(instance, "CustomerService", "read", keys("AccountNum", "GB-0001"))
    fault = etree.fromstring(response.content).find(".//s:Fault", NS)
    assert response.status_code == 500 and fault.findtext("faultcode").endswith(":InternalServiceFault")
    assert fault.find("detail") is None
    with pytest.raises(TransientError) as info:
        aif.read_customer("GB-0001")
    assert info.value.code == "InternalServiceFault" and "unreachable" in info.value.message
    instance.app.faults.set({"aos_unavailable": {"detail": True}})
    assert "Could not connect to net.tcp://" in call(instance, "ItemService", "read", keys("ItemId", "D0001")).text


def test_fault_config_is_validated_and_reported(instance) -> None:
    assert set(AxFaultSwitch.names()) >= {"rate_limit", "slow_ms", "timeout", "server_error", "drop",
                                         "timeout_after_commit", "aif_timeout", "aos_unavailable"}
    assert requests.post(instance.url + "/_sandbox/faults", json={"meteor": {}}, timeout=10).status_code == 400
    assert requests.post(instance.url + "/_sandbox/faults", json={"aif_timeout": {"every": 0}},
                         timeout=10).status_code == 400
    snapshot = requests.post(instance.url + "/_sandbox/faults", json={"aif_timeout": {"every": 2}}, timeout=10).json()
    assert snapshot == {"config": {"aif_timeout": {"every": 2}}, "seen": {}, "fired": {}}
    call(instance, "CustomerService", "read", keys("AccountNum", "GB-0001"))
    call(instance, "CustomerService", "read", keys("AccountNum", "GB-0001"))
    assert requests.get(instance.url + "/_sandbox/faults", timeout=10).json()["fired"] == {"aif_timeout": 1}


def test_sandbox_control_routes_answer_loopback_only(instance) -> None:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/_sandbox/faults", "REMOTE_ADDR": "10.1.2.3",
               "wsgi.input": BytesIO(b"{}"), "CONTENT_LENGTH": "2", "SERVER_NAME": "x", "SERVER_PORT": "80"}
    statuses = []
    instance.app(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["403 Forbidden"]


def test_include_exceptions_in_fault_off_hides_the_infolog(aif, instance) -> None:
    requests.post(instance.url + "/_sandbox/options", json={"include_exceptions_in_fault": False}, timeout=10)
    response = call(instance, "CustomerService", "read", keys("AccountNum", "NOPE"))
    assert response.status_code == 500 and infolog(response) == [] and xpp(response) is None
    assert requests.post(instance.url + "/_sandbox/options", json={"colour": True}, timeout=10).status_code == 400
