"""The two charts of accounts a GL suggestion needs, read from the tenant's own connections.

Source: Kashflow nominal codes (``GET /nominals``: Code, Name, Classification). Target: AX main accounts
(MAINACCOUNT over the SQL reader: MAINACCOUNTID, NAME, TYPE) or Sage 100 GL accounts (GL_Account over ODBC:
Account, AccountDesc, AccountType; inactive accounts left out). Reads are cached briefly per connection and
schema so an editor page and its suggestions cost one read each, not one per request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from django.core.cache import cache
from django.db import connection as db

from ai_copilot.accounts import Account
from integrations.core.errors import ConfigurationError, ConnectorError
from integrations.sync.models import Connection, Flow, System

CACHE_SECONDS = 300


class ChartUnavailable(Exception):
    """A chart could not be read; ``message`` says which and why, for the page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _cache_key(connection: Connection, what: str) -> str:
    where = hashlib.sha256(json.dumps([connection.base_url, connection.settings], sort_keys=True,
                                      default=str).encode()).hexdigest()[:16]
    return f"copilot:chart:{db.schema_name}:{connection.pk}:{where}:{what}"


def _cached(connection: Connection, what: str, read) -> list[Account]:
    key = _cache_key(connection, what)
    rows = cache.get(key)
    if rows is None:
        try:
            accounts = read()
        except ConnectorError as error:
            raise ChartUnavailable(f"{connection.name}: {error}") from error
        except Exception as error:  # an ODBC driver or network failure of any kind
            raise ChartUnavailable(f"{connection.name}: {error.__class__.__name__}: {error}") from error
        rows = [(a.code, a.name, a.type) for a in accounts]
        cache.set(key, rows, CACHE_SECONDS)
    return [Account(code, name, kind) for code, name, kind in rows]


def source_accounts(flow: Flow) -> list[Account]:
    """The flow's Kashflow nominal codes (bank and control accounts included: journals post to them)."""
    source = flow.source
    if source.system != System.KASHFLOW:
        raise ChartUnavailable(f"{source.name} is not a Kashflow connection; the co-pilot maps Kashflow nominals.")

    def read() -> list[Account]:
        from integrations.sync.connectors import kashflow_client_for

        with kashflow_client_for(source) as client:
            rows = list(client.nominals.list())
        out = []
        for row in rows:
            if row.get("Archived") in (True, 1, "true"):
                continue
            kind = row.get("Classification") or row.get("Type") or ""
            out.append(Account(str(row.get("Code")), str(row.get("Name") or ""), str(kind)))
        return out

    return _cached(source, "source", read)


def target_accounts(flow: Flow) -> list[Account]:
    """The flow's ERP chart: AX main accounts or active Sage 100 GL accounts, with their account types."""
    target = flow.target
    settings = target.settings or {}
    if not (settings.get("odbc") or settings.get("dsn")):
        raise ChartUnavailable(f"{target.name} has no ODBC/SQL settings, so its chart of accounts cannot be read.")
    if target.system == System.DYNAMICS_AX:
        def read() -> list[Account]:
            from integrations.dynamics_ax.sql import AxSqlReader

            with AxSqlReader.from_settings(settings) as reader:
                return [Account(str(r["MAINACCOUNTID"]), str(r.get("NAME") or ""), str(r.get("TYPE") or ""))
                        for r in reader.main_accounts()]
    elif target.system == System.SAGE100:
        def read() -> list[Account]:
            from integrations.sage100.odbc import SageOdbcReader

            with SageOdbcReader.from_settings(settings) as reader:
                rows = reader.read("GL_Account", ["Account", "AccountDesc", "AccountType", "Status"])
            return [Account(str(r["Account"]), str(r.get("AccountDesc") or ""), str(r.get("AccountType") or ""))
                    for r in rows if str(r.get("Status") or "A") == "A"]
    else:
        raise ConfigurationError(f"{target.name}: the co-pilot maps to Dynamics AX or Sage 100 accounts")
    return _cached(target, "target", read)


def digest(*charts: Sequence[Account], extra: object = None) -> str:
    """A stable digest of charts (and anything else a model was trained on), to tell a stale model."""
    material = json.dumps([[(a.code, a.name, a.type) for a in chart] for chart in charts] + [extra],
                          sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()
