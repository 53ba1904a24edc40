"""Anomaly scoring inside the tenant: history from what Ledgerbridge already carried, a stored scorer, and the
gate the pipeline asks before a transaction is posted.

* **History**: the tenant's sales invoices, payments, purchase invoices and journals that went across
  (``SyncRecord`` payloads, canonical), newest version per source record, the last ``HISTORY_DAYS``.
* **Model**: ``AnomalyScorer`` fitted on that history and on the tenant's dismissals (``AnomalyLabel``), stored
  in the tenant's schema (``ai_copilot.store``, scope ``anomaly``) and retrained daily by the worker.
* **Alert budget**: the tenant's ``alert_rate`` (``Budget``). A record is flagged when its score reaches the level
  that flags that share of the tenant's recent scored records, clears the scorer's own evidence floor, and the
  recent window still has room for a flag.
* **Gate**: flagged records are held for approval or only marked, as the tenant chose. Approving a held record
  records a dismissal, rejecting it a confirmation; both are labels for the next training.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils import timezone

from ai_copilot import store
from ai_copilot.anomaly import AnomalyScorer, Score, Txn
from ai_copilot.models import AnomalyLabel, CopilotSettings
from integrations.sync.models import Flow, SyncRecord

log = logging.getLogger("ledgerbridge.copilot.anomaly")

SCOPE = "anomaly"
HISTORY_DAYS = 400
HISTORY_MAX = 50_000
RECENT_MAX = 5_000  # records posted since the model was trained: the scorer sees them as context
BUDGET_WINDOW = 2_000  # recent scores the alert threshold is taken from


def min_history() -> int:
    """Transactions the scorer must have learnt from before it may hold anything (it only marks until then)."""
    from django.conf import settings

    return int(getattr(settings, "LEDGERBRIDGE_COPILOT_MIN_HISTORY", 200))
ENTITY_KIND = {"sales_invoice": "sales_invoice", "customer_payment": "payment",
               "purchase_invoice": "purchase_invoice", "journal": "journal"}


# ---------------------------------------------------------------------------------------------- canonical -> Txn


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return None


def _main_line(lines: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The line carrying most of the value: its account and tax rate stand for the document."""
    return max(lines, key=lambda line: abs(_decimal(line.get("net_amount")) or Decimal(0)), default={})


def txns_of(entity: str, source_id: str, payload: dict[str, Any]) -> list[Txn]:
    """The scoring rows of one record's canonical payload (empty when it carries no transaction)."""
    kind = ENTITY_KIND.get(entity)
    if kind is None or not isinstance(payload, dict) or payload.get("unreadable"):
        return []
    if kind in ("sales_invoice", "purchase_invoice"):
        day, amount = _date(payload.get("issue_date")), _decimal(payload.get("gross_amount"))
        if day is None or amount is None:
            return []
        line = _main_line(payload.get("lines") or [])
        party = payload.get("customer_code") if kind == "sales_invoice" else payload.get("supplier_code")
        return [Txn(id=source_id, kind=kind, date=day, party=str(party or ""),
                    account=str(line.get("account_code", "")),
                    amount=amount, currency=str(payload.get("currency") or ""),
                    tax_rate=_decimal(line.get("tax_rate")), reference=str(payload.get("number") or ""),
                    description=str(line.get("description") or ""))]
    if kind == "payment":
        out = []
        for n, payment in enumerate(payload.get("payments") or []):
            day, amount = _date(payment.get("payment_date")), _decimal(payment.get("amount"))
            if day is None or amount is None:
                continue
            out.append(Txn(id=f"{source_id}#{n}", kind="payment", date=day,
                           party=str(payment.get("party_code") or payload.get("customer_code") or ""),
                           account=str(payment.get("bank_account") or ""), amount=amount,
                           currency=str(payment.get("currency") or payload.get("currency") or ""), tax_rate=None,
                           reference=str(payment.get("invoice_number") or payload.get("invoice_number") or ""),
                           description=str(payment.get("method") or "")))
        return out
    day = _date(payload.get("journal_date"))
    if day is None:
        return []
    reference = str(payload.get("number") or source_id)
    return [Txn(id=f"{source_id}#{n}", kind="journal", date=day, party="", account=str(line.get("account_code", "")),
                amount=_decimal(line.get("amount")) or Decimal(0), currency=str(payload.get("currency") or ""),
                tax_rate=None, reference=reference, description=str(line.get("description") or ""))
            for n, line in enumerate(payload.get("lines") or [])]


def _transaction_records() -> Any:
    return SyncRecord.objects.filter(entity__in=list(ENTITY_KIND))


