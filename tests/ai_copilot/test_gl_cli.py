"""``manage.py copilot_suggest_gl``: CSVs in, JSON or a table out, and bad files named precisely."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

SOURCE = "code,name,type\n7100,Rent,Expenditure\n7502,Telephone,Expenditure\n1100,Debtors Control Account,5\n"
TARGET = ("code,name,type,extra\n605150,Rent Expense,2,x\n606300,Office Expense,2,x\n"
          "130100,Accounts Receivable - Domestic,4,x\n618900,Miscellaneous Expense,2,x\n")


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(path)


def run(*args):
    out = StringIO()
    call_command("copilot_suggest_gl", *args, stdout=out)
    return out.getvalue()


def test_json_lists_every_source_with_ranked_suggestions(tmp_path):
    out = run("--source", write(tmp_path, "s.csv", SOURCE), "--target", write(tmp_path, "t.csv", TARGET),
              "--top", "2", "--json")
    entries = json.loads(out)
    assert [e["source_code"] for e in entries] == ["7100", "7502", "1100"]
    assert all(set(e) == {"source_code", "suggestions"} for e in entries)
    assert [len(e["suggestions"]) for e in entries] == [2, 2, 1]  # debtors: the only balance-sheet target
    first = entries[0]["suggestions"][0]
    assert set(first) == {"target_code", "score", "reason"} and first["target_code"] == "605150"
    assert entries[2]["suggestions"][0]["target_code"] == "130100"


def test_confirmed_mappings_come_first_with_score_one(tmp_path):
    confirmed = write(tmp_path, "c.csv", "source_code,target_code\n7502,618900\n")
    entries = json.loads(run("--source", write(tmp_path, "s.csv", SOURCE), "--target",
                             write(tmp_path, "t.csv", TARGET), "--confirmed", confirmed, "--json"))
    assert entries[1]["suggestions"][0] == {"target_code": "618900", "score": 1.0, "reason": "confirmed mapping"}


def test_without_json_a_readable_table_is_printed(tmp_path):
    out = run("--source", write(tmp_path, "s.csv", SOURCE), "--target", write(tmp_path, "t.csv", TARGET))
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["source", "#", "target", "score"]
    assert lines[1].split()[:3] == ["7100", "1", "605150"] and "name similarity" in lines[1]


@pytest.mark.parametrize(("source", "message"), [
    ("code,title\n7100,Rent\n", "s.csv, line 1, column 'name': missing column(s) name"),
    ("code,name\n7100,Rent\n7100,Rates\n", "s.csv, line 3, column 'code': code '7100' already used on line 2"),
    ("", "s.csv, line 1: the file is empty"),
    ("code,name\n", "s.csv: no accounts"),
    ("code,name\n,Rent\n", "s.csv, line 2, column 'code': empty code"),
    ("code,name\n7100,Rent,Expenditure,extra\n", "s.csv, line 2: 4 fields where the header has 2"),
    (b"code,name\n7100,R\xe9nt\n", "s.csv: not UTF-8 text"),
])
def test_bad_source_files_name_the_file_and_row(tmp_path, source, message):
    path = write(tmp_path, "s.csv", source)
    with pytest.raises(CommandError) as error:
        run("--source", path, "--target", write(tmp_path, "t.csv", TARGET), "--json")
    assert message in str(error.value)


def test_bad_confirmed_files_and_arguments_are_refused(tmp_path):
    source, target = write(tmp_path, "s.csv", SOURCE), write(tmp_path, "t.csv", TARGET)
    unknown = write(tmp_path, "c.csv", "source_code,target_code\n7100,999999\n")
    with pytest.raises(CommandError, match=r"c.csv, line 2, column 'target_code': '999999' is not a code"):
        run("--source", source, "--target", target, "--confirmed", unknown)
    twice = write(tmp_path, "d.csv", "source_code,target_code\n7100,605150\n7100,606300\n")
    with pytest.raises(CommandError, match=r"d.csv, line 3, column 'source_code': '7100' is already confirmed"):
        run("--source", source, "--target", target, "--confirmed", twice)
    with pytest.raises(CommandError, match="no such file"):
        run("--source", str(tmp_path / "missing.csv"), "--target", target)
    with pytest.raises(CommandError, match="at least 1"):
        run("--source", source, "--target", target, "--top", "0")
