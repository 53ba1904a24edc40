"""``manage.py copilot_score``: one JSON entry per record row, flags within the budget, a readable table, and
bad CSVs refused with the file, line and column named."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ai_copilot.csvio import COLUMNS, CsvError, read_txns
from tests.ai_copilot.test_anomaly import normal_business

GOOD = {"id": "N1", "kind": "purchase_invoice", "date": "2026-01-14", "party": "ACME", "account": "5000",
        "amount": "498.20", "currency": "GBP", "tax_rate": "20", "reference": "ACME-9", "description": "stock"}


def write(path: Path, rows: list[dict[str, str]], columns=COLUMNS) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(buffer.getvalue().encode()))
    else:
        path.write_text(buffer.getvalue())
    return path


def as_rows(txns) -> list[dict[str, str]]:
    return [{"id": t.id, "kind": t.kind, "date": t.date.isoformat(), "party": t.party, "account": t.account,
             "amount": str(t.amount), "currency": t.currency, "tax_rate": "" if t.tax_rate is None else str(t.tax_rate),
             "reference": t.reference, "description": t.description} for t in txns]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    """History of 2025 (gzipped), and January 2026 as usual plus a duplicate and an unpaired journal."""
    folder = tmp_path_factory.mktemp("ledger")
    rows = normal_business(date(2026, 1, 31)).rows
    history = write(folder / "history.csv.gz", as_rows(t for t in rows if t.date.year == 2025))
    january = as_rows(t for t in rows if t.date.year == 2026)
    acme = next(r for r in january if r["party"] == "ACME" and r["kind"] == "purchase_invoice")
    january.append(acme | {"id": "DUP", "reference": "ACME-RETYPED", "date": "2026-01-07"})
    january += [GOOD | {"id": "J1", "kind": "journal", "party": "", "account": "7000", "amount": "900.00",
                        "tax_rate": "", "reference": "J-ODD"},
                GOOD | {"id": "J2", "kind": "journal", "party": "", "account": "0031", "amount": "-900.00",
                        "tax_rate": "", "reference": "J-ODD"}]
    return history, write(folder / "records.csv", january)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("copilot_score", *args, stdout=out)
    return out.getvalue()


def test_json_lists_every_record_row_in_order_and_flags_within_the_budget(files):
    history, records = files
    entries = json.loads(run("--history", str(history), "--records", str(records), "--alert-rate", "0.03", "--json"))
    assert [e["id"] for e in entries] == [t.id for t in read_txns(records)]
    assert set(entries[0]) == {"id", "score", "flagged", "reasons"}
    flagged = {e["id"] for e in entries if e["flagged"]}
    assert len(flagged) <= math.floor(0.03 * len(entries))
    assert {"DUP", "J1", "J2"} <= flagged
    dup = next(e for e in entries if e["id"] == "DUP")
    assert dup["reasons"][0].startswith("duplicate: ") and all(isinstance(r, str) for r in dup["reasons"])


def test_a_tight_budget_flags_fewer(files):
    history, records = files
    entries = json.loads(run("--history", str(history), "--records", str(records), "--alert-rate", "0.01",
                             "--json"))
    assert sum(e["flagged"] for e in entries) == math.floor(0.01 * len(entries)) == 1


def test_without_json_a_readable_table(files):
    history, records = files
    table = run("--history", str(history), "--records", str(records), "--alert-rate", "0.03")
    assert table.splitlines()[0].split() == ["id", "score", "flag", "reason"]
    assert "HOLD  duplicate:" in table and table.rstrip().endswith("records flagged.")


@pytest.mark.parametrize("change, line, column, words", [
    ({"amount": "£498.20"}, 3, "amount", "not a number"),
    ({"date": "14/01/2026"}, 3, "date", "YYYY-MM-DD"),
    ({"kind": "credit_note"}, 3, "kind", "unknown kind"),
    ({"party": ""}, 3, "party", "needs a party"),
    ({"tax_rate": "120"}, 3, "tax_rate", "between 0 and 100"),
    ({"currency": "pounds"}, 3, "currency", "3-letter"),
    ({"id": "N1"}, 3, "id", "already used on line 2"),
])
def test_a_bad_row_names_file_line_and_column(tmp_path, files, change, line, column, words):
    records = write(tmp_path / "bad.csv", [GOOD, GOOD | {"id": "N2"} | change])
    with pytest.raises(CommandError) as error:
        run("--history", str(files[0]), "--records", str(records), "--json")
    message = str(error.value)
    assert str(records) in message and f"line {line}" in message and f"column '{column}'" in message
    assert words in message


def test_a_missing_column_or_a_short_row_is_refused(tmp_path, files):
    missing = write(tmp_path / "missing.csv", [{k: v for k, v in GOOD.items() if k != "tax_rate"}],
                    columns=[c for c in COLUMNS if c != "tax_rate"])
    with pytest.raises(CommandError, match=r"line 1, column 'tax_rate': missing column"):
        run("--history", str(missing), "--records", str(missing), "--json")
    short = tmp_path / "short.csv"
    short.write_text(",".join(COLUMNS) + "\nN1,purchase_invoice,2026-01-14,ACME\n")
    with pytest.raises(CommandError, match=r"line 2, column 'account': the row ends before this column"):
        run("--history", str(files[0]), "--records", str(short), "--json")


def test_bad_options_are_refused(files):
    history, records = files
    with pytest.raises(CommandError, match="alert-rate"):
        run("--history", str(history), "--records", str(records), "--alert-rate", "5")
    with pytest.raises(CommandError, match="approval-limit"):
        run("--history", str(history), "--records", str(records), "--approval-limit", "lots")
    with pytest.raises(CommandError, match="no such file"):
        run("--history", str(history), "--records", "/nonexistent/records.csv")


def test_read_txns_reads_a_bom_and_empty_tax_rates(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("\ufeff" + ",".join(COLUMNS) + "\nP1,payment,2026-01-14,ACME,1200,498.20,gbp,,ACME-9,\n",
                    encoding="utf-8")
    (txn,) = read_txns(path)
    assert txn.tax_rate is None and txn.currency == "GBP" and str(txn.amount) == "498.20"
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CsvError, match="empty"):
        read_txns(empty)