def history(*, since: date | None = None, limit: int = HISTORY_MAX) -> list[Txn]:
    """What the tenant already posted (newest version of each source record), oldest first."""
    since = since or (timezone.now() - timedelta(days=HISTORY_DAYS)).date()
    rows = (_transaction_records().filter(status=SyncRecord.Status.POSTED, updated_at__date__gte=since)
            .order_by("entity", "source_id", "-updated_at").distinct("entity", "source_id")
            .values_list("entity", "source_id", "payload"))
    txns: list[Txn] = []
    for entity, source_id, payload in rows.iterator(chunk_size=2000):
        txns += txns_of(entity, source_id, payload)
    txns.sort(key=lambda t: (t.date, t.id))
    return txns[-limit:]


def dismissals() -> list[tuple[str, str]]:
    return list(AnomalyLabel.objects.filter(verdict=AnomalyLabel.Verdict.DISMISSED)
                .values_list("reason_code", "key"))


# ---------------------------------------------------------------------------------------------- the model


def train() -> dict[str, Any]:
    """Fit the tenant's scorer on its history and dismissals and store it. Returns what was done."""
    options = CopilotSettings.current()
    started = time.perf_counter()
    rows = history()
    scorer = AnomalyScorer(approval_limit=options.approval_limit).fit(rows, dismissed=dismissals())
    seconds = time.perf_counter() - started
    store.save(SCOPE, scorer, training_rows=len(rows),
               metrics={"fit_seconds": round(seconds, 3), "approval_limit": str(options.approval_limit),
                        "history_from": rows[0].date.isoformat() if rows else None})
    _loaded.clear()
    return {"rows": len(rows), "seconds": round(seconds, 3)}


_loaded: dict[tuple[str, int, str], AnomalyScorer] = {}  # (schema, row pk, trained_at) -> unpickled scorer


def scorer() -> tuple[AnomalyScorer, Any]:
    """The tenant's stored scorer (trained now if there is none usable) and its stored row."""
    from django.db import connection

    try:
        found = store.load(SCOPE)
    except store.ModelRefused:
        store.forget(SCOPE)
        found = None
    if found is None:
        train()
        found = store.load(SCOPE)
    key = (connection.schema_name, found.row.pk, found.row.trained_at.isoformat())
    if key not in _loaded:
        _loaded.clear()
        _loaded[key] = found.obj
    return _loaded[key], found.row


@dataclass
class Budget:
    """The alert budget over the tenant's most recent scored records (``BUDGET_WINDOW``): a record is flagged
    when its score reaches the level that flags ``alert_rate`` of them (never below the scorer's evidence floor)
    *and* the window still has room — so a young tenant with few scores is never flooded: it gets at most one
    flag until its window is large enough to allow more."""

    alert_rate: float
    floor: float
    scored: int = 0
    flagged: int = 0
    cut: float = 0.0

    @classmethod
    def load(cls, alert_rate: float, floor: float) -> Budget:
        recent = list(_transaction_records().filter(anomaly_score__isnull=False).order_by("-updated_at")
                      .values_list("anomaly_score", "anomaly_flagged")[:BUDGET_WINDOW])
        budget = cls(alert_rate, floor, scored=len(recent), flagged=sum(1 for _s, f in recent if f))
        if len(recent) >= 100:  # enough to take a quantile from
            scores = sorted((s for s, _f in recent), reverse=True)
            allowed = int(alert_rate * len(scores))
            budget.cut = (scores[allowed] if allowed < len(scores) else 0.0) + 1e-9
        return budget

    @property
    def threshold(self) -> float:
        return max(self.floor, self.cut)

    def admit(self, score: float) -> bool:
        """Whether a record with ``score`` is flagged; counts it either way."""
        room = max(1, int(self.alert_rate * (min(self.scored, BUDGET_WINDOW) + 1)))
        flagged = score >= self.threshold and self.flagged < room
        self.scored += 1
        self.flagged += flagged
        return flagged


# ---------------------------------------------------------------------------------------------- the gate


@dataclass
class Verdict:
    score: float
    flagged: bool
    reasons: list[dict[str, str]]
    hold: str = ""


