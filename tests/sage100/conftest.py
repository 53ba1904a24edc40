"""Sage 100 sandbox fixtures: a seeded ABC company (seeded once, copied per test) and the agent serving it."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from integrations.core.wsgi import ServerThread
from integrations.sage100.agent_client import AgentClient
from integrations.sage100.odbc import SageOdbcReader
from integrations.sage100.sandbox import SYSTEM, SandboxAgentApp
from integrations.sage100.sandbox.schema import DB_FILE
from integrations.sage100.sandbox.seed import seed

SIZE = 120
CREDENTIALS = {"api_key": "test-agent-key-0123456789abcdef", "sage_user": "lbagent", "sage_password": "pw-sandbox-1"}


@pytest.fixture(scope="session")
def company_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sage-template")
    seed(folder, size=SIZE, rng_seed=7, agent_user=CREDENTIALS["sage_user"],
         agent_password=CREDENTIALS["sage_password"])
    return folder


@pytest.fixture
def company(tmp_path: Path, company_template: Path) -> Path:
    """A private copy of the seeded company for one test."""
    folder = tmp_path / "sage100"
    folder.mkdir()
    shutil.copy(company_template / DB_FILE, folder / DB_FILE)
    return folder


@dataclass
class Sandbox:
    app: SandboxAgentApp
    url: str
    folder: Path
    key: str = CREDENTIALS["api_key"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def batch(self, *operations: dict[str, Any]) -> list[dict[str, Any]]:
        response = requests.post(f"{self.url}/v1/batches", json={"operations": list(operations)},
                                 headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def one(self, operation: dict[str, Any]) -> dict[str, Any]:
        return self.batch(operation)[0]

    def client(self, **kwargs: Any) -> AgentClient:
        return AgentClient(self.url, self.key, **kwargs)

    def odbc(self) -> SageOdbcReader:
        return SageOdbcReader.from_settings(SYSTEM.connection_fields(self.url, self.folder, CREDENTIALS)["settings"])

    def rows(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        """Straight from the file (not through the agent or ODBC), for assertions."""
        conn = sqlite3.connect(self.folder / DB_FILE)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute(sql, params)]
        finally:
            conn.close()


@pytest.fixture
def sandbox(company: Path):
    app = SYSTEM.make_app(company, CREDENTIALS)
    try:
        with ServerThread(app) as server:
            yield Sandbox(app, server.url, company)
    finally:
        SYSTEM.close_app(app)
