"""GL-mapping suggestions for a tenant's flow: the engine (``ai_copilot.gl``) fed with the tenant's own data.

Inputs, all from the tenant: the flow's Kashflow nominals and the ERP's live chart (``ai_copilot.charts``), the
GL map it is editing (draft, else published: every row there is a confirmation), its accept/reject history
(``GLFeedback``), and — only when the tenant opted in — the global prior. The fitted suggester is stored per
tenant and flow (``ai_copilot.store``) under a digest of those inputs, so an unchanged tenant reuses it and any
accept, reject or mapping edit retrains it on the next request.

Nothing here writes a mapping on its own. ``accept`` writes into the draft a person publishes;
``auto_accept`` acts only when the tenant set a threshold, publishes only unmapped accounts, and says so in the
version note and the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from ai_copilot import charts, store
from ai_copilot.accounts import Account
from ai_copilot.gl import GLSuggester, Suggestion
from ai_copilot.models import CopilotSettings, GLFeedback
from ai_copilot.prior import prior_for_tenant
from integrations.sync.models import Flow, System
from mapping import versions
from portal.accounts.audit import audit

log = logging.getLogger("ledgerbridge.copilot.gl")

SECTION = "gl_accounts"


class CopilotError(Exception):
    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class SourceRow:
    """One Kashflow nominal in the editor: what it maps to now (if anything) and what the co-pilot proposes."""

    account: Account
    mapped_to: str = ""
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def best(self) -> Suggestion | None:
        return self.suggestions[0] if self.suggestions else None

    def as_dict(self) -> dict[str, Any]:
        return {"source_code": self.account.code, "source_name": self.account.name, "source_type": self.account.type,
                "mapped_to": self.mapped_to,
                "suggestions": [{"target_code": s.target_code, "score": round(s.score, 4), "reason": s.reason}
                                for s in self.suggestions]}


def supports(flow: Flow) -> bool:
    """GL suggestions make sense for flows from Kashflow into an ERP whose rules carry a GL map."""
    return (flow.source.system == System.KASHFLOW and flow.target.system in (System.DYNAMICS_AX, System.SAGE100)
            and SECTION in versions.published_version(flow).rules)


def _working_map(flow: Flow) -> dict[str, str]:
    draft = versions.draft_version(flow)
    rules = (draft if draft is not None else versions.published_version(flow)).rules
    table = rules.get(SECTION)
    return {str(k): str(v) for k, v in table.items()} if isinstance(table, dict) else {}


def _verdicts(flow: Flow) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """(accepted source -> target, rejected pairs) from feedback; the latest verdict on a pair counts."""
    latest: dict[tuple[str, str], str] = {}
    for source, target, verdict in (GLFeedback.objects.filter(flow=flow).order_by("created_at", "pk")
                                    .values_list("source_code", "target_code", "verdict")):
        latest[(source, target)] = verdict
    accepted = {s: t for (s, t), v in latest.items() if v == GLFeedback.Verdict.ACCEPTED}
    rejected = {pair for pair, v in latest.items() if v == GLFeedback.Verdict.REJECTED}
    return accepted, rejected


def suggester(flow: Flow, *, sources: list[Account] | None = None,
              targets: list[Account] | None = None) -> tuple[GLSuggester, list[Account], list[Account]]:
    """The tenant's fitted suggester for ``flow`` (stored, or trained now when its inputs changed)."""
    sources = charts.source_accounts(flow) if sources is None else sources
    targets = charts.target_accounts(flow) if targets is None else targets
    mapped = _working_map(flow)
    accepted, rejected = _verdicts(flow)
    valid = {a.code for a in targets}
    # The map the tenant keeps is its strongest confirmation; accepted suggestions not (yet) in it count too.
    confirmed = {s: t for s, t in {**accepted, **mapped}.items() if t in valid}
    prior, prior_id = prior_for_tenant(flow.target.system)
    digest = charts.digest(sources, targets, extra=[sorted(confirmed.items()), sorted(rejected), prior_id])
    scope = f"gl:{flow.key}"
    try:
        loaded = store.load(scope, inputs_digest=digest)
    except store.ModelRefused:
        store.forget(scope)
        loaded = None
    if loaded is not None:
        return loaded.obj, sources, targets
    model = GLSuggester(targets, confirmed=confirmed, rejected=rejected, sources=sources, prior=prior)
    store.save(scope, model, inputs_digest=digest, training_rows=len(confirmed) + len(rejected),
               metrics={"sources": len(sources), "targets": len(targets), "confirmed": len(confirmed),
                        "rejected": len(rejected), "prior": bool(prior)})
    return model, sources, targets


def rows(flow: Flow, *, top: int = 3, only_unmapped: bool = False) -> list[SourceRow]:
    """Every Kashflow nominal with its current mapping and the co-pilot's suggestions (unmapped first)."""
    model, sources, _targets = suggester(flow)
    mapped = _working_map(flow)
    out = []
    for account in sources:
        current = mapped.get(account.code, "")
        if only_unmapped and current:
            continue
        out.append(SourceRow(account, current, [] if current else model.suggest(account, top=top)))
    out.sort(key=lambda r: (bool(r.mapped_to), -(r.best.score if r.best else 0.0), r.account.code))
    return out


def suggest_for(flow: Flow, code: str, *, top: int = 3) -> SourceRow:
    """Suggestions for one source code (the inbox's "mapping missing" items), even if Kashflow lists no such
    nominal any more (then the code alone is used)."""
    model, sources, _targets = suggester(flow)
    account = next((a for a in sources if a.code == str(code)), Account(str(code), "", ""))
    return SourceRow(account, _working_map(flow).get(account.code, ""), model.suggest(account, top=top))


