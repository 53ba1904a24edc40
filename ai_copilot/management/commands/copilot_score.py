"""python manage.py copilot_score --history H.csv --records R.csv [--alert-rate 0.01] [--approval-limit 5000] --json

Scores the records against the history (see ``ai_copilot.anomaly``); without ``--json`` prints a table."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from ai_copilot.csvio import CsvError, as_json, as_table, score_files


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"--alert-rate {text!r} is not a number (e.g. 0.01 for 1 %).") from None
    if not 0 <= value <= 1:
        raise CommandError(f"--alert-rate {text} must be between 0 and 1 (e.g. 0.01 for 1 %).")
    return value


def _limit(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CommandError(f"--approval-limit {text!r} is not an amount.") from None
    if not value.is_finite() or value <= 0:
        raise CommandError(f"--approval-limit {text} must be a positive amount.")
    return value


class Command(BaseCommand):
    help = ("Score ledger records for anomalies against the tenant's history (both CSVs with columns "
            "id,kind,date,party,account,amount,currency,tax_rate,reference,description) and flag at most the "
            "given share of records.")

    def add_arguments(self, parser):
        parser.add_argument("--history", required=True, help="posted rows the scorer learns from (.csv or .csv.gz)")
        parser.add_argument("--records", required=True, help="rows to score, one result per row")
        parser.add_argument("--alert-rate", default="0.01", help="largest share of records to flag (default 0.01)")
        parser.add_argument("--approval-limit", default="5000", help="invoice approval limit (default 5000)")
        parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")

    def handle(self, *args, history: str, records: str, alert_rate: str, approval_limit: str, json: bool,
               **options):
        try:
            entries = score_files(history, records, alert_rate=_rate(alert_rate),
                                  approval_limit=_limit(approval_limit))
        except CsvError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(as_json(entries) if json else as_table(entries))
