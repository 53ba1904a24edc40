"""The agent as shipped: configuration, command line, and the BOI backend's COM plumbing.

The BOI backend needs Windows and Sage's ProvideX COM server, so it cannot run here for real. These tests stand
the emulated ProvideX.Script in for ``win32com.client.Dispatch`` to check the backend's own code: the COM
thread, by-ref parameters, session reuse and recovery. Whether real BOI accepts the calls is for a Windows site.
"""

from __future__ import annotations

import json
import sys
import threading
import types

import pytest

from integrations.sage100.agent.__main__ import main
from integrations.sage100.agent.app import hash_api_key
from integrations.sage100.agent.backends.emulated import CLASSES, EmulatedScript
from integrations.sage100.agent.backends.emulated.db import CompanyDb
from integrations.sage100.agent.config import AgentConfig, ConfigError, build_app
from integrations.sage100.agent.operations import Operation
from integrations.sage100.sandbox.schema import DB_FILE

from .conftest import CREDENTIALS

ORDER = {"key": "com-1", "object": "SO_SalesOrder_bus", "action": "create",
         "fields": {"ARDivisionNo": "01", "CustomerNo": "ABF"}, "lines": [{"ItemCode": "6655", "QuantityOrdered": 2}]}


class FakeVariant:
    def __init__(self, vt: int, value: object) -> None:
        self.vt, self.value = vt, value


@pytest.fixture
def fake_com(monkeypatch, company):
    """pywin32 stand-ins whose Dispatch("ProvideX.Script") is the emulation over the test company."""
    db = CompanyDb(company / DB_FILE)
    calls: dict[str, list] = {"dispatch": [], "init": [], "sessions": [], "threads": set()}

    class Script(EmulatedScript):
        def Init(self, home):  # noqa: N802
            calls["init"].append(home)

        def NewObject(self, name, session=None):  # noqa: N802
            calls["threads"].add(threading.current_thread().name)
            obj = super().NewObject(name, session)
            if name == "SY_Session":
                calls["sessions"].append(obj)
            return obj

    def dispatch(prog_id):
        calls["dispatch"].append(prog_id)
        return Script(db, CLASSES)

    client = types.ModuleType("win32com.client")
    client.Dispatch = dispatch
    client.VARIANT = FakeVariant
    package = types.ModuleType("win32com")
    package.client = client
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.VT_BYREF, pythoncom.VT_VARIANT = 0x4000, 12
    pythoncom.CoInitialize = lambda: None
    monkeypatch.setitem(sys.modules, "win32com", package)
    monkeypatch.setitem(sys.modules, "win32com.client", client)
    monkeypatch.setitem(sys.modules, "pythoncom", pythoncom)
    yield calls
    db.close()


def test_boi_backend_drives_provideX_on_one_com_thread_and_reuses_its_session(fake_com, company):
    from integrations.sage100.agent.backends.boi import BoiBackend

    backend = BoiBackend(home=r"C:\Sage\Sage 100\MAS90\Home", user=CREDENTIALS["sage_user"],
                         password=CREDENTIALS["sage_password"], company="ABC")
    try:
        first = backend.apply(Operation.parse(ORDER))
        second = backend.apply(Operation.parse(dict(ORDER, key="com-2")))
    finally:
        backend.close()
    assert first.ret == second.ret == 1
    assert first.record_key["SalesOrderNo"] != second.record_key["SalesOrderNo"]  # by-ref next numbers
    assert fake_com["dispatch"] == ["ProvideX.Script"] and fake_com["init"] == [r"C:\Sage\Sage 100\MAS90\Home"]
    assert len(fake_com["sessions"]) == 1  # sessions are expensive: one, reused
    assert len(fake_com["threads"]) == 1 and next(iter(fake_com["threads"])).startswith("boi")


def test_boi_backend_reopens_the_session_after_a_com_error(fake_com):
    from integrations.sage100.agent.backends.boi import BoiBackend

    backend = BoiBackend(home="C:\\Home", user=CREDENTIALS["sage_user"], password=CREDENTIALS["sage_password"],
                         company="ABC")
    try:
        backend.check()
        fake_com["sessions"][0].program = "broken"  # the next NewObject raises, as a COM error would
        with pytest.raises(Exception, match="requires nSetProgram|belongs to module"):
            fake_com["sessions"][0].new_object("AR_Customer_bus")
        assert backend.apply(Operation.parse(ORDER)).ret == 1
    finally:
        backend.close()


def test_boi_backend_reports_a_refused_logon(fake_com):
    from integrations.sage100.agent.backends.boi import BoiBackend
    from integrations.sage100.agent.runner import SessionError

    backend = BoiBackend(home="C:\\Home", user=CREDENTIALS["sage_user"], password="wrong", company="ABC")
    try:
        with pytest.raises(SessionError, match="refused the agent's user"):
            backend.check()
    finally:
        backend.close()


def config_dict(folder, **overrides) -> dict:
    return {"api_key_hash": hash_api_key("k-123"), "backend": "emulated", "company": "ABC",
            "sage_user": CREDENTIALS["sage_user"], "sage_password_env": "LB_TEST_SAGE_PASSWORD",
            "database": str(folder / DB_FILE), "state": "state.sqlite3", **overrides}


@pytest.mark.parametrize(("change", "message"), [
    ({"backend": "odbc"}, "backend must be"),
    ({"company": "ABCD"}, "3-character"),
    ({"api_key_hash": "k-123"}, "sha256"),
    ({"database": ""}, "needs 'database'"),
    ({"surprise": 1}, "unknown setting"),
    ({"sage_user": ""}, "missing setting"),
])
def test_configuration_is_checked(company, change, message):
    with pytest.raises(ConfigError, match=message):
        AgentConfig.from_dict(config_dict(company, **change))


def test_an_agent_built_from_its_configuration(company, tmp_path, monkeypatch):
    monkeypatch.setenv("LB_TEST_SAGE_PASSWORD", CREDENTIALS["sage_password"])
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(config_dict(company)))
    config = AgentConfig.load(path)
    assert config.state == str(tmp_path / "state.sqlite3")  # relative to the configuration file
    app = build_app(config)
    try:
        assert app.agent.apply(ORDER).ret == 1
    finally:
        app.agent.backend.close()
        app.agent.keys.close()
    monkeypatch.delenv("LB_TEST_SAGE_PASSWORD")
    with pytest.raises(ConfigError, match="LB_TEST_SAGE_PASSWORD"):
        config.sage_password()


def test_command_line(company, tmp_path, monkeypatch, capsys):
    assert main(["new-key"]) == 0
    printed = capsys.readouterr().out
    key = printed.split("): ")[1].split()[0]
    assert hash_api_key(key) in printed
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(config_dict(company)))
    monkeypatch.setenv("LB_TEST_SAGE_PASSWORD", CREDENTIALS["sage_password"])
    assert main(["check", "--config", str(path)]) == 0
    assert "BOI session opened for company ABC" in capsys.readouterr().out
    monkeypatch.setenv("LB_TEST_SAGE_PASSWORD", "wrong")
    assert main(["check", "--config", str(path)]) == 1
    assert main(["check", "--config", str(tmp_path / "missing.json")]) == 2
