"""What the end-to-end tests share: running a flow inline, a killed worker, counting what the sandboxes hold."""

from __future__ import annotations

from collections import Counter

from integrations.sage100.sandbox.schema import open_readonly
from integrations.sync.models import SyncRun
from integrations.sync.services import flow_run_request


class WorkerDied(BaseException):
    """Stands in for a killed worker: not an Exception, so nothing in the engine can catch it."""


def run_inline(flow) -> SyncRun:
    run = flow_run_request(flow=flow, trigger=SyncRun.Trigger.MANUAL, inline=True)
    run.refresh_from_db()
    return run


def paid_numbers(store) -> set[str]:
    """Numbers of the paid invoices in a Kashflow sandbox store."""
    numbers, page = set(), 1
    while True:
        result = store.list_invoices(page=page, perpage=100)
        numbers |= {str(i["Number"]) for i in result.items if i["Status"] == "Paid"}
        if page * 100 >= result.total:
            return numbers
        page += 1


def ax_invoices(ax_store) -> Counter:
    """AX free-text invoices per Kashflow number (CustomerRef)."""
    return Counter(str(row["CUSTOMERREF"]) for row in ax_store.free_text_invoices())


def sage_rows(sage_sandbox, sql: str, params=()) -> list[dict]:
    """Rows of the Sage sandbox's company file, read-only, as dicts (what an ODBC report would show)."""
    conn = open_readonly(sage_sandbox.company_db)
    conn.row_factory = lambda cursor, row: {d[0]: v for d, v in zip(cursor.description, row, strict=True)}
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()