@dataclass
class _Charts:
    """Both charts read once per action, for the names kept with verdicts and the check of accepted targets.
    Empty when the ERP cannot be read: the verdict is kept without names, and publishing reports the chart."""

    sources: dict[str, Account]
    targets: dict[str, Account]
    readable: bool

    @classmethod
    def of(cls, flow: Flow) -> _Charts:
        try:
            return cls({a.code: a for a in charts.source_accounts(flow)},
                       {a.code: a for a in charts.target_accounts(flow)}, True)
        except charts.ChartUnavailable:
            return cls({}, {}, False)

    def names(self, source_code: str, target_code: str) -> dict[str, str]:
        source, target = self.sources.get(source_code), self.targets.get(target_code)
        return {"source_name": source.name if source else "", "source_type": source.type if source else "",
                "target_name": target.name if target else "", "target_type": target.type if target else ""}

    def check(self, flow: Flow, target_code: str) -> None:
        if self.readable and target_code not in self.targets:
            raise CopilotError(f"{target_code} is not an account in {flow.target.name}'s chart.",
                               code="unknown_account")


def accept(flow: Flow, pairs: Iterable[tuple[str, str, float | None]], *, actor, automatic: bool = False,
           publish: bool = False, note: str = "") -> int:
    """Accept suggestions: write ``source -> target`` into the draft (or publish them as a patch), and record
    each verdict as a label. Returns how many rows were written."""
    pairs = [(str(s).strip(), str(t).strip(), score) for s, t, score in pairs if str(s).strip() and str(t).strip()]
    if not pairs:
        return 0
    known = _Charts.of(flow)
    for _s, target, _score in pairs:
        known.check(flow, target)
    entries = {s: t for s, t, _score in pairs}
    with transaction.atomic():
        if publish:
            versions.publish_patch(flow, SECTION, entries, actor=actor,
                                   note=note or f"co-pilot: {len(entries)} GL account(s) accepted")
        else:
            draft = versions.draft_version(flow)
            rules = dict((draft if draft is not None else versions.published_version(flow)).rules)
            table = rules.get(SECTION) if isinstance(rules.get(SECTION), dict) else {}
            rules[SECTION] = {**table, **entries}
            versions.save_draft(flow, rules, actor=actor,
                                note=note or f"co-pilot: {len(entries)} GL account(s) accepted")
        for s, t, score in pairs:
            record_accepted(flow, s, t, score=score, actor=actor, automatic=automatic, known=known)
        changes = {"accepted": entries, "automatic": automatic, "published": publish}
        audit(actor or "co-pilot (auto-accept)", "copilot.gl_accepted", flow, changes, label=flow.name)
    return len(entries)


def record_accepted(flow: Flow, source_code: str, target_code: str, *, score: float | None, actor,
                    automatic: bool = False, known: _Charts | None = None) -> GLFeedback:
    """Keep an accepted suggestion as a label (the mapping itself is written by the caller)."""
    return GLFeedback.objects.create(flow=flow, source_code=source_code, target_code=target_code,
                                     verdict=GLFeedback.Verdict.ACCEPTED, score=score, automatic=automatic,
                                     actor=actor if getattr(actor, "pk", None) else None,
                                     **(known or _Charts.of(flow)).names(source_code, target_code))


def reject(flow: Flow, source_code: str, target_code: str, *, actor, score: float | None = None) -> None:
    """A person says ``source -> target`` is wrong: never suggested again for that source, and a label."""
    source_code, target_code = str(source_code).strip(), str(target_code).strip()
    if not source_code or not target_code:
        raise CopilotError("Say which suggestion is rejected (source and target code).", code="required")
    with transaction.atomic():
        GLFeedback.objects.create(flow=flow, source_code=source_code, target_code=target_code,
                                  verdict=GLFeedback.Verdict.REJECTED, score=score,
                                  actor=actor if getattr(actor, "pk", None) else None,
                                  **_Charts.of(flow).names(source_code, target_code))
        audit(actor, "copilot.gl_rejected", flow, {"source": source_code, "target": target_code}, label=flow.name)


def accept_all_above(flow: Flow, threshold: float, *, actor, publish: bool = False) -> int:
    """One click: accept the best suggestion of every unmapped nominal whose confidence is at least ``threshold``."""
    if not 0.0 < threshold <= 1.0:
        raise CopilotError("The threshold is a confidence between 0 and 1 (e.g. 0.9).", code="out_of_range")
    chosen = [(r.account.code, r.best.target_code, r.best.score)
              for r in rows(flow, top=1, only_unmapped=True) if r.best and r.best.score >= threshold]
    return accept(flow, chosen, actor=actor, publish=publish,
                  note=f"co-pilot: {len(chosen)} GL account(s) accepted at confidence >= {threshold:.2f}")


def auto_accept(flow: Flow) -> int:
    """The tenant's explicit auto-accept threshold, if it set one: publish the best suggestion of each unmapped
    nominal at or above it. Returns how many were accepted (0 when no threshold is set)."""
    threshold = CopilotSettings.current().gl_auto_accept
    if threshold is None or not supports(flow):
        return 0
    chosen = [(r.account.code, r.best.target_code, r.best.score)
              for r in rows(flow, top=1, only_unmapped=True) if r.best and r.best.score >= threshold]
    if not chosen:
        return 0
    return accept(flow, chosen, actor=None, automatic=True, publish=True,
                  note=f"co-pilot auto-accept (confidence >= {threshold:.2f}): {len(chosen)} GL account(s)")
