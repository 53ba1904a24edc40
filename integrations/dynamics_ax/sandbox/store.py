"""SQLite state of the AX 2012 sandbox, using AX table and column names.

Why AX names: the read side of the connector (``integrations/dynamics_ax/sql.py``) queries these tables over ODBC
(SQLite ODBC driver) with the same SQL it runs against the AX SQL Server database. Conventions copied from AX
(reference §6.1):

* every row has RECID (bigint, allocated per table from SYSTEMSEQUENCES starting at 5637144576 — start value
  inferred), RECVERSION (1 on insert, random on every update) and PARTITION (RecId of the "initial" PARTITIONS
  row, R2+), plus CREATEDDATETIME / MODIFIEDDATETIME (UTC, millisecond text);
* per-company tables carry DATAAREAID in **lowercase**; shared tables (MAINACCOUNT, DIRPARTYTABLE, DIMENSION*,
  CURRENCY, LOGISTICS*, ECORESPRODUCT*) have none;
* foreign keys point at RECID (CUSTTABLE.PARTY, CUSTINVOICELINE.PARENTRECID, …LEDGERDIMENSION,
  …DEFAULTDIMENSION, CUSTTRANSOPEN.REFRECID, CUSTSETTLEMENT.TRANSRECID/OFFSETRECID);
* enums are stored as integers (the AX enum values), dates as ``YYYY-MM-DD`` text (AX's "empty" date is
  1900-01-01), money as NUMERIC(32,16).

The database runs in WAL mode so ODBC readers see committed data while the app writes. Simplifications
(differences from a real AX database) are listed in ``SIMPLIFICATIONS`` for the docs.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FIRST_RECID = 5637144576
EMPTY_DATE = "1900-01-01"
MAX_DATE = "2154-12-31"

SIMPLIFICATIONS = [
    "RecIds come from one SYSTEMSEQUENCES row per table starting at 5637144576 (real AX allocates blocks per"
    " AOS; TABID values are sandbox numbers, not AX table ids).",
    "Every table has CREATEDDATETIME and MODIFIEDDATETIME (UTC, 'YYYY-MM-DD HH:MM:SS.fff'); in real AX these "
    "columns exist only where the table's CreatedDateTime/ModifiedDateTime properties are switched on.",
    "Legal entities are DIRPARTYTABLE rows with DATAAREA set (CompanyInfo lives in the DirPartyTable hierarchy, "
    "as in AX) and LEDGER.PRIMARYFORLEGALENTITY points at them; INSTANCERELATIONTYPE values are sandbox numbers.",
    "Dimension values live in DIMENSIONATTRIBUTEVALUE with DISPLAYVALUE and DESCRIPTION columns (D365-style); "
    "real AX 2012 keeps only ENTITYINSTANCE pointing into the backing entity (operating units, financial tags). "
    "The backing views DIMATTRIBUTEOMBUSINESSUNIT / ...OMDEPARTMENT / ...OMCOSTCENTER (KEY_, VALUE, NAME) exist "
    "as SQL views over that table, so a reader that goes through DIMENSIONATTRIBUTE.VIEWNAME works on both.",
    "One account structure (DIMENSIONHIERARCHY 'Manufacturing P&L') applies to every main account; no "
    "advanced rules.",
    "Number sequences are rows of NUMBERSEQUENCETABLE with a DATAAREAID column (AX 2012 scopes them through "
    "NUMBERSEQUENCESCOPE) and a FORMAT such as 'GB-####'.",
    "AIFMESSAGELOG is a simplified message log (AX has AifMessageLog/AifDocumentLog with more columns); "
    "ENTITYKEYS holds the produced keys as 'Field=Value;...' text.",
    "Amounts are SQLite NUMERIC (read back as floating point); AX uses numeric(32,16).",
    "Sales tax: only TAXTABLE/TAXDATA/TAXGROUPHEADING/TAXGROUPDATA/TAXITEMGROUPHEADING/TAXONITEM/TAXTRANS with "
    "the columns posting needs; tax is computed per line and rounded per line to 0.01 (half up), no tax "
    "authorities, settlement periods, rounding rules per code or tax on journal lines.",
    "No GENERALJOURNALENTRY / GENERALJOURNALACCOUNTENTRY (posted general ledger): posting a journal marks it "
    "posted and writes customer transactions and settlements only.",
]

_STAMPS = "CREATEDDATETIME DATETIME, MODIFIEDDATETIME DATETIME"
_SYS = (f"RECID BIGINT PRIMARY KEY, RECVERSION INTEGER NOT NULL DEFAULT 1, PARTITION BIGINT NOT NULL DEFAULT 0, "
        f"{_STAMPS}")
_CO = "DATAAREAID NVARCHAR(4) NOT NULL"
_MONEY = "NUMERIC(32,16) NOT NULL DEFAULT 0"
_DATE = f"DATE NOT NULL DEFAULT '{EMPTY_DATE}'"


@dataclass(frozen=True)
class Table:
    """One AX table: its business columns (system columns are added), and whether it is per company."""

    name: str
    columns: str
    company: bool = False
    unique: str = ""


TABLES: tuple[Table, ...] = (
    Table("PARTITIONS", "PARTITIONKEY NVARCHAR(8) NOT NULL UNIQUE, NAME NVARCHAR(60)"),
    Table("DATAAREA", "ID NVARCHAR(4) NOT NULL UNIQUE, NAME NVARCHAR(40), ISVIRTUAL INTEGER NOT NULL DEFAULT 0, "
          "ALWAYSNATIVE INTEGER NOT NULL DEFAULT 0"),
    Table("LEDGER", "NAME NVARCHAR(20) NOT NULL, DESCRIPTION NVARCHAR(60), ACCOUNTINGCURRENCY NVARCHAR(3) NOT NULL, "
          "REPORTINGCURRENCY NVARCHAR(3), CHARTOFACCOUNTS BIGINT, PRIMARYFORLEGALENTITY BIGINT"),
    Table("CURRENCY", "CURRENCYCODE NVARCHAR(3) NOT NULL UNIQUE, TXT NVARCHAR(120)"),
    Table("PAYMTERM", "PAYMTERMID NVARCHAR(10) NOT NULL, DESCRIPTION NVARCHAR(60), NUMOFDAYS INTEGER NOT NULL "
          "DEFAULT 0", company=True, unique="PAYMTERMID"),
    Table("LEDGERCHARTOFACCOUNTS", "NAME NVARCHAR(60) NOT NULL UNIQUE, DESCRIPTION NVARCHAR(60)"),
    Table("MAINACCOUNT", "MAINACCOUNTID NVARCHAR(20) NOT NULL, NAME NVARCHAR(60), TYPE INTEGER NOT NULL DEFAULT 0, "
          "LEDGERCHARTOFACCOUNTS BIGINT NOT NULL, CURRENCYCODE NVARCHAR(3) DEFAULT '', "
          "UNIQUE (LEDGERCHARTOFACCOUNTS, MAINACCOUNTID)"),
    Table("DIMENSIONATTRIBUTE", "NAME NVARCHAR(30) NOT NULL UNIQUE, TYPE INTEGER NOT NULL DEFAULT 0, "
          "BACKINGENTITYTYPE INTEGER NOT NULL DEFAULT 0, VIEWNAME NVARCHAR(40) DEFAULT ''"),
    Table("DIMENSIONATTRIBUTEVALUE", "DIMENSIONATTRIBUTE BIGINT NOT NULL, ENTITYINSTANCE BIGINT NOT NULL DEFAULT 0, "
          "DISPLAYVALUE NVARCHAR(30) NOT NULL, DESCRIPTION NVARCHAR(60), ISDELETED INTEGER NOT NULL DEFAULT 0, "
          "ISSUSPENDED INTEGER NOT NULL DEFAULT 0, ISBLOCKEDFORMANUALENTRY INTEGER NOT NULL DEFAULT 0, "
          "UNIQUE (DIMENSIONATTRIBUTE, DISPLAYVALUE)"),
    Table("DIMENSIONHIERARCHY", "NAME NVARCHAR(60) NOT NULL UNIQUE, STRUCTURETYPE INTEGER NOT NULL DEFAULT 1, "
          "DESCRIPTION NVARCHAR(60)"),
    Table("DIMENSIONHIERARCHYLEVEL", "DIMENSIONHIERARCHY BIGINT NOT NULL, LEVEL_ INTEGER NOT NULL, "
          "DIMENSIONATTRIBUTE BIGINT NOT NULL"),
    Table("DIMENSIONATTRIBUTEVALUESET", "HASH NVARCHAR(40) NOT NULL UNIQUE"),
    Table("DIMENSIONATTRIBUTEVALUESETITEM", "DIMENSIONATTRIBUTEVALUESET BIGINT NOT NULL, "
          "DIMENSIONATTRIBUTEVALUE BIGINT NOT NULL, DISPLAYVALUE NVARCHAR(30) NOT NULL"),
    Table("DIMENSIONATTRIBUTEVALUECOMBINATION", "DISPLAYVALUE NVARCHAR(500) NOT NULL, MAINACCOUNT BIGINT NOT NULL, "
          "ACCOUNTSTRUCTURE BIGINT NOT NULL DEFAULT 0, LEDGERDIMENSIONTYPE INTEGER NOT NULL DEFAULT 0, "
          "HASH NVARCHAR(40) NOT NULL UNIQUE"),
    Table("NUMBERSEQUENCETABLE", "NUMBERSEQUENCE NVARCHAR(20) NOT NULL, TXT NVARCHAR(60), FORMAT NVARCHAR(40) "
          "NOT NULL, NEXTREC BIGINT NOT NULL DEFAULT 1, LOWEST BIGINT NOT NULL DEFAULT 1, HIGHEST BIGINT NOT NULL "
          "DEFAULT 999999", company=True, unique="NUMBERSEQUENCE"),
    Table("CUSTGROUP", "CUSTGROUP NVARCHAR(10) NOT NULL, NAME NVARCHAR(60), PAYMTERMID NVARCHAR(10) DEFAULT ''",
          company=True, unique="CUSTGROUP"),
    Table("VENDGROUP", "VENDGROUP NVARCHAR(10) NOT NULL, NAME NVARCHAR(60), PAYMTERMID NVARCHAR(10) DEFAULT ''",
          company=True, unique="VENDGROUP"),
    Table("DIRPARTYTABLE", "NAME NVARCHAR(100) NOT NULL, NAMEALIAS NVARCHAR(20) DEFAULT '', KNOWNAS NVARCHAR(100) "
          "DEFAULT '', PARTYNUMBER NVARCHAR(40) NOT NULL UNIQUE, LANGUAGEID NVARCHAR(7) DEFAULT 'en-us', "
          "INSTANCERELATIONTYPE INTEGER NOT NULL DEFAULT 0, PRIMARYADDRESSLOCATION BIGINT NOT NULL DEFAULT 0, "
          "PRIMARYCONTACTEMAIL BIGINT NOT NULL DEFAULT 0, PRIMARYCONTACTPHONE BIGINT NOT NULL DEFAULT 0, "
          "ORGNUMBER NVARCHAR(20) DEFAULT '', DATAAREA NVARCHAR(4) DEFAULT ''"),
    Table("LOGISTICSADDRESSCOUNTRYREGION", "COUNTRYREGIONID NVARCHAR(10) NOT NULL UNIQUE, ISOCODE NVARCHAR(2) "
          "DEFAULT '', SHORTNAME NVARCHAR(60) DEFAULT ''"),
    Table("LOGISTICSLOCATION", "DESCRIPTION NVARCHAR(60), LOCATIONID NVARCHAR(30) NOT NULL UNIQUE, "
          "ISPOSTALADDRESS INTEGER NOT NULL DEFAULT 1"),
    Table("LOGISTICSPOSTALADDRESS", "LOCATION BIGINT NOT NULL, STREET NVARCHAR(250) DEFAULT '', CITY NVARCHAR(60) "
          "DEFAULT '', STATE NVARCHAR(10) DEFAULT '', COUNTY NVARCHAR(10) DEFAULT '', ZIPCODE NVARCHAR(10) DEFAULT '',"
          " COUNTRYREGIONID NVARCHAR(10) DEFAULT '', ADDRESS NVARCHAR(250) DEFAULT '', VALIDFROM DATETIME, "
          "VALIDTO DATETIME"),
    Table("LOGISTICSELECTRONICADDRESS", "LOCATION BIGINT NOT NULL, TYPE INTEGER NOT NULL DEFAULT 0, "
          "LOCATOR NVARCHAR(255) DEFAULT '', DESCRIPTION NVARCHAR(60) DEFAULT '', ISPRIMARY INTEGER NOT NULL "
          "DEFAULT 0"),
    Table("LOGISTICSLOCATIONROLE", "NAME NVARCHAR(60) NOT NULL UNIQUE, TYPE INTEGER NOT NULL DEFAULT 0, "
          "ISPOSTALADDRESS INTEGER NOT NULL DEFAULT 1, ISCONTACTINFO INTEGER NOT NULL DEFAULT 1"),
    Table("DIRPARTYLOCATION", "PARTY BIGINT NOT NULL, LOCATION BIGINT NOT NULL, ISPRIMARY INTEGER NOT NULL DEFAULT 0,"
          " ISPOSTALADDRESS INTEGER NOT NULL DEFAULT 1, ISLOCATIONOWNER INTEGER NOT NULL DEFAULT 1"),
    Table("DIRPARTYLOCATIONROLE", "PARTYLOCATION BIGINT NOT NULL, LOCATIONROLE BIGINT NOT NULL"),
    Table("CUSTTABLE", "ACCOUNTNUM NVARCHAR(20) NOT NULL, PARTY BIGINT NOT NULL, CUSTGROUP NVARCHAR(10) NOT NULL, "
          "CURRENCY NVARCHAR(3) NOT NULL, PAYMTERMID NVARCHAR(10) DEFAULT '', PAYMMODE NVARCHAR(10) DEFAULT '', "
          "INVOICEACCOUNT NVARCHAR(20) DEFAULT '', BLOCKED INTEGER NOT NULL DEFAULT 0, DEFAULTDIMENSION BIGINT NOT "
          f"NULL DEFAULT 0, TAXGROUP NVARCHAR(10) DEFAULT '', VATNUM NVARCHAR(20) DEFAULT '', CREDITMAX {_MONEY}",
          company=True, unique="ACCOUNTNUM"),
    Table("VENDTABLE", "ACCOUNTNUM NVARCHAR(20) NOT NULL, PARTY BIGINT NOT NULL, VENDGROUP NVARCHAR(10) NOT NULL, "
          "CURRENCY NVARCHAR(3) NOT NULL, PAYMTERMID NVARCHAR(10) DEFAULT '', PAYMMODE NVARCHAR(10) DEFAULT '', "
          "INVOICEACCOUNT NVARCHAR(20) DEFAULT '', BLOCKED INTEGER NOT NULL DEFAULT 0, DEFAULTDIMENSION BIGINT NOT "
          "NULL DEFAULT 0, TAXGROUP NVARCHAR(10) DEFAULT '', VATNUM NVARCHAR(20) DEFAULT ''",
          company=True, unique="ACCOUNTNUM"),
    Table("CUSTINVOICETABLE", "ORDERACCOUNT NVARCHAR(20) NOT NULL, INVOICEACCOUNT NVARCHAR(20) NOT NULL, "
          "NAME NVARCHAR(100) DEFAULT '', CURRENCYCODE NVARCHAR(3) NOT NULL, CUSTOMERREF NVARCHAR(60) DEFAULT '', "
          f"DOCUMENTNUM NVARCHAR(20) DEFAULT '', DOCUMENTDATE {_DATE}, INVOICEDATE {_DATE}, DUEDATE {_DATE}, "
          "PAYMENT NVARCHAR(10) DEFAULT '', PAYMMODE NVARCHAR(10) DEFAULT '', POSTINGPROFILE NVARCHAR(10) DEFAULT '',"
          " TAXGROUP NVARCHAR(10) DEFAULT '', LANGUAGEID NVARCHAR(7) DEFAULT '', DEFAULTDIMENSION BIGINT NOT NULL "
          "DEFAULT 0, INVOICEID NVARCHAR(20) DEFAULT '', POSTED INTEGER NOT NULL DEFAULT 0, "
          f"INVOICEAMOUNT {_MONEY}", company=True),
    Table("CUSTINVOICELINE", "PARENTRECID BIGINT NOT NULL, LINENUM NUMERIC(32,16) NOT NULL, DESCRIPTION "
          f"NVARCHAR(60) DEFAULT '', QUANTITY {_MONEY}, UNITPRICE {_MONEY}, AMOUNTCUR {_MONEY}, LEDGERDIMENSION "
          "BIGINT NOT NULL DEFAULT 0, DEFAULTDIMENSION BIGINT NOT NULL DEFAULT 0, TAXGROUP NVARCHAR(10) DEFAULT '', "
          "TAXITEMGROUP NVARCHAR(10) DEFAULT ''", company=True),
    Table("CUSTINVOICEJOUR", "INVOICEID NVARCHAR(20) NOT NULL, INVOICEACCOUNT NVARCHAR(20) NOT NULL, "
          f"ORDERACCOUNT NVARCHAR(20) NOT NULL, INVOICINGNAME NVARCHAR(100) DEFAULT '', INVOICEDATE {_DATE}, "
          f"DUEDATE {_DATE}, CURRENCYCODE NVARCHAR(3) NOT NULL, INVOICEAMOUNT {_MONEY}, INVOICEAMOUNTMST {_MONEY}, "
          f"SALESBALANCE {_MONEY}, SUMTAX {_MONEY}, SALESID NVARCHAR(20) DEFAULT '', LEDGERVOUCHER NVARCHAR(20) "
          "DEFAULT '', PAYMENT NVARCHAR(10) DEFAULT '', DEFAULTDIMENSION BIGINT NOT NULL DEFAULT 0",
          company=True, unique="INVOICEID, INVOICEDATE"),
    Table("CUSTINVOICETRANS", f"PARENTRECID BIGINT NOT NULL, INVOICEID NVARCHAR(20) NOT NULL, INVOICEDATE {_DATE}, "
          "LINENUM NUMERIC(32,16) NOT NULL, ITEMID NVARCHAR(20) DEFAULT '', NAME NVARCHAR(60) DEFAULT '', "
          f"QTY {_MONEY}, SALESPRICE {_MONEY}, LINEAMOUNT {_MONEY}, LINEAMOUNTMST {_MONEY}, CURRENCYCODE "
          "NVARCHAR(3) NOT NULL, LEDGERDIMENSION BIGINT NOT NULL DEFAULT 0, DEFAULTDIMENSION BIGINT NOT NULL "
          "DEFAULT 0, TAXGROUP NVARCHAR(10) DEFAULT '', TAXITEMGROUP NVARCHAR(10) DEFAULT ''", company=True),
    Table("CUSTTRANS", f"ACCOUNTNUM NVARCHAR(20) NOT NULL, VOUCHER NVARCHAR(20) NOT NULL, TRANSDATE {_DATE}, "
          f"INVOICE NVARCHAR(20) DEFAULT '', DUEDATE {_DATE}, TRANSTYPE INTEGER NOT NULL DEFAULT 0, AMOUNTCUR {_MONEY},"
          f" AMOUNTMST {_MONEY}, SETTLEAMOUNTCUR {_MONEY}, SETTLEAMOUNTMST {_MONEY}, CLOSED {_DATE}, "
          f"LASTSETTLEDATE {_DATE}, LASTSETTLEVOUCHER NVARCHAR(20) DEFAULT '', CURRENCYCODE NVARCHAR(3) NOT NULL, "
          "EXCHRATE NUMERIC(32,16) NOT NULL DEFAULT 100, PAYMMODE NVARCHAR(10) DEFAULT '', PAYMREFERENCE "
          "NVARCHAR(20) DEFAULT '', TXT NVARCHAR(60) DEFAULT '', DOCUMENTNUM NVARCHAR(20) DEFAULT '', "
          "POSTINGPROFILE NVARCHAR(10) DEFAULT '', DEFAULTDIMENSION BIGINT NOT NULL DEFAULT 0", company=True),
    Table("CUSTTRANSOPEN", f"REFRECID BIGINT NOT NULL, ACCOUNTNUM NVARCHAR(20) NOT NULL, AMOUNTCUR {_MONEY}, "
          f"AMOUNTMST {_MONEY}, TRANSDATE {_DATE}, DUEDATE {_DATE}", company=True),
    Table("CUSTSETTLEMENT", "TRANSRECID BIGINT NOT NULL, OFFSETRECID BIGINT NOT NULL, ACCOUNTNUM NVARCHAR(20) NOT "
          "NULL, TRANSCOMPANY NVARCHAR(4) NOT NULL, OFFSETCOMPANY NVARCHAR(4) NOT NULL, OFFSETACCOUNTNUM "
          f"NVARCHAR(20) DEFAULT '', OFFSETTRANSVOUCHER NVARCHAR(20) DEFAULT '', SETTLEAMOUNTCUR {_MONEY}, "
          f"SETTLEAMOUNTMST {_MONEY}, TRANSDATE {_DATE}, DUEDATE {_DATE}, CANBEREVERSED INTEGER NOT NULL DEFAULT 1",
          company=True),
    Table("BANKACCOUNTTABLE", "ACCOUNTID NVARCHAR(10) NOT NULL, NAME NVARCHAR(60) DEFAULT '', CURRENCYCODE "
          "NVARCHAR(3) NOT NULL, LEDGERDIMENSION BIGINT NOT NULL DEFAULT 0", company=True, unique="ACCOUNTID"),
    Table("LEDGERJOURNALNAME", "JOURNALNAME NVARCHAR(10) NOT NULL, NAME NVARCHAR(60), JOURNALTYPE INTEGER NOT NULL "
          "DEFAULT 0, NUMBERSEQUENCETABLE BIGINT NOT NULL DEFAULT 0, OFFSETACCOUNTTYPE INTEGER NOT NULL DEFAULT 0",
          company=True, unique="JOURNALNAME"),
    Table("LEDGERJOURNALTABLE", "JOURNALNUM NVARCHAR(10) NOT NULL, JOURNALNAME NVARCHAR(10) NOT NULL, NAME "
          "NVARCHAR(60) DEFAULT '', JOURNALTYPE INTEGER NOT NULL DEFAULT 0, POSTED INTEGER NOT NULL DEFAULT 0, "
          "POSTEDDATETIME DATETIME, CURRENCYCODE NVARCHAR(3) DEFAULT '', DOCUMENTNUM NVARCHAR(20) DEFAULT '', "
          f"DEFAULTDIMENSION BIGINT NOT NULL DEFAULT 0, JOURNALTOTALDEBIT {_MONEY}, JOURNALTOTALCREDIT {_MONEY}, "
          "NUMOFLINES INTEGER NOT NULL DEFAULT 0", company=True, unique="JOURNALNUM"),
    Table("LEDGERJOURNALTRANS", "JOURNALNUM NVARCHAR(10) NOT NULL, LINENUM NUMERIC(32,16) NOT NULL, ACCOUNTTYPE "
          "INTEGER NOT NULL DEFAULT 0, LEDGERDIMENSION BIGINT NOT NULL DEFAULT 0, OFFSETACCOUNTTYPE INTEGER NOT NULL "
          f"DEFAULT 0, OFFSETLEDGERDIMENSION BIGINT NOT NULL DEFAULT 0, AMOUNTCURDEBIT {_MONEY}, AMOUNTCURCREDIT "
          f"{_MONEY}, CURRENCYCODE NVARCHAR(3) NOT NULL, EXCHRATE NUMERIC(32,16) NOT NULL DEFAULT 100, TRANSDATE "
          f"{_DATE}, TXT NVARCHAR(60) DEFAULT '', VOUCHER NVARCHAR(20) DEFAULT '', COMPANY NVARCHAR(4) DEFAULT '', "
          "OFFSETCOMPANY NVARCHAR(4) DEFAULT '', DEFAULTDIMENSION BIGINT NOT NULL DEFAULT 0, OFFSETDEFAULTDIMENSION "
          "BIGINT NOT NULL DEFAULT 0, MARKEDINVOICE NVARCHAR(20) DEFAULT '', INVOICE NVARCHAR(20) DEFAULT '', "
          f"DOCUMENTNUM NVARCHAR(20) DEFAULT '', DOCUMENTDATE {_DATE}, DUE {_DATE}, PAYMMODE NVARCHAR(10) DEFAULT '', "
          "PAYMREFERENCE NVARCHAR(20) DEFAULT '', SETTLEVOUCHER INTEGER NOT NULL DEFAULT 0, TRANSACTIONTYPE INTEGER "
          "NOT NULL DEFAULT 0, TAXGROUP NVARCHAR(10) DEFAULT '', TAXITEMGROUP NVARCHAR(10) DEFAULT ''", company=True),
    Table("INVENTITEMGROUP", "ITEMGROUPID NVARCHAR(10) NOT NULL, NAME NVARCHAR(60)", company=True,
          unique="ITEMGROUPID"),
    Table("ECORESPRODUCT", "DISPLAYPRODUCTNUMBER NVARCHAR(70) NOT NULL UNIQUE, PRODUCTTYPE INTEGER NOT NULL "
          "DEFAULT 1, SEARCHNAME NVARCHAR(20) DEFAULT '', INSTANCERELATIONTYPE INTEGER NOT NULL DEFAULT 0"),
    Table("ECORESPRODUCTTRANSLATION", "PRODUCT BIGINT NOT NULL, LANGUAGEID NVARCHAR(7) NOT NULL, NAME NVARCHAR(60) "
          "DEFAULT '', DESCRIPTION NVARCHAR(1000) DEFAULT ''"),
    Table("INVENTTABLE", "ITEMID NVARCHAR(20) NOT NULL, PRODUCT BIGINT NOT NULL, NAMEALIAS NVARCHAR(20) DEFAULT '', "
          "ITEMTYPE INTEGER NOT NULL DEFAULT 0, PRIMARYVENDORID NVARCHAR(20) DEFAULT ''", company=True,
          unique="ITEMID"),
    Table("INVENTTABLEMODULE", f"ITEMID NVARCHAR(20) NOT NULL, MODULETYPE INTEGER NOT NULL, PRICE {_MONEY}, "
          "PRICEUNIT NUMERIC(32,16) NOT NULL DEFAULT 1, UNITID NVARCHAR(10) DEFAULT ''", company=True),
    Table("INVENTITEMGROUPITEM", "ITEMID NVARCHAR(20) NOT NULL, ITEMDATAAREAID NVARCHAR(4) NOT NULL, ITEMGROUPID "
          "NVARCHAR(10) NOT NULL, ITEMGROUPDATAAREAID NVARCHAR(4) NOT NULL"),
    Table("INVENTDIM", "INVENTDIMID NVARCHAR(20) NOT NULL, INVENTSITEID NVARCHAR(10) DEFAULT '', INVENTLOCATIONID "
          "NVARCHAR(10) DEFAULT ''", company=True, unique="INVENTDIMID"),
    Table("INVENTSUM", f"ITEMID NVARCHAR(20) NOT NULL, INVENTDIMID NVARCHAR(20) NOT NULL, POSTEDQTY {_MONEY}, "
          f"POSTEDVALUE {_MONEY}, PHYSICALINVENT {_MONEY}, RESERVPHYSICAL {_MONEY}, AVAILPHYSICAL {_MONEY}, "
          f"ONORDER {_MONEY}, ORDERED {_MONEY}, CLOSED INTEGER NOT NULL DEFAULT 0, CLOSEDQTY INTEGER NOT NULL "
          "DEFAULT 0", company=True, unique="ITEMID, INVENTDIMID"),
    Table("AIFMESSAGELOG", "MESSAGEID NVARCHAR(38) NOT NULL UNIQUE, PORTNAME NVARCHAR(40), ACTIONID NVARCHAR(250), "
          "COMPANY NVARCHAR(4), SUBMITTINGUSER NVARCHAR(100), ENTITYKEYS NVARCHAR(1000) DEFAULT ''"),
    # (Appended last: TABLE_IDS are positions, and existing sandbox databases keep their SYSTEMSEQUENCES.)
    # Sales tax setup (AX 2012 table names; columns reduced): codes, their rates by date, sales tax groups and
    # item sales tax groups (a line is taxed by the codes in both its groups), and posted tax (TAXTRANS).
    Table("TAXTABLE", "TAXCODE NVARCHAR(10) NOT NULL, TAXNAME NVARCHAR(30) DEFAULT '', TAXACCOUNTGROUP NVARCHAR(10) "
          "DEFAULT ''", company=True, unique="TAXCODE"),
    Table("TAXDATA", f"TAXCODE NVARCHAR(10) NOT NULL, TAXFROMDATE {_DATE}, TAXTODATE {_DATE}, "
          "TAXVALUE NUMERIC(32,16) NOT NULL DEFAULT 0", company=True),
    Table("TAXGROUPHEADING", "TAXGROUP NVARCHAR(10) NOT NULL, TAXGROUPNAME NVARCHAR(60) DEFAULT ''", company=True,
          unique="TAXGROUP"),
    Table("TAXGROUPDATA", "TAXGROUP NVARCHAR(10) NOT NULL, TAXCODE NVARCHAR(10) NOT NULL, EXEMPTTAX INTEGER NOT "
          "NULL DEFAULT 0", company=True, unique="TAXGROUP, TAXCODE"),
    Table("TAXITEMGROUPHEADING", "TAXITEMGROUP NVARCHAR(10) NOT NULL, NAME NVARCHAR(60) DEFAULT ''", company=True,
          unique="TAXITEMGROUP"),
    Table("TAXONITEM", "TAXITEMGROUP NVARCHAR(10) NOT NULL, TAXCODE NVARCHAR(10) NOT NULL", company=True,
          unique="TAXITEMGROUP, TAXCODE"),
    Table("TAXTRANS", f"VOUCHER NVARCHAR(20) NOT NULL, TRANSDATE {_DATE}, INVOICEID NVARCHAR(20) DEFAULT '', "
          "TAXCODE NVARCHAR(10) NOT NULL, TAXGROUP NVARCHAR(10) DEFAULT '', TAXITEMGROUP NVARCHAR(10) DEFAULT '', "
          "TAXDIRECTION INTEGER NOT NULL DEFAULT 0, SOURCECURRENCYCODE NVARCHAR(3) NOT NULL, "
          f"SOURCEBASEAMOUNTCUR {_MONEY}, SOURCETAXAMOUNTCUR {_MONEY}, TAXBASEAMOUNT {_MONEY}, TAXAMOUNT {_MONEY}, "
          "TAXVALUE NUMERIC(32,16) NOT NULL DEFAULT 0, EXEMPTTAX INTEGER NOT NULL DEFAULT 0, "
          "SOURCERECID BIGINT NOT NULL DEFAULT 0", company=True),
)
TABLE = {table.name: table for table in TABLES}
# Sandbox table ids for SYSTEMSEQUENCES.TABID (NOT the real AX ids).
TABLE_IDS = {table.name: number for number, table in enumerate(TABLES, start=1)}

INDEXES = (
    "CUSTTRANS (DATAAREAID, INVOICE)", "CUSTTRANS (DATAAREAID, ACCOUNTNUM)", "CUSTTRANSOPEN (REFRECID)",
    "CUSTSETTLEMENT (TRANSRECID)", "CUSTINVOICETRANS (PARENTRECID)", "CUSTINVOICELINE (PARENTRECID)",
    "LEDGERJOURNALTRANS (DATAAREAID, JOURNALNUM)", "INVENTSUM (DATAAREAID, ITEMID)",
    "DIRPARTYLOCATION (PARTY)", "LOGISTICSPOSTALADDRESS (LOCATION)", "LOGISTICSELECTRONICADDRESS (LOCATION)",
    "DIMENSIONATTRIBUTEVALUESETITEM (DIMENSIONATTRIBUTEVALUESET)", "ECORESPRODUCTTRANSLATION (PRODUCT)",
    "INVENTTABLEMODULE (DATAAREAID, ITEMID)", "INVENTITEMGROUPITEM (ITEMDATAAREAID, ITEMID)",
    "CUSTINVOICETABLE (DATAAREAID, CUSTOMERREF)",
    *(f"{name} (MODIFIEDDATETIME, RECID)" for name in (
        "CUSTTABLE", "VENDTABLE", "DIRPARTYTABLE", "CUSTTRANS", "CUSTINVOICEJOUR", "LEDGERJOURNALTABLE",
        "LEDGERJOURNALTRANS", "INVENTTABLE", "INVENTSUM", "MAINACCOUNT")),
    "TAXTRANS (DATAAREAID, VOUCHER)",
)

# Backing views of the operating-unit dimensions (AX names them DimAttributeOM<Unit>; columns KEY_, VALUE, NAME).
DIMENSION_VIEWS = {"BusinessUnit": "DIMATTRIBUTEOMBUSINESSUNIT", "Department": "DIMATTRIBUTEOMDEPARTMENT",
                   "CostCenter": "DIMATTRIBUTEOMCOSTCENTER"}


def _table_sql(table: Table) -> str:
    parts = [_SYS]
    if table.company:
        parts.append(_CO)
    parts.append(table.columns)
    if table.unique:
        parts.append(f"UNIQUE (DATAAREAID, {table.unique})" if table.company else f"UNIQUE ({table.unique})")
    return f"CREATE TABLE IF NOT EXISTS {table.name} ({', '.join(parts)});"


def _view_sql(attribute: str, view: str) -> str:
    # names are constants from DIMENSION_VIEWS
    return (
        f"CREATE VIEW IF NOT EXISTS {view} AS SELECT V.ENTITYINSTANCE AS KEY_, V.DISPLAYVALUE AS VALUE, "  # noqa: S608
        "V.DESCRIPTION AS NAME, V.PARTITION AS PARTITION, V.RECID AS RECID FROM DIMENSIONATTRIBUTEVALUE V JOIN "
        f"DIMENSIONATTRIBUTE A ON A.RECID = V.DIMENSIONATTRIBUTE WHERE A.NAME = '{attribute}' AND V.ISDELETED = 0;"
    )


SCHEMA = "\n".join(
    [
        "CREATE TABLE IF NOT EXISTS SYSTEMSEQUENCES (ID INTEGER NOT NULL, NAME NVARCHAR(40) NOT NULL, TABID "
        "INTEGER NOT NULL, NEXTVAL BIGINT NOT NULL, MINVAL BIGINT NOT NULL, MAXVAL BIGINT NOT NULL, CYCLE INTEGER "
        "NOT NULL DEFAULT 0, DATAAREAID NVARCHAR(4) NOT NULL DEFAULT 'dat', PRIMARY KEY (TABID));",
        *(_table_sql(table) for table in TABLES),
        *(f"CREATE INDEX IF NOT EXISTS I_{n}_{index.split(' ')[0]} ON {index};" for n, index in enumerate(INDEXES)),
        *(_view_sql(attribute, view) for attribute, view in DIMENSION_VIEWS.items()),
    ]
)


def normalize_message_id(message_id: str) -> str:
    """AX compares MessageIds as GUIDs: case-insensitive, braces optional. Raises ValueError if not a GUID."""
    return str(uuid.UUID(message_id.strip().strip("{}"))).upper()


def timestamp(moment: datetime | None = None) -> str:
    """UTC datetime as AX stores it (SQL Server datetime has ~3 ms precision), e.g. ``2024-03-01 10:00:00.000``."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


