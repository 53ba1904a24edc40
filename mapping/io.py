"""Import and export of mapping sets: the whole set as JSON, the GL map as CSV (docs/mapping.md).

Both imports land in the flow's *draft*, never straight in the published version: the tenant (or partner)
reviews the diff and publishes like any other edit, and the draft's validation applies. Every problem of a
file is reported at once, with where it is ("row 7: account is empty", "rules.gl_accounts"), so a 500-row
spreadsheet needs one round trip, not 500.

JSON document::

    {"format": "ledgerbridge-mapping/1", "flow": "<flow key>", "rules": {...}}

(exports add ``version``, ``note`` and ``exported_at``, which an import ignores).

GL CSV: a header row, then ``source_code,target_account[,department,customer_group]``. A row with neither
department nor customer group is the flat first level (section ``gl_accounts``: {nominal: account}); a row
with either is a more specific rule in ``gl_rules`` ([{"nominal", "account", "department"?,
"customer_group"?}]). UTF-8 (a BOM is fine), comma or semicolon separated (spreadsheets in many locales save
semicolons).
"""

from __future__ import annotations

import copy
import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from mapping.models import MappingVersion
from mapping.versions import MappingError, Problem, published_version, save_draft, start_draft

FORMAT = "ledgerbridge-mapping/1"
INFO_KEYS = {"version", "note", "exported_at"}  # written by export, ignored by import
GL_SECTION = "gl_accounts"
GL_RULES_SECTION = "gl_rules"
GL_COLUMNS = ("source_code", "target_account", "department", "customer_group")
GL_REQUIRED = ("source_code", "target_account")
MAX_CSV_BYTES = 5_000_000
MAX_CSV_ROWS = 50_000
MAX_VALUE_LENGTH = 60  # longer than any nominal, account, department or group code of Kashflow, AX or Sage


class ImportRejected(MappingError):
    """The file cannot be imported; ``errors`` lists every problem found (path or row, message)."""

    def __init__(self, errors: list[Problem], what: str = "file"):
        self.errors = errors
        count = len(errors)
        head = "; ".join(str(e) for e in errors[:3]) + ("; ..." if count > 3 else "")
        super().__init__("invalid", f"The {what} has {count} error{'s' if count != 1 else ''}: {head}")


# ---------------------------------------------------------------------------------------------- JSON

def export_json(flow, version: MappingVersion | None = None) -> dict[str, Any]:
    """The mapping set of ``version`` (default: the published one) as an import-ready document."""
    version = version or published_version(flow)
    return {"format": FORMAT, "flow": flow.key,
            "version": "draft" if version.status == MappingVersion.Status.DRAFT else version.number,
            "note": version.note, "exported_at": timezone.now().isoformat(timespec="seconds"),
            "rules": copy.deepcopy(version.rules)}


def parse_json(data: bytes | str | dict[str, Any], flow_key: str) -> dict[str, Any]:
    """The rules of a JSON mapping document for flow ``flow_key``; ImportRejected naming every problem."""
    if isinstance(data, bytes):
        text = _decode(data, "document")
    elif isinstance(data, str):
        text = data
    else:
        text = None
    if text is not None:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ImportRejected([Problem("", f"not valid JSON: {error.msg} at line {error.lineno} column "
                                              f"{error.colno}")], "document") from None
    if not isinstance(data, dict):
        raise ImportRejected([Problem("", "the document must be a JSON object with format, flow and rules")],
                             "document")
    problems = []
    if data.get("format") != FORMAT:
        problems.append(Problem("format", f"expected {FORMAT!r}, got {data.get('format')!r}"))
    if "flow" not in data:
        problems.append(Problem("flow", "missing: the key of the flow the mapping is for"))
    elif data["flow"] != flow_key:
        problems.append(Problem("flow", f"the document is for flow {data['flow']!r}, not {flow_key!r}"))
    if "rules" not in data:
        problems.append(Problem("rules", "missing"))
    elif not isinstance(data["rules"], dict):
        problems.append(Problem("rules", "must be a JSON object of sections"))
    for key in sorted(set(data) - {"format", "flow", "rules"} - INFO_KEYS, key=str):
        problems.append(Problem(str(key), "unknown key (a mapping document has format, flow and rules)"))
    if problems:
        raise ImportRejected(problems, "document")
    return data["rules"]


