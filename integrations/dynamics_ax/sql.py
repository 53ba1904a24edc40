"""Read-only access to the Dynamics AX 2012 database over ODBC (pyodbc): master data, settlement, change polling.

Why SQL next to AIF: AIF has no cheap "what changed" query without document filters and SQL change tracking
(reference §1.2, §6.3), and the paid state of an invoice is a settlement fact in CUSTTRANS (§8). The same SQL runs
against the AX SQL Server database and the sandbox's SQLite file behind the SQLite ODBC driver:

* every per-company query filters ``DATAAREAID`` (lower case, §6.1) and, on AX 2012 R2+, ``PARTITION`` (the
  RecId of the partition, "initial" by default; set ``partition_key`` to None for AX 2012 RTM);
* change polling walks ``(MODIFIEDDATETIME, RECID)`` as a keyset cursor (RECID breaks ties between rows stamped
  in the same millisecond) and re-reads a short look-back window, so rows committed late with an earlier stamp
  are not lost; RECVERSION (random on every update, never a cursor) tells a re-read row from a changed one;
* statements are SELECTs only, the connection is opened read-only and in autocommit, so it holds no locks or
  snapshots between calls.

Only tables whose ModifiedDateTime property is on in AX carry MODIFIEDDATETIME; polling a table without it
raises ConfigurationError.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from integrations.core.errors import ConfigurationError, ConnectorError, TransientError

log = logging.getLogger(__name__)

SYSTEM = "Dynamics AX"
EMPTY_DATE = date(1900, 1, 1)
CHUNK = 500  # SQL Server allows 2100 parameters per statement
# Tables change polling may walk, and whether they are per company (DATAAREAID) in AX 2012.
POLLABLE: dict[str, bool] = {
    "CUSTTABLE": True, "VENDTABLE": True, "DIRPARTYTABLE": False, "CUSTTRANS": True, "CUSTINVOICEJOUR": True,
    "CUSTSETTLEMENT": True, "LEDGERJOURNALTABLE": True, "LEDGERJOURNALTRANS": True, "INVENTTABLE": True,
    "INVENTSUM": True, "MAINACCOUNT": False, "LOGISTICSPOSTALADDRESS": False, "CUSTINVOICETABLE": True,
    "INVENTTABLEMODULE": True, "ECORESPRODUCTTRANSLATION": False,
}
_IDENTIFIER = re.compile(r"^[A-Z][A-Z0-9_]{0,80}$")
_TRANSIENT_SQLSTATES = {"08S01", "08001", "08004", "HYT00", "HYT01", "40001", "HY008"}


@dataclass(frozen=True)
class ChangeCursor:
    """Where change polling of one table stands: the last (MODIFIEDDATETIME, RECID) read, plus the rows seen in the
    look-back window (RECID, RECVERSION, MODIFIEDDATETIME) so a re-read is not reported twice."""

    modified: datetime | None = None
    recid: int = 0
    recent: tuple[tuple[int, int, str], ...] = ()

    def to_json(self) -> str:
        return json.dumps({"modified": self.modified.isoformat() if self.modified else None, "recid": self.recid,
                           "recent": [list(item) for item in self.recent]})

    @classmethod
    def from_json(cls, text: str | None) -> ChangeCursor:
        if not text:
            return cls()
        data = json.loads(text)
        modified = datetime.fromisoformat(data["modified"]) if data.get("modified") else None
        return cls(modified, int(data.get("recid") or 0), tuple(tuple(item) for item in data.get("recent", [])))


@dataclass
class ChangeBatch:
    rows: list[dict[str, Any]]
    cursor: ChangeCursor
    more: bool  # the keyset query was cut at the limit: poll again right away


@dataclass(frozen=True)
class InvoiceStatus:
    """The settlement state of a posted customer invoice (reference §8)."""

    invoice: str
    account: str
    currency: str
    amount: Decimal
    settled: Decimal
    due_date: date | None
    closed: date | None
    last_settled: date | None
    status: str  # paid | partially_paid | open

    @property
    def open_amount(self) -> Decimal:
        return self.amount - self.settled


@dataclass
class _Dialect:
    name: str

    @property
    def sql_server(self) -> bool:
        return self.name == "mssql"

    def top(self, limit: int) -> str:
        return f"TOP ({int(limit)}) " if self.sql_server else ""

    def limit(self, limit: int) -> str:
        return "" if self.sql_server else f" LIMIT {int(limit)}"

    def datetime_param(self) -> str:
        # SQL Server compares a datetime column exactly with a datetime value, not with pyodbc's datetime2.
        return "CAST(? AS DATETIME)" if self.sql_server else "?"


@dataclass
class AxSqlReader:
    """Read-only queries for one AX company; build with :meth:`from_settings` from a connection's settings."""

    connection_string: str
    company: str
    partition_key: str | None = "initial"
    timeout: int = 30
    connect: Callable[..., Any] | None = None
    _conn: Any = field(default=None, init=False, repr=False)
    _dialect: _Dialect | None = field(default=None, init=False, repr=False)
    _partition: int | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], **kwargs: Any) -> AxSqlReader:
        """``settings = {"odbc": "<connection string>", "company": "GBSI", "partition_key"?: "initial"}``."""
        odbc = settings.get("odbc")
        if not odbc:
            raise ConfigurationError("The AX connection has no ODBC connection string (settings 'odbc').",
                                     system=SYSTEM)
        company = settings.get("company")
        if not company:
            raise ConfigurationError("The AX connection has no company (legal entity) set.", system=SYSTEM)
        return cls(odbc, company, partition_key=settings.get("partition_key", "initial"), **kwargs)

    def __repr__(self) -> str:  # the connection string may hold a password
        return f"AxSqlReader(company={self.company!r}, partition_key={self.partition_key!r})"

    # -- connection ------------------------------------------------------------------------------------------
    @property
    def dataareaid(self) -> str:
        return self.company.lower()

    def open(self) -> AxSqlReader:
        if self._conn is None:
            connect = self.connect
            if connect is None:
                import pyodbc

                connect = pyodbc.connect
            try:
                self._conn = connect(self.connection_string, autocommit=True, readonly=True, timeout=self.timeout)
            except Exception as exc:  # noqa: BLE001 - pyodbc raises driver-specific subclasses of Error
                raise _odbc_error(exc, "connect to the AX database") from None
            self._dialect = _dialect_of(self._conn)
            self._partition = self._resolve_partition()
        return self

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> AxSqlReader:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self) -> dict[str, Any]:
        """Connection test: the database answers, the company exists."""
        companies = self.companies()
        if self.dataareaid not in [c.lower() for c in companies]:
            raise ConfigurationError(f"Company '{self.company}' is not in the AX database (it has "
                                     f"{', '.join(companies) or 'no companies'}).", system=SYSTEM)
        return {"dbms": self._dialect.name if self._dialect else "", "companies": companies,
                "company": self.company, "partition": self._partition}

    def companies(self) -> list[str]:
        return [row["ID"].upper() for row in self._query("SELECT ID FROM DATAAREA ORDER BY ID", [])]

    # -- master data -----------------------------------------------------------------------------------------
    def customers(self, accounts: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Customers of the company with name, primary postal address and primary e-mail / phone."""
        return self._parties("CUSTTABLE", "CUSTGROUP", accounts)

    def vendors(self, accounts: Sequence[str] | None = None) -> list[dict[str, Any]]:
        return self._parties("VENDTABLE", "VENDGROUP", accounts)

    def parties_of(self, table: str, party_recids: Sequence[int]) -> list[dict[str, Any]]:
        """Customers or vendors (``table`` CUSTTABLE / VENDTABLE) whose global address book party is one of
        ``party_recids`` — to follow a DIRPARTYTABLE change (a name change) to the account."""
        group = {"CUSTTABLE": "CUSTGROUP", "VENDTABLE": "VENDGROUP"}[table]
        return self._parties(table, group, None, party_recids=party_recids)

    def _parties(self, table: str, group: str, accounts: Sequence[str] | None, *,
                 party_recids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        now = datetime.now(UTC).replace(tzinfo=None)
        sql = (
            f"SELECT X.RECID, X.RECVERSION, X.MODIFIEDDATETIME, X.ACCOUNTNUM, X.{group} AS GROUPID, X.CURRENCY, "  # noqa: S608
            "X.BLOCKED, X.PAYMTERMID, X.VATNUM, X.INVOICEACCOUNT, X.PARTY, P.NAME, P.PARTYNUMBER, "
            "P.MODIFIEDDATETIME AS PARTYMODIFIEDDATETIME, A.STREET, A.CITY, A.STATE, A.ZIPCODE, A.COUNTRYREGIONID, "
            "E.LOCATOR AS EMAIL, H.LOCATOR AS PHONE "
            f"FROM {table} X JOIN DIRPARTYTABLE P ON P.RECID = X.PARTY "
            f"LEFT JOIN LOGISTICSPOSTALADDRESS A ON A.LOCATION = P.PRIMARYADDRESSLOCATION AND A.VALIDFROM <= "
            f"{self._d.datetime_param()} AND A.VALIDTO >= {self._d.datetime_param()} "
            "LEFT JOIN LOGISTICSELECTRONICADDRESS E ON E.RECID = P.PRIMARYCONTACTEMAIL "
            "LEFT JOIN LOGISTICSELECTRONICADDRESS H ON H.RECID = P.PRIMARYCONTACTPHONE "
            f"WHERE X.DATAAREAID = ?{self._partition_clause('X')}"
        )
        params: list[Any] = [now, now, self.dataareaid, *self._partition_params()]
        if party_recids is not None:
            return self._chunked(sql + " AND X.PARTY IN ({marks}) ORDER BY X.ACCOUNTNUM", params, party_recids)
        if accounts is not None:
            return self._chunked(sql + " AND X.ACCOUNTNUM IN ({marks}) ORDER BY X.ACCOUNTNUM", params, accounts)
        return self._query(sql + " ORDER BY X.ACCOUNTNUM", params)

    def items(self, item_ids: Sequence[str] | None = None, *,
              product_recids: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """Released items with product number, name and description (product translation), item group and
        sales price; ``product_recids`` selects the items released from those products (to follow an
        ECORESPRODUCTTRANSLATION change to the item)."""
        sql = (
            "SELECT I.RECID, I.RECVERSION, I.MODIFIEDDATETIME, I.ITEMID, I.ITEMTYPE, I.NAMEALIAS, "  # noqa: S608 - fixed SQL, values are parameters
            "I.PRIMARYVENDORID, P.DISPLAYPRODUCTNUMBER, T.NAME, T.DESCRIPTION, G.ITEMGROUPID, M.PRICE AS SALESPRICE, "
            "M.UNITID AS SALESUNIT FROM INVENTTABLE I JOIN ECORESPRODUCT P ON P.RECID = I.PRODUCT "
            "LEFT JOIN ECORESPRODUCTTRANSLATION T ON T.PRODUCT = P.RECID AND T.LANGUAGEID = 'en-us' "
            "LEFT JOIN INVENTITEMGROUPITEM G ON G.ITEMID = I.ITEMID AND G.ITEMDATAAREAID = I.DATAAREAID "
            "LEFT JOIN INVENTTABLEMODULE M ON M.ITEMID = I.ITEMID AND M.DATAAREAID = I.DATAAREAID AND "
            f"M.MODULETYPE = 2 WHERE I.DATAAREAID = ?{self._partition_clause('I')}"
        )
        params = [self.dataareaid, *self._partition_params()]
        if product_recids is not None:
            return self._chunked(sql + " AND I.PRODUCT IN ({marks}) ORDER BY I.ITEMID", params, product_recids)
        if item_ids is not None:
            return self._chunked(sql + " AND I.ITEMID IN ({marks}) ORDER BY I.ITEMID", params, item_ids)
        return self._query(sql + " ORDER BY I.ITEMID", params)

    def on_hand(self, item_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """On-hand stock per item over all inventory dimensions (INVENTSUM, open rows only)."""
        sql = (
            "SELECT S.ITEMID, SUM(S.PHYSICALINVENT) AS PHYSICALINVENT, SUM(S.RESERVPHYSICAL) AS RESERVPHYSICAL, "  # noqa: S608 - fixed SQL, values are parameters
            "SUM(S.AVAILPHYSICAL) AS AVAILPHYSICAL, SUM(S.ONORDER) AS ONORDER, MAX(S.MODIFIEDDATETIME) AS "
            f"MODIFIEDDATETIME FROM INVENTSUM S WHERE S.DATAAREAID = ? AND S.CLOSED = 0{self._partition_clause('S')}"
        )
        params = [self.dataareaid, *self._partition_params()]
        if item_ids is not None:
            rows = self._chunked(sql + " AND S.ITEMID IN ({marks}) GROUP BY S.ITEMID ORDER BY S.ITEMID", params,
                                 item_ids)
        else:
            rows = self._query(sql + " GROUP BY S.ITEMID ORDER BY S.ITEMID", params)
        for row in rows:  # aggregates lose the column types on some drivers
            for name in ("PHYSICALINVENT", "RESERVPHYSICAL", "AVAILPHYSICAL", "ONORDER"):
                row[name] = _money(row[name])
            row["MODIFIEDDATETIME"] = _datetime(row["MODIFIEDDATETIME"])
        return rows

    def main_accounts(self) -> list[dict[str, Any]]:
        """Main accounts of the company's chart of accounts (shared table, no DATAAREAID)."""
        return self._query(
            "SELECT M.RECID, M.MAINACCOUNTID, M.NAME, M.TYPE, M.MODIFIEDDATETIME FROM MAINACCOUNT M JOIN LEDGER L "  # noqa: S608 - fixed SQL, values are parameters
            "ON L.CHARTOFACCOUNTS = M.LEDGERCHARTOFACCOUNTS JOIN DIRPARTYTABLE C ON C.RECID = "
            f"L.PRIMARYFORLEGALENTITY WHERE C.DATAAREA = ?{self._partition_clause('M')} ORDER BY M.MAINACCOUNTID",
            [self.dataareaid, *self._partition_params()],
        )

    def journals_by_document_num(self, document_num: str) -> list[dict[str, Any]]:
        """General journals of the company carrying ``document_num`` (LEDGERJOURNALTABLE.DOCUMENTNUM), newest
        first: how a writer finds the JournalNum of a journal whose create answer was lost."""
        return self._query(
            "SELECT J.JOURNALNUM, J.NAME, J.POSTED, J.DOCUMENTNUM FROM LEDGERJOURNALTABLE J WHERE J.DATAAREAID = ? "  # noqa: S608 - fixed SQL, values are parameters
            f"AND J.DOCUMENTNUM = ?{self._partition_clause('J')} ORDER BY J.RECID DESC",
            [self.dataareaid, document_num, *self._partition_params()],
        )

    def dimension_values(self, attribute: str) -> list[dict[str, Any]]:
        """Values of a financial dimension (BusinessUnit, Department, CostCenter, ...) read from the backing
        view named in DIMENSIONATTRIBUTE.VIEWNAME (columns KEY_, VALUE, NAME)."""
        rows = self._query("SELECT VIEWNAME FROM DIMENSIONATTRIBUTE WHERE NAME = ?", [attribute])
        if not rows:
            raise ConfigurationError(f"AX has no financial dimension '{attribute}'.", system=SYSTEM)
        view = (rows[0]["VIEWNAME"] or "").upper()
        if not _IDENTIFIER.match(view):
            raise ConfigurationError(f"Dimension '{attribute}' has no readable backing view ({view!r}).",
                                     system=SYSTEM)
        return self._query(f"SELECT VALUE, NAME FROM {view} ORDER BY VALUE", [])  # noqa: S608

    def account_structure_dimensions(self) -> dict[str, list[str]]:
        """The values of every financial dimension the account structures use (``{"Department": ["022", ...]}``),
        for checking dimension values a mapping writes before anything is posted with them. The attributes are
        the levels of the account structures (DIMENSIONHIERARCHY type 1); the main account level is the chart of
        accounts (:meth:`main_accounts`), not a dimension. Each attribute's values come from its backing view."""
        rows = self._query(
            "SELECT DISTINCT A.NAME FROM DIMENSIONATTRIBUTE A JOIN DIMENSIONHIERARCHYLEVEL L ON L.DIMENSIONATTRIBUTE = "  # noqa: S608 - fixed SQL
            "A.RECID JOIN DIMENSIONHIERARCHY H ON H.RECID = L.DIMENSIONHIERARCHY WHERE H.STRUCTURETYPE = 1"
            f"{self._partition_clause('A')} ORDER BY A.NAME", self._partition_params())
        names = [str(row["NAME"]) for row in rows if str(row["NAME"]) != "MainAccount"]
        return {name: [str(value["VALUE"]) for value in self.dimension_values(name)] for name in names}

    # -- settlement ------------------------------------------------------------------------------------------
    def invoice_status(self, invoice_ids: Sequence[str], *, today: date | None = None) -> dict[str, InvoiceStatus]:
        """Paid / partially paid / open per invoice id, from the invoice's CUSTTRANS (AMOUNTCUR > 0)."""
        sql = (
            "SELECT T.INVOICE, T.ACCOUNTNUM, T.CURRENCYCODE, T.AMOUNTCUR, T.SETTLEAMOUNTCUR, T.DUEDATE, T.CLOSED, "  # noqa: S608 - fixed SQL, values are parameters
            "T.LASTSETTLEDATE FROM CUSTTRANS T WHERE T.DATAAREAID = ? AND T.AMOUNTCUR > 0"
            f"{self._partition_clause('T')} AND T.INVOICE IN ({{marks}})"
        )
        out = {}
        for row in self._chunked(sql, [self.dataareaid, *self._partition_params()], invoice_ids):
            amount, settled = _money(row["AMOUNTCUR"]), _money(row["SETTLEAMOUNTCUR"])
            status = "paid" if settled >= amount else ("partially_paid" if settled > 0 else "open")
            out[row["INVOICE"]] = InvoiceStatus(
                invoice=row["INVOICE"], account=row["ACCOUNTNUM"], currency=row["CURRENCYCODE"], amount=amount,
                settled=settled, due_date=_date(row["DUEDATE"]), closed=_date(row["CLOSED"]),
                last_settled=_date(row["LASTSETTLEDATE"]), status=status,
            )
        return out

    def open_transactions(self, account: str | None = None) -> list[dict[str, Any]]:
        """Open customer transactions (CUSTTRANSOPEN joined to CUSTTRANS): what a payment can still settle."""
        sql = (
            "SELECT T.RECID, T.ACCOUNTNUM, T.INVOICE, T.VOUCHER, T.TRANSDATE, O.DUEDATE, T.CURRENCYCODE, T.AMOUNTCUR, "  # noqa: S608 - fixed SQL, values are parameters
            "O.AMOUNTCUR AS OPENAMOUNTCUR FROM CUSTTRANSOPEN O JOIN CUSTTRANS T ON T.RECID = O.REFRECID "
            f"WHERE O.DATAAREAID = ?{self._partition_clause('O')}"
        )
        params: list[Any] = [self.dataareaid, *self._partition_params()]
        if account is not None:
            sql += " AND O.ACCOUNTNUM = ?"
            params.append(account)
        return self._query(sql + " ORDER BY O.DUEDATE, T.RECID", params)

    def invoice_headers(self, *, recids: Sequence[int] = (), customer_refs: Sequence[str] = (),
                        invoice_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Free-text invoice headers (CUSTINVOICETABLE) by RecId, CustomerRef or invoice id: the account, the
        currency and, once posted, the invoice id a payment can settle (``MarkedInvoice``)."""
        base = (
            "SELECT H.RECID, H.CUSTOMERREF, H.ORDERACCOUNT, H.INVOICEACCOUNT, H.CURRENCYCODE, H.INVOICEID, "  # noqa: S608 - fixed SQL, values are parameters
            f"H.POSTED FROM CUSTINVOICETABLE H WHERE H.DATAAREAID = ?{self._partition_clause('H')}"
        )
        params = [self.dataareaid, *self._partition_params()]
        rows: dict[int, dict[str, Any]] = {}
        for column, values in (("RECID", recids), ("CUSTOMERREF", customer_refs), ("INVOICEID", invoice_ids)):
            if values:
                for row in self._chunked(base + f" AND H.{column} IN ({{marks}})", list(params), list(values)):
                    rows[row["RECID"]] = row
        return [rows[key] for key in sorted(rows)]

    def journal_lines(self, column: str, values: Sequence[str]) -> list[dict[str, Any]]:
        """Journal lines (LEDGERJOURNALTRANS with their journal's name, type and posted flag) whose
        ``column`` (PAYMREFERENCE, DOCUMENTNUM or INVOICE) is one of ``values``: how a writer finds what an
        earlier message of its own created (AIF journals have no find operation)."""
        if column not in {"PAYMREFERENCE", "DOCUMENTNUM", "INVOICE"}:
            raise ValueError("column must be PAYMREFERENCE, DOCUMENTNUM or INVOICE")
        if not values:
            return []
        sql = (
            "SELECT L.JOURNALNUM, L.LINENUM, L.VOUCHER, L.PAYMREFERENCE, L.DOCUMENTNUM, L.INVOICE, L.MARKEDINVOICE, "  # noqa: S608 - fixed SQL, values are parameters
            "L.AMOUNTCURDEBIT, L.AMOUNTCURCREDIT, L.CURRENCYCODE, L.TRANSDATE, J.JOURNALNAME, J.JOURNALTYPE, J.POSTED "
            "FROM LEDGERJOURNALTRANS L JOIN LEDGERJOURNALTABLE J ON J.DATAAREAID = L.DATAAREAID AND "
            f"J.JOURNALNUM = L.JOURNALNUM WHERE L.DATAAREAID = ?{self._partition_clause('L')} "
            f"AND L.{column} IN ({{marks}})"
        )
        return self._chunked(sql, [self.dataareaid, *self._partition_params()], list(values))

    def invoice_settlements(self, invoice_ids: Sequence[str]) -> list[dict[str, Any]]:
        """What settled each invoice (CUSTSETTLEMENT on the invoice's CUSTTRANS, joined to the offset
        transaction): amount, date, the offset voucher and the payment's own PAYMREFERENCE / PAYMMODE."""
        sql = (
            "SELECT I.INVOICE, I.ACCOUNTNUM, I.CURRENCYCODE, S.RECID AS SETTLEMENTRECID, S.SETTLEAMOUNTCUR, "  # noqa: S608 - fixed SQL, values are parameters
            "S.TRANSDATE, S.OFFSETTRANSVOUCHER, P.PAYMREFERENCE, P.PAYMMODE, P.TRANSTYPE AS OFFSETTRANSTYPE "
            "FROM CUSTSETTLEMENT S JOIN CUSTTRANS I ON I.RECID = S.TRANSRECID JOIN CUSTTRANS P ON "
            f"P.RECID = S.OFFSETRECID WHERE S.DATAAREAID = ?{self._partition_clause('S')} AND I.AMOUNTCUR > 0 "
            "AND I.INVOICE IN ({marks})"
        )
        rows = self._chunked(sql, [self.dataareaid, *self._partition_params()], list(invoice_ids))
        for row in rows:
            row["SETTLEAMOUNTCUR"] = _money(row["SETTLEAMOUNTCUR"])
            row["TRANSDATE"] = _date(row["TRANSDATE"])
        return sorted(rows, key=lambda r: (r["INVOICE"], r["SETTLEMENTRECID"]))

    def free_text_invoices(self, *, recids: Sequence[int] = (), date_from: date | None = None,
                           date_to: date | None = None) -> list[dict[str, Any]]:
        """Free-text invoice headers (CUSTINVOICETABLE) by RecId and/or invoice date, with what posting made of
        them (CUSTINVOICEJOUR: INVOICEAMOUNT, SUMTAX; empty while unposted). For reconciliation: the RecId is
        the key AIF returned on create, CUSTOMERREF the natural key of the source document."""
        sql = (
            "SELECT H.RECID, H.CUSTOMERREF, H.ORDERACCOUNT, H.INVOICEACCOUNT, H.CURRENCYCODE, H.INVOICEDATE, "  # noqa: S608 - fixed SQL, values are parameters
            "H.POSTED, H.INVOICEID, J.INVOICEAMOUNT, J.SUMTAX, J.INVOICEDATE AS POSTEDDATE "
            "FROM CUSTINVOICETABLE H LEFT JOIN CUSTINVOICEJOUR J ON J.DATAAREAID = H.DATAAREAID AND "
            f"J.INVOICEID = H.INVOICEID AND J.INVOICEDATE = H.INVOICEDATE{self._partition_clause('J')} "
            f"WHERE H.DATAAREAID = ?{self._partition_clause('H')}"
        )
        params: list[Any] = [*self._partition_params(), self.dataareaid, *self._partition_params()]
        found: dict[int, dict[str, Any]] = {}
        if recids:
            for row in self._chunked(sql + " AND H.RECID IN ({marks})", params, [int(r) for r in recids]):
                found[int(row["RECID"])] = row
        if date_from is not None and date_to is not None:
            dt = self._d.datetime_param()
            for row in self._query(sql + f" AND H.INVOICEDATE >= {dt} AND H.INVOICEDATE < {dt}",
                                   [*params, date_from.isoformat(), (date_to + timedelta(days=1)).isoformat()]):
                found[int(row["RECID"])] = row
        return [found[recid] for recid in sorted(found)]

    # -- change polling --------------------------------------------------------------------------------------
    def changes(self, table: str, cursor: ChangeCursor | None = None, *, limit: int = 500,
                overlap: timedelta = timedelta(seconds=5), columns: Sequence[str] = ("*",)) -> ChangeBatch:
        """Rows of ``table`` changed after ``cursor`` (oldest first), and the cursor to store for the next poll."""
        table = table.upper()
        if table not in POLLABLE:
            raise ConfigurationError(f"Change polling is not set up for table {table}.", system=SYSTEM)
        if any(not (c == "*" or _IDENTIFIER.match(c)) for c in columns):
            raise ValueError("columns must be plain AX column names")
        cursor = cursor or ChangeCursor()
        select = ", ".join(columns)
        if "*" not in columns:
            select = ", ".join(dict.fromkeys(["RECID", "RECVERSION", "MODIFIEDDATETIME", *columns]))
        company, params = self._scope(table)
        after = ""
        if cursor.modified is not None:
            dt = self._d.datetime_param()
            after = f" AND (MODIFIEDDATETIME > {dt} OR (MODIFIEDDATETIME = {dt} AND RECID > ?))"
            params += [_ms(cursor.modified), _ms(cursor.modified), cursor.recid]
        rows = self._query(f"SELECT {self._d.top(limit)}{select} FROM {table} WHERE {company}{after} "  # noqa: S608
                           f"ORDER BY MODIFIEDDATETIME, RECID{self._d.limit(limit)}", params)
        late = self._late_rows(table, select, cursor, overlap, {row["RECID"] for row in rows})
        return ChangeBatch(late + rows, _next_cursor(cursor, late + rows, rows, overlap), len(rows) >= limit)

    def _late_rows(self, table: str, select: str, cursor: ChangeCursor, overlap: timedelta,
                   exclude: set[int]) -> list[dict[str, Any]]:
        """Rows in the look-back window before the cursor that were not seen (late commits) or changed again."""
        if cursor.modified is None:
            return []
        company, params = self._scope(table)
        dt = self._d.datetime_param()
        params += [_ms(cursor.modified - overlap), _ms(cursor.modified)]
        seen = {recid: version for recid, version, _modified in cursor.recent}
        rows = self._query(f"SELECT {select} FROM {table} WHERE {company} AND MODIFIEDDATETIME >= {dt} AND "  # noqa: S608
                           f"MODIFIEDDATETIME <= {dt} ORDER BY MODIFIEDDATETIME, RECID", params)
        return [row for row in rows if row["RECID"] not in exclude and seen.get(row["RECID"]) != row["RECVERSION"]
                and (row["MODIFIEDDATETIME"], row["RECID"]) <= (cursor.modified, cursor.recid)]

    # -- plumbing --------------------------------------------------------------------------------------------
    @property
    def _d(self) -> _Dialect:
        self.open()
        assert self._dialect is not None  # noqa: S101 - set by open()
        return self._dialect

    def _scope(self, table: str) -> tuple[str, list[Any]]:
        clauses, params = ["1=1"], []
        if POLLABLE.get(table, True):
            clauses.append("DATAAREAID = ?")
            params.append(self.dataareaid)
        if self._partition is not None:
            clauses.append("PARTITION = ?")
            params.append(self._partition)
        return " AND ".join(clauses), params

    def _partition_clause(self, alias: str) -> str:
        self.open()
        return f" AND {alias}.PARTITION = ?" if self._partition is not None else ""

    def _partition_params(self) -> list[Any]:
        self.open()
        return [self._partition] if self._partition is not None else []

    def _resolve_partition(self) -> int | None:
        if not self.partition_key:
            return None
        rows = self._query("SELECT RECID FROM PARTITIONS WHERE PARTITIONKEY = ?", [self.partition_key])
        if not rows:
            raise ConfigurationError(f"The AX database has no partition '{self.partition_key}'.", system=SYSTEM)
        return int(rows[0]["RECID"])

    def _chunked(self, sql: str, params: list[Any], values: Sequence[Any]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        values = list(dict.fromkeys(values))
        for start in range(0, len(values), CHUNK):
            chunk = values[start:start + CHUNK]
            rows.extend(self._query(sql.format(marks=", ".join("?" * len(chunk))), [*params, *chunk]))
        return rows

    def _query(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        self.open()
        try:
            cursor = self._conn.cursor()
            try:
                cursor.execute(sql, list(params))
                names = [column[0].upper() for column in cursor.description]
                return [dict(zip(names, _normalise(row), strict=True)) for row in cursor.fetchall()]
            finally:
                cursor.close()
        except ConnectorError:
            raise
        except Exception as exc:  # noqa: BLE001 - pyodbc raises driver-specific subclasses of Error
            raise _odbc_error(exc, "read the AX database") from None


def _next_cursor(cursor: ChangeCursor, returned: list[dict[str, Any]], keyset: list[dict[str, Any]],
                 overlap: timedelta) -> ChangeCursor:
    modified, recid = cursor.modified, cursor.recid
    if keyset:
        modified, recid = keyset[-1]["MODIFIEDDATETIME"], keyset[-1]["RECID"]
    if modified is None:
        return cursor
    floor = modified - overlap
    recent = {item[0]: item for item in cursor.recent if datetime.fromisoformat(item[2]) >= floor}
    for row in returned:
        if row["MODIFIEDDATETIME"] >= floor:
            recent[row["RECID"]] = (row["RECID"], row["RECVERSION"], row["MODIFIEDDATETIME"].isoformat())
    return ChangeCursor(modified, recid, tuple(recent.values()))


def _dialect_of(conn: Any) -> _Dialect:
    try:
        import pyodbc

        name = str(conn.getinfo(pyodbc.SQL_DBMS_NAME))
    except Exception:  # noqa: BLE001 - a test double or an exotic driver
        name = ""
    return _Dialect("mssql" if "sql server" in name.lower() else "sqlite" if "sqlite" in name.lower() else "other")


def _normalise(row: Sequence[Any]) -> Iterator[Any]:
    for value in row:
        if isinstance(value, float):
            yield _money(value)
        else:
            yield value


def _money(value: Any) -> Decimal:
    """SQL Server numeric(32,16) arrives as Decimal, SQLite NUMERIC as float: both become Decimal to 1/10^6."""
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(round(float(value), 6))).normalize() if value else Decimal(0)


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _date(value: Any) -> date | None:
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    return None if day == EMPTY_DATE else day


def _ms(moment: datetime) -> datetime:
    """Cursor values to millisecond precision (AX datetime columns hold ~3 ms)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=None)


def _odbc_error(exc: Exception, what: str) -> ConnectorError:
    state = str(exc.args[0]) if exc.args else ""
    text = str(exc.args[1] if len(exc.args) > 1 else exc)[:300]
    if state in _TRANSIENT_SQLSTATES or "timeout" in text.lower() or "locked" in text.lower():
        return TransientError(f"Could not {what} ({state or exc.__class__.__name__}); will retry.", system=SYSTEM,
                              code=state, details=[text])
    return ConfigurationError(f"Could not {what} ({state or exc.__class__.__name__}): {text}", system=SYSTEM,
                              code=state)