class AxStore:
    """Thread-safe access to the sandbox database (one connection guarded by a re-entrant lock)."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = str(path)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._rng = random.Random()  # noqa: S311 - RECVERSION only needs to change, not to be secret
        self._columns_cache: dict[str, list[str]] = {}
        with self._lock:
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")  # ODBC readers see commits while the app writes
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(SCHEMA)
            if not self._conn.execute("SELECT 1 FROM PARTITIONS").fetchone():
                with self.transaction():
                    self.insert("PARTITIONS", {"PARTITIONKEY": "initial", "NAME": "Default partition"}, partition=0)
        self.partition = self._conn.execute("SELECT RECID FROM PARTITIONS WHERE PARTITIONKEY='initial'").fetchone()[0]

    # -- plumbing --------------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[AxStore]:
        """All-or-nothing unit of work (like an X++ ttsbegin/ttscommit), serialised across threads."""
        with self._lock:
            if self._conn.in_transaction:
                yield self
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self._conn.execute(sql, params).fetchall()]

    def one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; returns the number of rows changed."""
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.transaction():
            self._conn.executemany(sql, rows)

    def counts(self) -> dict[str, int]:
        """Rows per AX table (for inspect)."""
        with self._lock:
            return {t.name: self._conn.execute(f"SELECT COUNT(*) FROM {t.name}").fetchone()[0]  # noqa: S608
                    for t in TABLES}

    def reserve_recids(self, table: str, count: int = 1) -> int:
        """Allocate ``count`` consecutive RecIds for ``table`` and return the first."""
        with self.transaction():
            tabid = TABLE_IDS[table]
            row = self._conn.execute("SELECT NEXTVAL FROM SYSTEMSEQUENCES WHERE TABID=?", (tabid,)).fetchone()
            first = FIRST_RECID if row is None else row[0]
            if row is None:
                self._conn.execute(
                    "INSERT INTO SYSTEMSEQUENCES (ID, NAME, TABID, NEXTVAL, MINVAL, MAXVAL) "
                    "VALUES (-1, 'SEQNO', ?, ?, ?, ?)",
                    (tabid, first + count, FIRST_RECID, 2**63 - 1),
                )
            else:
                self._conn.execute("UPDATE SYSTEMSEQUENCES SET NEXTVAL=? WHERE TABID=?", (first + count, tabid))
            return first

    def next_recid(self, table: str) -> int:
        return self.reserve_recids(table, 1)

    def insert(self, table: str, values: Mapping[str, Any], *, partition: int | None = None,
               stamp: str | None = None) -> int:
        """Insert with AX system columns filled in; returns the new RECID."""
        row = dict(values)
        with self.transaction():
            row["RECID"] = self.next_recid(table)
            row.setdefault("RECVERSION", 1)
            row["PARTITION"] = self.partition if partition is None else partition
            row.setdefault("CREATEDDATETIME", stamp or timestamp())
            row.setdefault("MODIFIEDDATETIME", row["CREATEDDATETIME"])
            names = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            self._conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))  # noqa: S608
            return row["RECID"]

    def bulk_insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                    *, stamps: Sequence[str] | str | None = None) -> range:
        """Insert many rows in one statement (seeding); returns their RECIDs in row order.

        ``stamps`` is one CREATEDDATETIME for all rows or one per row (default: now).
        """
        if not rows:
            return range(0)
        with self.transaction():
            first = self.reserve_recids(table, len(rows))
            if stamps is None or isinstance(stamps, str):
                stamps = [stamps or timestamp()] * len(rows)
            names = ["RECID", "RECVERSION", "PARTITION", "CREATEDDATETIME", "MODIFIEDDATETIME", *columns]
            sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608
            partition = self.partition
            self._conn.executemany(
                sql, ((first + n, 1, partition, stamps[n], stamps[n], *row) for n, row in enumerate(rows))
            )
            return range(first, first + len(rows))

    def update(self, table: str, recid: int, values: Mapping[str, Any], *, stamp: str | None = None) -> int:
        """Update a row; RECVERSION gets a new random value as in AX (never a usable cursor). Returns it."""
        row = dict(values)
        row["RECVERSION"] = self._rng.randint(2, 2**31 - 1)
        row["MODIFIEDDATETIME"] = stamp or timestamp()
        assignments = ", ".join(f"{name}=?" for name in row)
        with self.transaction():
            self._conn.execute(f"UPDATE {table} SET {assignments} WHERE RECID=?", (*row.values(), recid))  # noqa: S608
        return row["RECVERSION"]

    def delete(self, table: str, recids: Iterable[int]) -> None:
        ids = list(recids)
        if ids:
            with self.transaction():
                self._conn.executemany(f"DELETE FROM {table} WHERE RECID=?", [(i,) for i in ids])  # noqa: S608

    def columns(self, table: str) -> list[str]:
        if table not in self._columns_cache:
            with self._lock:
                self._columns_cache[table] = [row[1] for row in self._conn.execute(f"PRAGMA table_info({table})")]
        return self._columns_cache[table]

    # -- number sequences ------------------------------------------------------------------------------------
    def add_number_sequence(self, company: str, code: str, fmt: str, text: str = "", *, next_rec: int = 1) -> int:
        return self.insert("NUMBERSEQUENCETABLE", {"DATAAREAID": company.lower(), "NUMBERSEQUENCE": code,
                                                   "TXT": text or code, "FORMAT": fmt, "NEXTREC": next_rec})

    def next_number(self, company: str, code: str) -> str:
        """Next value of a number sequence: the FORMAT's ``#`` run replaced by the zero-padded counter."""
        with self.transaction():
            row = self.one("SELECT RECID, FORMAT, NEXTREC FROM NUMBERSEQUENCETABLE WHERE DATAAREAID=? AND "
                           "NUMBERSEQUENCE=?", (company.lower(), code))
            if row is None:
                raise KeyError(f"number sequence {code} is not set up for company {company}")
            self.update("NUMBERSEQUENCETABLE", row["RECID"], {"NEXTREC": row["NEXTREC"] + 1})
            return format_number(row["FORMAT"], row["NEXTREC"])

    # -- reference data lookups ------------------------------------------------------------------------------
    def company(self, company: str) -> dict[str, Any] | None:
        """DATAAREA row with its ledger currency; company ids are case-insensitive (UI upper, SQL lower)."""
        return self.one(
            "SELECT D.*, L.ACCOUNTINGCURRENCY FROM DATAAREA D LEFT JOIN DIRPARTYTABLE C ON C.DATAAREA = D.ID "
            "LEFT JOIN LEDGER L ON L.PRIMARYFORLEGALENTITY = C.RECID WHERE D.ID = ?",
            (company.lower(),),
        )

    def companies(self) -> list[str]:
        return [row["ID"] for row in self.query("SELECT ID FROM DATAAREA ORDER BY RECID")]

    def customer(self, dataareaid: str, account: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT C.*, P.NAME AS PARTYNAME, P.LANGUAGEID FROM CUSTTABLE C JOIN DIRPARTYTABLE P ON P.RECID "
            "= C.PARTY WHERE C.DATAAREAID = ? AND C.ACCOUNTNUM = ?",
            (dataareaid.lower(), account),
        )

    def vendor(self, dataareaid: str, account: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT V.*, P.NAME AS PARTYNAME, P.LANGUAGEID FROM VENDTABLE V JOIN DIRPARTYTABLE P ON P.RECID "
            "= V.PARTY WHERE V.DATAAREAID = ? AND V.ACCOUNTNUM = ?",
            (dataareaid.lower(), account),
        )

    def main_account(self, account_id: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM MAINACCOUNT WHERE MAINACCOUNTID = ?", (account_id,))

    def dimension_value(self, name: str, value: str) -> tuple[dict | None, dict | None]:
        """(DIMENSIONATTRIBUTE row, DIMENSIONATTRIBUTEVALUE row) for a dimension name and value code."""
        attribute = self.one("SELECT * FROM DIMENSIONATTRIBUTE WHERE NAME = ?", (name,))
        if attribute is None:
            return None, None
        row = self.one(
            "SELECT * FROM DIMENSIONATTRIBUTEVALUE WHERE DIMENSIONATTRIBUTE = ? AND DISPLAYVALUE = ? AND "
            "ISDELETED = 0",
            (attribute["RECID"], value),
        )
        return attribute, row

    def account_structure(self) -> tuple[int, list[str]]:
        """(hierarchy RECID, dimension names in segment order) of the single sandbox account structure."""
        hierarchy = self.one("SELECT RECID FROM DIMENSIONHIERARCHY ORDER BY RECID LIMIT 1")
        if hierarchy is None:
            return 0, []
        rows = self.query(
            "SELECT A.NAME FROM DIMENSIONHIERARCHYLEVEL L JOIN DIMENSIONATTRIBUTE A ON A.RECID = "
            "L.DIMENSIONATTRIBUTE WHERE L.DIMENSIONHIERARCHY = ? ORDER BY L.LEVEL_",
            (hierarchy["RECID"],),
        )
        return hierarchy["RECID"], [row["NAME"] for row in rows]

    def payment_term(self, dataareaid: str, term: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT * FROM PAYMTERM WHERE DATAAREAID = ? AND PAYMTERMID = ?", (dataareaid.lower(), term)
        )

    def currency(self, code: str) -> dict[str, Any] | None:
        return self.one("SELECT * FROM CURRENCY WHERE CURRENCYCODE = ?", (code,))

    def value_set_values(self, recid: int) -> list[tuple[str, str]]:
        """(dimension name, value) pairs of a DIMENSIONATTRIBUTEVALUESET, in attribute order."""
        if not recid:
            return []
        rows = self.query(
            "SELECT A.NAME, I.DISPLAYVALUE FROM DIMENSIONATTRIBUTEVALUESETITEM I JOIN DIMENSIONATTRIBUTEVALUE V ON "
            "V.RECID = I.DIMENSIONATTRIBUTEVALUE JOIN DIMENSIONATTRIBUTE A ON A.RECID = V.DIMENSIONATTRIBUTE "
            "WHERE I.DIMENSIONATTRIBUTEVALUESET = ? ORDER BY A.RECID",
            (recid,),
        )
        return [(row["NAME"], row["DISPLAYVALUE"]) for row in rows]

    def combination(self, recid: int) -> dict[str, Any] | None:
        """A DIMENSIONATTRIBUTEVALUECOMBINATION row with its main account id."""
        return self.one(
            "SELECT C.*, M.MAINACCOUNTID FROM DIMENSIONATTRIBUTEVALUECOMBINATION C LEFT JOIN MAINACCOUNT M ON "
            "M.RECID = C.MAINACCOUNT WHERE C.RECID = ?", (recid,))

    # -- dimension storage -----------------------------------------------------------------------------------
    def value_set(self, values: list[tuple[dict, dict]]) -> int:
        """RECID of the DIMENSIONATTRIBUTEVALUESET for (attribute, value) pairs; 0 for an empty set (as in AX)."""
        if not values:
            return 0
        key = "|".join(
            f"{attr['RECID']}={val['RECID']}" for attr, val in sorted(values, key=lambda p: p[0]["RECID"])
        )
        digest = hashlib.sha1(key.encode()).hexdigest()  # noqa: S324 - identity hash, not security
        with self.transaction():
            row = self.one("SELECT RECID FROM DIMENSIONATTRIBUTEVALUESET WHERE HASH = ?", (digest,))
            if row:
                return row["RECID"]
            recid = self.insert("DIMENSIONATTRIBUTEVALUESET", {"HASH": digest})
            for _attribute, value in values:
                self.insert(
                    "DIMENSIONATTRIBUTEVALUESETITEM",
                    {
                        "DIMENSIONATTRIBUTEVALUESET": recid,
                        "DIMENSIONATTRIBUTEVALUE": value["RECID"],
                        "DISPLAYVALUE": value["DISPLAYVALUE"],
                    },
                )
            return recid

    def ledger_combination(self, display_value: str, main_account_recid: int, structure: int,
                           *, dimension_type: int = 0) -> int:
        """RECID of the DIMENSIONATTRIBUTEVALUECOMBINATION for an account display value (created on demand).

        ``main_account_recid`` 0 with ``dimension_type`` 1 stores a customer/vendor/bank account of a journal line.
        """
        digest = hashlib.sha1(f"{dimension_type}|{main_account_recid}|{display_value}".encode()).hexdigest()  # noqa: S324
        with self.transaction():
            row = self.one("SELECT RECID FROM DIMENSIONATTRIBUTEVALUECOMBINATION WHERE HASH = ?", (digest,))
            if row:
                return row["RECID"]
            return self.insert(
                "DIMENSIONATTRIBUTEVALUECOMBINATION",
                {
                    "DISPLAYVALUE": display_value,
                    "MAINACCOUNT": main_account_recid,
                    "ACCOUNTSTRUCTURE": structure,
                    "LEDGERDIMENSIONTYPE": dimension_type,
                    "HASH": digest,
                },
            )

    # -- AIF message log -------------------------------------------------------------------------------------
    def processed_message(self, message_id: str) -> dict[str, Any] | None:
        return self.one(
            "SELECT * FROM AIFMESSAGELOG WHERE MESSAGEID = ?", (normalize_message_id(message_id),)
        )

    def log_message(
        self, message_id: str, *, port: str, action: str, company: str, user: str, keys: Mapping[str, str]
    ) -> int:
        return self.insert(
            "AIFMESSAGELOG",
            {
                "MESSAGEID": normalize_message_id(message_id),
                "PORTNAME": port,
                "ACTIONID": action,
                "COMPANY": company.upper(),
                "SUBMITTINGUSER": user,
                "ENTITYKEYS": ";".join(f"{field}={value}" for field, value in keys.items()),
            },
        )

    # -- convenience for tests / demo ------------------------------------------------------------------------
    def free_text_invoices(self, company: str | None = None) -> list[dict[str, Any]]:
        """Headers with their lines (``lines`` key), newest last."""
        where, params = ("WHERE DATAAREAID = ?", (company.lower(),)) if company else ("", ())
        headers = self.query(f"SELECT * FROM CUSTINVOICETABLE {where} ORDER BY RECID", params)  # noqa: S608
        for header in headers:
            header["lines"] = self.query(
                "SELECT * FROM CUSTINVOICELINE WHERE PARENTRECID = ? ORDER BY LINENUM", (header["RECID"],)
            )
        return headers


def format_number(fmt: str, number: int) -> str:
    """``GB-####`` + 7 -> ``GB-0007``; a counter wider than the mask keeps all its digits."""
    start = fmt.find("#")
    if start < 0:
        return f"{fmt}{number}"
    end = start
    while end < len(fmt) and fmt[end] == "#":
        end += 1
    return f"{fmt[:start]}{number:0{end - start}d}{fmt[end:]}"
