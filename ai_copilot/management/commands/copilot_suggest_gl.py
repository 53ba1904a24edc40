"""python manage.py copilot_suggest_gl --source S.csv --target T.csv [--confirmed C.csv] [--top 3] --json

Ranks the target chart's accounts for every source account (see ``ai_copilot.gl``); without ``--json`` prints a
table. No tenant is involved, so the opt-in global prior is not used."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ai_copilot.cli import ChartCsvError, as_json, as_table, suggest_from_csv


def _top(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CommandError(f"--top {text!r} is not a whole number.") from None
    if value < 1:
        raise CommandError(f"--top {value} must be at least 1.")
    return value


class Command(BaseCommand):
    help = ("Suggest target GL accounts for each source account. S and T have columns code,name[,type]; "
            "C has source_code,target_code (mappings already confirmed: they come first with score 1).")

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="source chart CSV (code,name[,type])")
        parser.add_argument("--target", required=True, help="target chart CSV (code,name[,type])")
        parser.add_argument("--confirmed", help="confirmed mappings CSV (source_code,target_code)")
        parser.add_argument("--top", default="3", help="suggestions per source account (default 3)")
        parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")

    def handle(self, *args, source: str, target: str, confirmed: str | None, top: str, json: bool, **options):
        try:
            entries = suggest_from_csv(source, target, confirmed, top=_top(top))
        except ChartCsvError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(as_json(entries) if json else as_table(entries))