def import_json(flow, data: bytes | str | dict[str, Any], *, actor=None, note: str | None = None) -> MappingVersion:
    """Replace the flow's draft with the document's rules (validated like any draft save)."""
    rules = parse_json(data, flow.key)
    return save_draft(flow, rules, actor=actor, note=note, action="mapping.imported",
                      details={"format": "json"})


# ---------------------------------------------------------------------------------------------- GL CSV

@dataclass(frozen=True)
class GlMap:
    """A parsed GL CSV: the flat level and the more specific rules."""

    accounts: dict[str, str]
    rules: list[dict[str, str]]


def export_gl_csv(rules: dict[str, Any]) -> str:
    """The GL map of a rules dict as CSV; department/customer_group columns only when a rule uses them."""
    flat = rules.get(GL_SECTION) or {}
    specific = [r for r in rules.get(GL_RULES_SECTION) or [] if isinstance(r, dict)]
    columns = list(GL_REQUIRED)
    for name in ("department", "customer_group"):
        if any(r.get(name) for r in specific):
            columns.append(name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for code in sorted(flat, key=_code_order):
        writer.writerow([code, flat[code]] + [""] * (len(columns) - 2))
    for rule in sorted(specific, key=lambda r: (_code_order(str(r.get("nominal", ""))),
                                                str(r.get("department", "")), str(r.get("customer_group", "")))):
        writer.writerow([rule.get("nominal", ""), rule.get("account", "")] + [rule.get(c, "") for c in columns[2:]])
    return out.getvalue()


def parse_gl_csv(data: bytes | str) -> GlMap:
    """Read a GL CSV, collecting every problem (bad encoding, unknown/missing columns, empty values, duplicate
    keys) with its row number as a spreadsheet shows it (the header is row 1)."""
    if isinstance(data, bytes):
        if len(data) > MAX_CSV_BYTES:
            raise ImportRejected([Problem("", f"the file is {len(data):,} bytes; the limit is {MAX_CSV_BYTES:,}")])
        text = _decode(data, "file")
    else:
        text = data.removeprefix("\ufeff")
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise ImportRejected([Problem("", "the file is empty: expected a header row source_code,target_account")])
    header_line = next(line for line in lines if line.strip())
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: list[Problem] = []
    try:
        header = next(r for r in reader if any(c.strip() for c in r))
        columns = [c.strip().lower() for c in header]
        problems += _header_problems(columns, reader.line_num)
        if problems:
            raise ImportRejected(problems)
        accounts: dict[str, str] = {}
        rules: list[dict[str, str]] = []
        seen: dict[tuple[str, str, str], int] = {}
        count = 0
        for row in reader:
            row_no = reader.line_num
            if not any(c.strip() for c in row):
                continue
            count += 1
            if count > MAX_CSV_ROWS:
                problems.append(Problem(f"row {row_no}", f"more than {MAX_CSV_ROWS:,} rows; split the file"))
                break
            if len(row) > len(columns) and any(c.strip() for c in row[len(columns):]):
                problems.append(Problem(f"row {row_no}", f"{len(row)} values, but the header has {len(columns)} "
                                                         "columns"))
                continue
            values = {name: (row[i].strip() if i < len(row) else "") for i, name in enumerate(columns)}
            row_problems = _row_problems(values, row_no)
            if row_problems:
                problems += row_problems
                continue
            key = (values["source_code"], values.get("department", ""), values.get("customer_group", ""))
            if key in seen:
                problems.append(Problem(f"row {row_no}", f"duplicate of row {seen[key]} ({_describe(key)})"))
                continue
            seen[key] = row_no
            if key[1] or key[2]:
                rule = {"nominal": key[0], "account": values["target_account"]}
                rule |= {"department": key[1]} if key[1] else {}
                rule |= {"customer_group": key[2]} if key[2] else {}
                rules.append(rule)
            else:
                accounts[key[0]] = values["target_account"]
    except csv.Error as error:
        problems.append(Problem(f"row {reader.line_num}", f"cannot be read as CSV: {error}"))
    if problems:
        raise ImportRejected(problems)
    if not accounts and not rules:
        raise ImportRejected([Problem("", "the file has a header but no rows")])
    return GlMap(accounts, rules)


def merge_gl(rules: dict[str, Any], gl: GlMap, *, mode: str) -> dict[str, Any]:
    """``rules`` with its GL sections replaced by ``gl`` (``mode="replace"``) or updated from it ("merge":
    rows of the file win, entries not in the file are kept)."""
    if mode not in ("replace", "merge"):
        raise MappingError("invalid_value", f"Unknown import mode {mode!r}: use 'replace' or 'merge'.")
    result = copy.deepcopy(rules)
    if mode == "replace":
        result[GL_SECTION] = dict(gl.accounts)
        if gl.rules:
            result[GL_RULES_SECTION] = list(gl.rules)
        else:
            result.pop(GL_RULES_SECTION, None)
        return result
    result[GL_SECTION] = {**(result.get(GL_SECTION) or {}), **gl.accounts}
    if gl.rules:
        by_key = {_rule_key(r): r for r in result.get(GL_RULES_SECTION) or [] if isinstance(r, dict)}
        by_key |= {_rule_key(r): r for r in gl.rules}
        result[GL_RULES_SECTION] = list(by_key.values())
    return result


def import_gl_csv(flow, data: bytes | str, *, mode: str = "replace", actor=None) -> MappingVersion:
    """Put the CSV's GL map into the flow's draft (replacing or merging its GL sections), validated."""
    if mode not in ("replace", "merge"):
        raise MappingError("invalid_value", f"Unknown import mode {mode!r}: use 'replace' or 'merge'.")
    if GL_SECTION not in published_version(flow).rules:
        raise MappingError("invalid_value", f"{flow.name} has no GL account map ({GL_SECTION}) to import into.")
    gl = parse_gl_csv(data)
    draft = start_draft(flow, actor=actor)
    return save_draft(flow, merge_gl(draft.rules, gl, mode=mode), actor=actor, action="mapping.imported",
                      details={"format": "gl_csv", "mode": mode, "rows": len(gl.accounts) + len(gl.rules)})


# ---------------------------------------------------------------------------------------------- helpers

def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data[:error.start].count(b"\n") + 1
        where = f"row {row}" if what == "file" else f"line {row}"
        raise ImportRejected([Problem(where, f"is not UTF-8 (byte 0x{data[error.start]:02x}); save the {what} "
                                             "as UTF-8")], what) from None


def _header_problems(columns: list[str], row_no: int) -> list[Problem]:
    problems = []
    where = f"row {row_no}"
    for name in columns:
        if name and name not in GL_COLUMNS:
            problems.append(Problem(where, f"unknown column {name!r} (expected {', '.join(GL_COLUMNS)})"))
    if "" in columns:
        problems.append(Problem(where, "a column has no name"))
    for name in GL_COLUMNS:
        if columns.count(name) > 1:
            problems.append(Problem(where, f"column {name!r} appears twice"))
    for name in GL_REQUIRED:
        if name not in columns:
            problems.append(Problem(where, f"column {name!r} is missing (the header must name source_code and "
                                           "target_account)"))
    return problems


def _row_problems(values: dict[str, str], row_no: int) -> list[Problem]:
    where = f"row {row_no}"
    problems = []
    if not values["source_code"]:
        problems.append(Problem(where, "source code is empty"))
    if not values["target_account"]:
        problems.append(Problem(where, "account is empty"))
    for name, value in values.items():
        if len(value) > MAX_VALUE_LENGTH:
            problems.append(Problem(where, f"{name} is {len(value)} characters long (at most {MAX_VALUE_LENGTH})"))
        elif any(ord(ch) < 32 for ch in value):
            problems.append(Problem(where, f"{name} {value!r} contains a control character"))
    return problems


def _describe(key: tuple[str, str, str]) -> str:
    parts = [f"source code {key[0]}"]
    parts += [f"department {key[1]}"] if key[1] else []
    parts += [f"customer group {key[2]}"] if key[2] else []
    return ", ".join(parts)


def _rule_key(rule: dict[str, Any]) -> tuple[str, str, str]:
    return (str(rule.get("nominal", "")), str(rule.get("department", "")), str(rule.get("customer_group", "")))


def _code_order(code: str) -> tuple[int, int | str]:
    return (0, int(code)) if code.isdigit() else (1, code)