class AnomalyGate:
    """Asked once per record before it is transformed (``Pipeline.process``)."""

    def __init__(self, flow: Flow, options: CopilotSettings) -> None:
        self.flow = flow
        self.options = options
        self.scorer, row = scorer()
        self.learning = row.training_rows < min_history()  # too little seen: mark, never hold
        self.budget = Budget.load(float(options.alert_rate), float(getattr(self.scorer, "evidence_floor", 0.5)))
        since = row.trained_at - timedelta(days=1)
        recent = (_transaction_records().filter(status=SyncRecord.Status.POSTED, updated_at__gte=since)
                  .order_by("-updated_at").values_list("entity", "source_id", "payload")[:RECENT_MAX])
        self.recent: list[Txn] = [t for entity, sid, payload in recent for t in txns_of(entity, sid, payload)]
        self.recent.sort(key=lambda t: (t.date, t.id))
        self._known = {t.id for t in self.recent}

    @classmethod
    def for_flow(cls, flow: Flow, entity: str) -> AnomalyGate | None:
        """The gate for a flow carrying ``entity`` records, or None: not a transaction, or scoring is off."""
        if entity not in ENTITY_KIND:
            return None
        options = CopilotSettings.current()
        if options.anomaly_mode == CopilotSettings.AnomalyMode.OFF:
            return None
        try:
            return cls(flow, options)
        except Exception:  # the co-pilot must never stop a run: without it, records post as before
            log.exception("anomaly scoring is unavailable for %s; records go on unscored", flow.key)
            return None

    def check(self, record: SyncRecord) -> Verdict | None:
        """Score the record, remember it on the record, and say whether to hold it."""
        rows = txns_of(record.entity, record.source_id, record.payload)
        if not rows:
            return None
        if rows[0].kind == "payment" and not self._invoice_context(rows):
            # Kashflow hangs every payment off an invoice, and the engine makes a payment wait until its invoice
            # is posted; an invoice Ledgerbridge has not read yet is ordering, not an anomaly. Scored next time.
            return None
        scores: list[Score] = []
        for row in rows:
            scores.append(self.scorer.score_one(row, self.recent[-RECENT_MAX:]))
            self.recent.append(row)
            self._known.add(row.id)
        worst = max(scores, key=lambda s: s.score)
        flagged = self.budget.admit(worst.score)
        reasons = [{"code": r.code, "text": r.text, "key": getattr(r, "key", "")} for r in worst.reasons]
        verdict = Verdict(round(worst.score, 4), flagged, reasons)
        if flagged and self.options.anomaly_mode == CopilotSettings.AnomalyMode.HOLD and not self.learning:
            why = "; ".join(r["text"] for r in reasons[:2]) or "unusual for this tenant"
            verdict.hold = f"Co-pilot flagged this (score {worst.score:.2f}): {why}"
        record.anomaly_score, record.anomaly_flagged, record.anomaly_reasons = (
            verdict.score, verdict.flagged, verdict.reasons)
        return verdict


    def prepare(self, records: Sequence[SyncRecord]) -> None:
        """Read, in one query, the invoices this batch's payments settle that the scorer has not seen yet (posted
        or not: what Ledgerbridge read from Kashflow), so each payment is scored against its invoice."""
        wanted = {t.reference for r in records for t in txns_of(r.entity, r.source_id, r.payload)
                  if t.kind == "payment"} - self._known
        if not wanted:
            return
        found = (SyncRecord.objects.filter(entity="sales_invoice", source_id__in=sorted(wanted))
                 .order_by("source_id", "-updated_at").distinct("source_id")
                 .values_list("entity", "source_id", "payload"))
        for entity, source_id, payload in found:
            invoice = txns_of(entity, source_id, payload)
            self.recent.extend(invoice)
            self._known.update(t.id for t in invoice)

    def _invoice_context(self, payments: list[Txn]) -> bool:
        """Whether the invoices these payments settle are in the scorer's context (see :meth:`prepare`)."""
        return all(payment.reference in self._known for payment in payments)


# ---------------------------------------------------------------------------------------------- labels


def label(records: Iterable[SyncRecord], verdict: str, *, actor) -> int:
    """Record a person's verdict on flagged records: one label per reason (what the scorer learns from)."""
    labels = [AnomalyLabel(record=record, reason_code=reason.get("code", ""), key=reason.get("key", ""),
                           verdict=verdict, actor=actor if getattr(actor, "pk", None) else None)
              for record in records if record.anomaly_flagged for reason in (record.anomaly_reasons or [])
              if reason.get("code")]
    AnomalyLabel.objects.bulk_create(labels)
    return len(labels)


def dismiss(record: SyncRecord, *, actor) -> int:
    """"Not an anomaly": keep the label and clear the flag (the record itself is untouched otherwise)."""
    count = label([record], AnomalyLabel.Verdict.DISMISSED, actor=actor)
    SyncRecord.objects.filter(pk=record.pk).update(anomaly_flagged=False)
    return count


def flagged_records(flow: Flow | None = None) -> Any:
    records = _transaction_records().filter(anomaly_flagged=True)
    return records.filter(flow=flow) if flow is not None else records


def on_approved_or_rejected(pks: Sequence[int], *, approved: bool, actor) -> None:
    """Inbox hook: a held flagged record approved is a dismissal; rejected, a confirmation."""
    records = list(SyncRecord.objects.filter(Q(pk__in=list(pks)) & Q(anomaly_flagged=True)))
    label(records, AnomalyLabel.Verdict.DISMISSED if approved else AnomalyLabel.Verdict.CONFIRMED, actor=actor)
