"""Ledger CSVs in and scores out, for ``manage.py copilot_score`` and the benchmark.

Columns are ``id,kind,date,party,account,amount,currency,tax_rate,reference,description`` (``.csv`` or
``.csv.gz``). A bad row stops the read with a :class:`CsvError` naming the file, the line and the column:
nothing is skipped or guessed, because a silently dropped row is a record nobody scored.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ai_copilot.anomaly import KINDS, AnomalyScorer, Score, Txn, flag

COLUMNS = ("id", "kind", "date", "party", "account", "amount", "currency", "tax_rate", "reference", "description")


class CsvError(ValueError):
    """A CSV problem at a place a person can find: file, line (the header is line 1) and column."""

    def __init__(self, path: str | Path, line: int, column: str, problem: str) -> None:
        self.path, self.line, self.column, self.problem = str(path), line, column, problem
        where = f"{self.path}" + (f", line {line}" if line else "") + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {problem}")


def _open(path: str | Path) -> io.TextIOBase:
    path = Path(path)
    if not path.is_file():
        raise CsvError(path, 0, "", "no such file")
    raw = gzip.open(path, "rt", encoding="utf-8-sig", newline="") if path.suffix == ".gz" else open(
        path, encoding="utf-8-sig", newline="")
    return raw


def _rows(path: str | Path, required: Sequence[str], allowed: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs after checking the header has every required column and nothing unknown."""
    with _open(path) as handle:
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames
        except (csv.Error, UnicodeDecodeError) as error:
            raise CsvError(path, 1, "", f"unreadable header: {error}") from error
        if not header:
            raise CsvError(path, 1, "", "the file is empty (expected a header row)")
        header = [h.strip() for h in header]
        reader.fieldnames = header
        missing = [c for c in required if c not in header]
        if missing:
            raise CsvError(path, 1, missing[0], f"missing column(s) {', '.join(missing)}; "
                                                f"expected {','.join(required)}")
        unknown = [c for c in header if c not in allowed]
        if unknown:
            raise CsvError(path, 1, unknown[0], f"unexpected column(s) {', '.join(unknown)}")
        try:
            for row in reader:
                if None in row:
                    raise CsvError(path, reader.line_num, "", f"{len(header) + len(row[None])} fields where the "
                                                              f"header has {len(header)}")
                if any(value is None for value in row.values()):
                    short = next(c for c, v in row.items() if v is None)
                    raise CsvError(path, reader.line_num, short, "the row ends before this column")
                yield reader.line_num, row
        except (csv.Error, UnicodeDecodeError) as error:
            raise CsvError(path, reader.line_num, "", f"unreadable row: {error}") from error


