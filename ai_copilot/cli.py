"""Chart CSVs in, GL suggestions out: the logic behind ``manage.py copilot_suggest_gl`` (the command stays thin).

Charts have columns ``code,name[,type]`` (other columns, as ERP exports carry, are ignored); confirmed mappings
``source_code,target_code``. A bad file stops the run with a :class:`ChartCsvError` naming the file, the line
(the header is line 1) and the column: a chart silently missing rows would give suggestions for the wrong chart.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ai_copilot.accounts import Account
from ai_copilot.csvio import CsvError
from ai_copilot.gl import GlobalPrior, GLSuggester

CHART_COLUMNS = ("code", "name")
CONFIRMED_COLUMNS = ("source_code", "target_code")


# One error type for every co-pilot CSV (file, line, column); the old name stays for the command and callers.
ChartCsvError = CsvError


def _rows(path: str | Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) pairs with lowercased, stripped column names, after checking the required columns."""
    path = Path(path)
    if not path.is_file():
        raise ChartCsvError(path, 0, "", "no such file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or not any(cell.strip() for cell in header):
                raise ChartCsvError(path, 1, "", "the file is empty (expected a header row: "
                                                 f"{','.join(required)})")
            columns = [cell.strip().lower() for cell in header]
            missing = [c for c in required if c not in columns]
            if missing:
                raise ChartCsvError(path, 1, missing[0], f"missing column(s) {', '.join(missing)}; "
                                                         f"the header is {','.join(columns)}")
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) > len(columns):
                    raise ChartCsvError(path, reader.line_num, "", f"{len(row)} fields where the header has "
                                                                   f"{len(columns)}")
                yield reader.line_num, {c: (row[i].strip() if i < len(row) else "") for i, c in enumerate(columns)}
    except UnicodeDecodeError as error:
        raise ChartCsvError(path, 0, "", f"not UTF-8 text ({error.reason})") from error
    except csv.Error as error:
        raise ChartCsvError(path, 0, "", f"unreadable CSV: {error}") from error


def read_chart(path: str | Path) -> list[Account]:
    """A chart of accounts (``code,name[,type]``) in file order; codes must be present and unique."""
    accounts: list[Account] = []
    first_line: dict[str, int] = {}
    for line, row in _rows(path, CHART_COLUMNS):
        code = row["code"]
        if not code:
            raise ChartCsvError(path, line, "code", "empty code")
        if code in first_line:
            raise ChartCsvError(path, line, "code", f"code {code!r} already used on line {first_line[code]}")
        first_line[code] = line
        accounts.append(Account(code, row["name"], row.get("type", "")))
    if not accounts:
        raise ChartCsvError(path, 0, "", "no accounts (only a header)")
    return accounts


def read_confirmed(path: str | Path, sources: Sequence[Account], targets: Sequence[Account]) -> dict[str, str]:
    """Confirmed mappings (``source_code,target_code``); both codes must be in their charts, one target each."""
    source_codes, target_codes = {a.code for a in sources}, {a.code for a in targets}
    confirmed: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for line, row in _rows(path, CONFIRMED_COLUMNS):
        source, target = row["source_code"], row["target_code"]
        if source not in source_codes:
            raise ChartCsvError(path, line, "source_code", f"{source!r} is not a code of the source chart")
        if target not in target_codes:
            raise ChartCsvError(path, line, "target_code", f"{target!r} is not a code of the target chart")
        if source in confirmed and confirmed[source] != target:
            raise ChartCsvError(path, line, "source_code", f"{source!r} is already confirmed to "
                                                           f"{confirmed[source]!r} on line {first_line[source]}")
        confirmed[source] = target
        first_line.setdefault(source, line)
    return confirmed


def suggest_from_csv(source: str | Path, target: str | Path, confirmed: str | Path | None = None, *,
                     top: int = 3, prior: GlobalPrior | None = None) -> list[dict[str, Any]]:
    """``[{"source_code", "suggestions": [{"target_code", "score", "reason"}, ...]}, ...]`` in source order."""
    if top < 1:
        raise ValueError("top must be at least 1")
    sources, targets = read_chart(source), read_chart(target)
    mapping = read_confirmed(confirmed, sources, targets) if confirmed else {}
    suggester = GLSuggester(targets, confirmed=mapping, sources=sources, prior=prior)
    return [{"source_code": code,
             "suggestions": [{"target_code": s.target_code, "score": s.score, "reason": s.reason}
                             for s in suggestions]}
            for code, suggestions in suggester.suggest_all(sources, top=top)]


def as_json(entries: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(entries), indent=1)


def as_table(entries: Sequence[dict[str, Any]]) -> str:
    """One line per suggestion: source, rank, target, score, reason."""
    lines = [f"{'source':<12} {'#':>2} {'target':<14} {'score':>6}  reason"]
    for entry in entries:
        if not entry["suggestions"]:
            lines.append(f"{entry['source_code']:<12} {'-':>2} {'(none)':<14}")
        for rank, s in enumerate(entry["suggestions"], 1):
            lines.append(f"{entry['source_code'] if rank == 1 else '':<12} {rank:>2} {s['target_code']:<14} "
                         f"{s['score']:>6.3f}  {s['reason']}")
    return "\n".join(lines)
