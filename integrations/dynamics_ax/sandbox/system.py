"""The Dynamics AX sandbox as the control plane sees it (``integrations.core.sandbox.SandboxSystem``).

One instance is one AX installation: an SQLite file ``ax.sqlite3`` (WAL mode, AX table names) holding the
companies GBSI (the UK legal entity Ledgerbridge connects to) and USMF, served by one enhanced inbound port
``LedgerbridgeServices``. ``sandbox.json`` next to it keeps the port settings of the instance.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

from integrations.core.sandbox import SharedParty

from .app import AxSandbox, create_app
from .generate import generate
from .seed import DEFAULT_CUSTOMER_COMPANY, ISO2
from .store import AxStore

DATABASE = "ax.sqlite3"
SETTINGS = "sandbox.json"
PORT_NAME = "LedgerbridgeServices"
ODBC_DRIVER = "SQLite3"  # registered in /etc/odbcinst.ini by the libsqliteodbc package
COUNTED = ("CUSTTABLE", "VENDTABLE", "DIRPARTYTABLE", "INVENTTABLE", "INVENTSUM", "CUSTINVOICEJOUR",
           "CUSTINVOICETRANS", "CUSTTRANS", "CUSTTRANSOPEN", "CUSTSETTLEMENT", "LEDGERJOURNALTABLE",
           "LEDGERJOURNALTRANS", "CUSTINVOICETABLE", "CUSTINVOICELINE", "MAINACCOUNT", "AIFMESSAGELOG")


class DynamicsAxSandbox:
    name = "dynamics_ax"
    label = "Dynamics AX 2012"
    company = DEFAULT_CUSTOMER_COMPANY

    def new_credentials(self) -> dict[str, Any]:
        return {"username": f"CONTOSO\\svc-ledgerbridge-{secrets.token_hex(2)}",
                "password": secrets.token_urlsafe(18)}

    def seed(self, folder: Path, credentials: dict[str, Any], *, size: int, rng_seed: int = 0,
             parties: list[SharedParty] | None = None, today: date | None = None) -> dict[str, int]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        store = AxStore(str(folder / DATABASE))
        try:
            counts = generate(store, size=size, rng_seed=rng_seed, today=today, parties=parties)
            store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            store.close()
        (folder / SETTINGS).write_text(json.dumps({
            "port_name": PORT_NAME, "company": self.company, "auto_post": True, "truncate_long_strings": False,
            "include_exceptions_in_fault": True,
        }, indent=2))
        return counts

    def parties(self, folder: Path) -> list[SharedParty]:
        """GBSI customers and vendors (AX is master for parties), with their primary address and contacts."""
        with _read_only(Path(folder) / DATABASE) as db:
            rows = db.execute(_PARTIES_SQL, (self.company.lower(), self.company.lower())).fetchall()
        parties = []
        for row in rows:
            lines = [line for line in (row["STREET"], row["CITY"]) if line]
            parties.append(SharedParty(
                code=row["ACCOUNTNUM"], name=row["NAME"], kind=row["KIND"], address_lines=lines,
                postcode=row["ZIPCODE"] or "", country=ISO2.get(row["COUNTRYREGIONID"] or "", "GB"),
                currency=row["CURRENCY"], email=row["EMAIL"] or "", phone=row["PHONE"] or "",
            ))
        return parties

    def make_app(self, folder: Path, credentials: dict[str, Any]) -> AxSandbox:
        settings = self._settings(Path(folder))
        store = AxStore(str(Path(folder) / DATABASE))
        return create_app(
            store, port_name=settings.get("port_name", PORT_NAME),
            users={credentials["username"]: credentials["password"]},
            include_exceptions_in_fault=settings.get("include_exceptions_in_fault", True),
            auto_post=settings.get("auto_post", True),
            truncate_long_strings=settings.get("truncate_long_strings", False),
            default_company=settings.get("company", self.company),
        )

    def close_app(self, app: AxSandbox) -> None:
        app.store.close()

    def inspect(self, folder: Path) -> dict[str, Any]:
        path = Path(folder) / DATABASE
        if not path.exists():
            return {}
        with _read_only(path) as db:
            counts: dict[str, Any] = {table.lower(): db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
                                      for table in COUNTED}
            counts["companies"] = [row[0].upper() for row in db.execute("SELECT ID FROM DATAAREA ORDER BY RECID")]
            counts["unposted"] = db.execute(
                "SELECT (SELECT COUNT(*) FROM CUSTINVOICETABLE WHERE POSTED = 0) + "
                "(SELECT COUNT(*) FROM LEDGERJOURNALTABLE WHERE POSTED = 0)").fetchone()[0]
        return counts

    def connection_fields(self, root_url: str, folder: Path, credentials: dict[str, Any]) -> dict[str, Any]:
        settings = self._settings(Path(folder))
        database = (Path(folder) / DATABASE).resolve()
        return {
            "base_url": f"{root_url.rstrip('/')}/MicrosoftDynamicsAXAif60/{settings.get('port_name', PORT_NAME)}"
                        "/xppservice.svc",
            "username": credentials["username"],
            "password": credentials["password"],
            "settings": {
                "company": settings.get("company", self.company),
                "auth": "basic",
                "odbc": odbc_connection_string(database),
            },
        }

    @staticmethod
    def _settings(folder: Path) -> dict[str, Any]:
        path = folder / SETTINGS
        return json.loads(path.read_text()) if path.exists() else {}


def odbc_connection_string(database: Path) -> str:
    """ODBC connection string of an instance database (``NoCreat`` so a wrong path fails instead of creating an
    empty database)."""
    return f"Driver={ODBC_DRIVER};Database={database};NoCreat=1"


class _read_only:  # noqa: N801 - used like a function in ``with``
    """A read-only SQLite connection (does not create the file, does not block the app's writer)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        self.db.row_factory = sqlite3.Row

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.db.close()


_PARTIES_SQL = """
SELECT X.ACCOUNTNUM, X.CURRENCY, X.KIND, P.NAME, A.STREET, A.CITY, A.ZIPCODE, A.COUNTRYREGIONID,
       (SELECT LOCATOR FROM LOGISTICSELECTRONICADDRESS WHERE RECID = P.PRIMARYCONTACTEMAIL) AS EMAIL,
       (SELECT LOCATOR FROM LOGISTICSELECTRONICADDRESS WHERE RECID = P.PRIMARYCONTACTPHONE) AS PHONE
FROM (SELECT ACCOUNTNUM, CURRENCY, PARTY, 'customer' AS KIND, 0 AS ORD FROM CUSTTABLE WHERE DATAAREAID = ?
      UNION ALL
      SELECT ACCOUNTNUM, CURRENCY, PARTY, 'supplier' AS KIND, 1 AS ORD FROM VENDTABLE WHERE DATAAREAID = ?) X
JOIN DIRPARTYTABLE P ON P.RECID = X.PARTY
LEFT JOIN LOGISTICSPOSTALADDRESS A ON A.LOCATION = P.PRIMARYADDRESSLOCATION
ORDER BY X.ORD, X.ACCOUNTNUM
"""

SYSTEM = DynamicsAxSandbox()
