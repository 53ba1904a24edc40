"""Sandbox instances and the control API, against a small fake system (the real ones have their own tests)."""

from __future__ import annotations

import json
import secrets
import sqlite3
from pathlib import Path

import pytest
import requests

from integrations.core.faults import FaultSwitch
from integrations.core.sandbox import SharedParty
from integrations.core.wsgi import Request, Response
from integrations.sandboxes import ControlClient, Ports, SandboxError, SandboxHub, SandboxServers, SandboxUnavailable


class FakeApp:
    def __init__(self, path: Path, token: str) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.token = token
        self.faults = FaultSwitch()

    def __call__(self, environ, start_response):
        request = Request.from_environ(environ)
        answer = self.faults.intercept()
        if answer is None:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                answer = Response.json({"Message": "who are you"}, 401)
            else:
                (count,) = self.db.execute("select count(*) from party").fetchone()
                answer = Response.json({"parties": count, "root": request.root_url})
        return answer(start_response)


class FakeSystem:
    def __init__(self, name: str) -> None:
        self.name = self.label = name
        self.seen_parties: list[SharedParty] | None = None
        self.closed = 0

    def new_credentials(self):
        return {"token": secrets.token_hex(8)}

    def seed(self, folder, credentials, *, size, rng_seed=0, parties=None):
        assert not any(folder.iterdir()), "seed gets an empty folder"
        self.seen_parties = parties
        db = sqlite3.connect(folder / "data.sqlite3")
        db.execute("create table party (code text, name text)")
        rows = [(p.code, p.name) for p in parties] if parties else [(f"C{i:03}", f"Party {i}")
                                                                     for i in range(size // 10 + 1)]
        db.executemany("insert into party values (?, ?)", rows)
        db.commit()
        db.close()
        return {"parties": len(rows)}

    def parties(self, folder):
        db = sqlite3.connect(folder / "data.sqlite3")
        rows = db.execute("select code, name from party").fetchall()
        db.close()
        return [SharedParty(code=c, name=n) for c, n in rows]

    def make_app(self, folder, credentials):
        return FakeApp(folder / "data.sqlite3", credentials["token"])

    def close_app(self, app):
        self.closed += 1
        app.db.close()

    def inspect(self, folder):
        db = sqlite3.connect(folder / "data.sqlite3")
        (count,) = db.execute("select count(*) from party").fetchone()
        db.close()
        return {"parties": count}

    def connection_fields(self, root_url, folder, credentials):
        return {"base_url": root_url, "password": credentials["token"], "settings": {}}


@pytest.fixture
def systems():
    return {name: FakeSystem(name) for name in ("kashflow", "dynamics_ax", "sage100")}


@pytest.fixture
def servers(tmp_path, systems):
    hub = SandboxHub(tmp_path, systems)
    with SandboxServers(tmp_path, Ports.ephemeral(), hub=hub) as running:
        yield running


@pytest.fixture
def control(servers):
    return ControlClient(servers.control_url, servers.token, timeout=10)


def test_create_seeds_erp_first_and_gives_kashflow_its_parties(tmp_path, systems):
    hub = SandboxHub(tmp_path, systems)
    instance = hub.create(erp="sage100", size=50, instance_id="acme-1")
    assert instance.systems == ("sage100", "kashflow")
    assert [p.code for p in systems["kashflow"].seen_parties] == [f"C{i:03}" for i in range(6)]
    assert hub.inspect("acme-1")["state"]["kashflow"]["counts"] == {"parties": 6}
    assert (tmp_path / "instances/acme-1/credentials.json").stat().st_mode & 0o077 == 0
    assert [i.id for i in hub.list()] == ["acme-1"]


@pytest.mark.parametrize("kwargs, message", [
    ({"erp": "oracle"}, "erp must be one of"),
    ({"erp": "sage100", "size": "huge"}, "unknown size"),
    ({"erp": "sage100", "size": -3}, "size must be"),
    ({"erp": "sage100", "instance_id": "../etc"}, "instance id must be"),
    ({"erp": "sage100", "instance_id": "Upper"}, "instance id must be"),
])
def test_bad_create_requests_are_refused(tmp_path, systems, kwargs, message):
    with pytest.raises(SandboxError, match=message):
        SandboxHub(tmp_path, systems).create(**kwargs)
    assert not list((tmp_path / "instances").iterdir())


def test_a_failing_seed_leaves_nothing_behind(tmp_path, systems):
    systems["kashflow"].seed = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full"))
    hub = SandboxHub(tmp_path, systems)
    with pytest.raises(RuntimeError):
        hub.create(erp="dynamics_ax", instance_id="broken")
    assert not hub.exists("broken") and not (tmp_path / "instances/broken").exists()


def test_instances_are_served_under_their_own_prefix(servers, control):
    first = control.create(erp="dynamics_ax", size=20, instance_id="acme-1")
    second = control.create(erp="sage100", size=90, instance_id="beta-2")
    kf1, kf2 = first["connections"]["kashflow"], second["connections"]["kashflow"]
    assert kf1["base_url"] == f"{servers.urls['kashflow']}/acme-1"
    one = requests.get(kf1["base_url"], headers={"Authorization": f"Bearer {kf1['password']}"}, timeout=5).json()
    two = requests.get(kf2["base_url"], headers={"Authorization": f"Bearer {kf2['password']}"}, timeout=5).json()
    assert (one["parties"], two["parties"]) == (3, 10)
    assert one["root"] == kf1["base_url"]
    # credentials of one instance do not open another
    crossed = requests.get(kf2["base_url"], headers={"Authorization": f"Bearer {kf1['password']}"}, timeout=5)
    assert crossed.status_code == 401
    # an instance only has the systems of its pair
    assert requests.get(f"{servers.urls['sage100']}/acme-1", timeout=5).status_code == 404


def test_faults_switch_per_instance_and_system_at_run_time(servers, control):
    fields = control.create(erp="dynamics_ax", size=20, instance_id="acme-1")["connections"]
    control.create(erp="dynamics_ax", size=20, instance_id="beta-2")
    snapshot = control.faults("acme-1", "dynamics_ax", {"rate_limit": {"every": 1, "retry_after": 3}})
    assert snapshot["config"] == {"rate_limit": {"every": 1, "retry_after": 3}}
    hit = requests.get(fields["dynamics_ax"]["base_url"], timeout=5)
    assert hit.status_code == 429 and hit.headers["Retry-After"] == "3"
    assert control.inspect("acme-1")["state"]["dynamics_ax"]["faults"]["fired"] == {"rate_limit": 1}
    assert control.inspect("beta-2")["state"]["dynamics_ax"]["faults"]["config"] == {}
    control.faults("acme-1", "dynamics_ax", {"slow_ms": 5}, merge=True)
    assert set(control.faults("acme-1", "dynamics_ax")["config"]) == {"rate_limit", "slow_ms"}
    assert control.clear_faults("acme-1", "dynamics_ax")["config"] == {}
    with pytest.raises(SandboxUnavailable, match="unknown fault"):
        control.faults("acme-1", "dynamics_ax", {"meteor": {}})
    with pytest.raises(SandboxUnavailable, match="has no sage100"):
        control.faults("acme-1", "sage100", {})


def test_reseed_and_delete(servers, control, systems):
    control.create(erp="dynamics_ax", size=20, instance_id="acme-1")
    url = control.connections("acme-1")["kashflow"]
    assert requests.get(url["base_url"], headers={"Authorization": f"Bearer {url['password']}"},
                        timeout=5).json()["parties"] == 3
    control.reseed("acme-1", size=100)
    assert control.inspect("acme-1")["state"]["kashflow"]["counts"] == {"parties": 11}
    assert control.connections("acme-1")["kashflow"]["password"] == url["password"]  # credentials survive
    control.delete("acme-1")
    assert control.instances() == []
    with pytest.raises(SandboxUnavailable, match="404"):
        control.inspect("acme-1")


def test_control_api_needs_the_token_and_validates_input(servers):
    assert requests.get(f"{servers.control_url}/health", timeout=5).status_code == 200
    assert requests.get(f"{servers.control_url}/instances", timeout=5).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert requests.get(f"{servers.control_url}/instances", headers=wrong, timeout=5).status_code == 401
    good = {"Authorization": f"Bearer {servers.token}"}
    bad_json = requests.post(f"{servers.control_url}/instances", data=b"{", headers=good, timeout=5)
    assert bad_json.status_code == 400 and "not valid JSON" in bad_json.json()["error"]
    extra = requests.post(f"{servers.control_url}/instances", json={"erp": "sage100", "colour": "red"},
                          headers=good, timeout=5)
    assert extra.status_code == 400 and "colour" in extra.json()["error"]
    dup = {"erp": "sage100", "size": 10, "id": "same"}
    assert requests.post(f"{servers.control_url}/instances", json=dup, headers=good, timeout=5).status_code == 201
    assert requests.post(f"{servers.control_url}/instances", json=dup, headers=good, timeout=5).status_code == 409
    token_file = servers.root / "control-token"
    assert token_file.stat().st_mode & 0o077 == 0 and json.dumps(servers.token) not in (servers.root / "instances"
                                                                                         / "same" / "instance.json"
                                                                                         ).read_text()


def test_control_api_refuses_anything_but_loopback(tmp_path, systems):
    from integrations.sandboxes.control import ControlApp

    app = ControlApp(SandboxHub(tmp_path, systems), {}, "t0ken")
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/instances", "REMOTE_ADDR": "10.1.2.3",
               "HTTP_AUTHORIZATION": "Bearer t0ken", "wsgi.input": None, "SERVER_NAME": "x", "SERVER_PORT": "1"}
    assert app.handle(Request.from_environ(environ)).status == 403
    assert app.handle(Request.from_environ(environ | {"REMOTE_ADDR": "::1"})).status == 200


def test_instances_of_an_older_format_say_so_and_reseeding_brings_them_up_to_date(tmp_path):
    import json

    from integrations.sandboxes.hub import DATA_FORMAT, SandboxHub

    hub = SandboxHub(tmp_path)
    instance = hub.create(erp="sage100", size=20, instance_id="old-one", rng_seed=1)
    assert instance.data_format == DATA_FORMAT and not hub.get("old-one").outdated
    meta = hub.folder("old-one") / "instance.json"
    data = json.loads(meta.read_text())
    del data["data_format"]  # written before the field existed
    meta.write_text(json.dumps(data))
    assert hub.get("old-one").outdated
    assert not hub.reseed("old-one").outdated and not hub.get("old-one").outdated