def _decimal(path: str | Path, line: int, column: str, text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise CsvError(path, line, column, f"{text!r} is not a number (use 1234.56: no symbols or commas)") from None
    if not value.is_finite():
        raise CsvError(path, line, column, f"{text!r} is not a finite number")
    return value


def parse_txn(path: str | Path, line: int, row: Mapping[str, str]) -> Txn:
    """One ledger row as a :class:`Txn`, every field checked; :class:`CsvError` names the column at fault. Also
    what the partner API's scoring endpoint uses for its JSON rows (``path`` then names the request part)."""
    values = {key: (row.get(key) or "").strip() for key in COLUMNS}
    if not values["id"]:
        raise CsvError(path, line, "id", "empty id")
    kind = values["kind"]
    if kind not in KINDS:
        raise CsvError(path, line, "kind", f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    try:
        day = date.fromisoformat(values["date"])
    except ValueError:
        raise CsvError(path, line, "date", f"{values['date']!r} is not a date (use YYYY-MM-DD)") from None
    if kind != "journal" and not values["party"]:
        raise CsvError(path, line, "party", f"a {kind} needs a party")
    if not values["account"]:
        raise CsvError(path, line, "account", "empty account")
    if kind == "journal" and not values["reference"]:
        raise CsvError(path, line, "reference", "a journal line needs its journal's reference")
    currency = values["currency"].upper()
    if len(currency) != 3 or not currency.isalpha():
        raise CsvError(path, line, "currency", f"{values['currency']!r} is not a 3-letter currency code")
    tax_rate = None
    if values["tax_rate"]:
        tax_rate = _decimal(path, line, "tax_rate", values["tax_rate"])
        if not 0 <= tax_rate <= 100:
            raise CsvError(path, line, "tax_rate", f"{values['tax_rate']!r} is not a percentage between 0 and 100")
    return Txn(id=values["id"], kind=kind, date=day, party=values["party"], account=values["account"],
               amount=_decimal(path, line, "amount", values["amount"]), currency=currency, tax_rate=tax_rate,
               reference=values["reference"], description=values["description"])


def read_txns(path: str | Path) -> list[Txn]:
    """Every row of a ledger CSV as a :class:`Txn`, in file order; raises :class:`CsvError` on the first bad one
    (duplicate ids included: scores are reported by id)."""
    txns: list[Txn] = []
    first_line: dict[str, int] = {}
    for line, row in _rows(path, COLUMNS, COLUMNS):
        txn = parse_txn(path, line, row)
        if txn.id in first_line:
            raise CsvError(path, line, "id", f"id {txn.id!r} already used on line {first_line[txn.id]}")
        first_line[txn.id] = line
        txns.append(txn)
    return txns


def read_labels(path: str | Path) -> dict[str, str]:
    """``id,anomaly_kind`` -> {id: kind}."""
    return {row["id"].strip(): row["anomaly_kind"].strip()
            for _, row in _rows(path, ("id", "anomaly_kind"), ("id", "anomaly_kind"))}


def read_hard_negatives(path: str | Path) -> dict[str, str]:
    """``id,pattern`` -> {id: pattern}: legitimate rows that look unusual."""
    return {row["id"].strip(): row["pattern"].strip() for _, row in _rows(path, ("id", "pattern"), ("id", "pattern"))}


# ---------------------------------------------------------------------------------------------------- scoring


def score_files(history: str | Path, records: str | Path, *, alert_rate: float = 0.01,
                approval_limit: Decimal = Decimal(5000)) -> list[dict[str, Any]]:
    """What ``copilot_score`` prints: one entry per record row, in file order, flagged within the budget."""
    scorer = AnomalyScorer(approval_limit=approval_limit).fit(read_txns(history))
    rows = read_txns(records)
    scores = scorer.score(rows)
    return results(scores, flag(scores, alert_rate))


def results(scores: Sequence[Score], flagged: set[str]) -> list[dict[str, Any]]:
    return [{"id": s.id, "score": round(s.score, 4), "flagged": s.id in flagged,
             "reasons": [f"{r.code}: {r.text}" for r in s.reasons]} for s in scores]


def as_json(entries: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(entries), indent=2, ensure_ascii=False)


def as_table(entries: Sequence[dict[str, Any]], *, only_flagged: bool = False) -> str:
    """A readable listing: flagged rows marked, the strongest reason on the row and the rest indented."""
    shown = [e for e in entries if e["flagged"] or not only_flagged]
    width = max([len(e["id"]) for e in shown] + [2])
    lines = [f"{'id':<{width}}  score  flag  reason", f"{'-' * width}  -----  ----  ------"]
    for entry in shown:
        reasons = entry["reasons"] or [""]
        lines.append(f"{entry['id']:<{width}}  {entry['score']:.3f}  {'HOLD' if entry['flagged'] else '':4}  "
                     f"{reasons[0]}")
        lines += [f"{'':<{width}}               {reason}" for reason in reasons[1:]]
    flagged = sum(e["flagged"] for e in entries)
    lines.append(f"{flagged} of {len(entries)} records flagged.")
    return "\n".join(lines)
