"""The shared sandbox plumbing: fault switches, dropped connections, mounting instances under a prefix."""

from __future__ import annotations

import time

import pytest
import requests

from integrations.core.faults import FaultSwitch
from integrations.core.wsgi import Mount, Request, Response, Router, ServerThread


class EchoApp:
    def __init__(self, name: str) -> None:
        self.name = name
        self.faults = FaultSwitch()
        self.router = Router()

        @self.router.route("GET", "/where")
        def where(request: Request) -> Response:
            return Response.json({"app": self.name, "root": request.root_url, "path": request.path})

    def __call__(self, environ, start_response):
        request = Request.from_environ(environ)
        answer = self.faults.intercept()
        if answer is None:
            handler, _ = self.router.resolve(request)
            answer = handler(request) if handler else Response.json({"Message": "nope"}, 404)
        return answer(start_response)


@pytest.fixture
def served():
    apps = {"acme-1": EchoApp("acme"), "beta-2": EchoApp("beta")}
    with ServerThread(Mount(apps.get)) as server:
        server.apps = apps
        yield server


def test_mount_routes_by_first_segment_and_sets_root_url(served):
    answer = requests.get(f"{served.url}/acme-1/where", timeout=5).json()
    assert answer == {"app": "acme", "root": f"{served.url}/acme-1", "path": "/where"}
    assert requests.get(f"{served.url}/beta-2/where", timeout=5).json()["app"] == "beta"
    missing = requests.get(f"{served.url}/nobody/where", timeout=5)
    assert missing.status_code == 404 and "nobody" in missing.json()["Message"]


def test_rate_limit_answers_429_with_retry_after_every_nth(served):
    served.apps["acme-1"].faults.set({"rate_limit": {"every": 2, "retry_after": 7}})
    statuses = [requests.get(f"{served.url}/acme-1/where", timeout=5) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 429, 200, 429]
    assert statuses[1].headers["Retry-After"] == "7"
    assert requests.get(f"{served.url}/beta-2/where", timeout=5).status_code == 200  # other instance unaffected


def test_times_caps_how_often_a_fault_fires(served):
    served.apps["acme-1"].faults.set({"server_error": {"every": 1, "times": 2, "status": 503}})
    codes = [requests.get(f"{served.url}/acme-1/where", timeout=5).status_code for _ in range(4)]
    assert codes == [503, 503, 200, 200]
    assert served.apps["acme-1"].faults.snapshot()["fired"] == {"server_error": 2}


def test_drop_closes_the_connection_without_an_answer(served):
    served.apps["acme-1"].faults.set({"drop": {"every": 1}})
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{served.url}/acme-1/where", timeout=5)
    served.apps["acme-1"].faults.clear()
    assert requests.get(f"{served.url}/acme-1/where", timeout=5).status_code == 200


def test_timeout_hangs_past_the_client_timeout(served):
    served.apps["acme-1"].faults.set({"timeout": {"every": 1, "hang_ms": 600}})
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{served.url}/acme-1/where", timeout=0.2)


def test_slow_ms_delays_every_answer(served):
    served.apps["acme-1"].faults.set({"slow_ms": 150})
    started = time.perf_counter()
    assert requests.get(f"{served.url}/acme-1/where", timeout=5).status_code == 200
    assert time.perf_counter() - started >= 0.15


@pytest.mark.parametrize("config, message", [
    ([], "JSON object"),
    ({"explode": {}}, "unknown fault 'explode'"),
    ({"rate_limit": {"every": 0}}, "every must be a positive integer"),
    ({"rate_limit": 3}, "must be an object"),
    ({"slow_ms": -1}, "non-negative number"),
    ({"drop": {"times": "x"}}, "times must be"),
])
def test_bad_fault_configs_are_rejected_with_a_reason(config, message):
    with pytest.raises(ValueError, match=message):
        FaultSwitch().set(config)


def test_update_merges_and_null_switches_off():
    faults = FaultSwitch({"rate_limit": {"every": 2}, "slow_ms": 10})
    faults.update({"slow_ms": None, "drop": {"every": 5}})
    assert faults.snapshot()["config"] == {"rate_limit": {"every": 2}, "drop": {"every": 5}}


def test_rate_limit_quota_lets_a_burst_through_then_answers_429_in_whole_seconds():
    faults = FaultSwitch({"rate_limit": {"per_second": 5, "burst": 3}})
    answers = [faults.intercept() for _ in range(4)]
    assert answers[:3] == [None, None, None]
    refused = answers[3]
    assert refused.status == 429 and dict(refused.headers)["Retry-After"] == "1"
    time.sleep(0.25)  # 5/s: one more token after 0.2 s
    assert faults.intercept() is None
    assert faults.snapshot()["fired"]["rate_limit"] == 1


def test_keep_alive_serves_many_requests_on_one_connection_and_skips_unread_bodies():
    def app(environ, start_response):  # never reads the body it is sent
        return Response.json({"path": environ["PATH_INFO"]})(start_response)

    with ServerThread(app) as server, requests.Session() as session:
        first = session.post(f"{server.url}/a", data=b"x" * 5000)
        second = session.get(f"{server.url}/b")
        assert first.json() == {"path": "/a"} and second.json() == {"path": "/b"}
        assert first.headers.get("Connection") != "close"
        assert len(session.adapters["http://"].poolmanager.pools) == 1
