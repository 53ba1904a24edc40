"""The mapping editor of a flow: draft, validate, preview, publish; version history with diff and roll back.

One page per flow. The tenant edits a *draft* of the flow's mapping set (the published version is what runs;
the draft never does), sees what it does to real source records (:func:`mapping.preview.preview`:
source -> canonical -> target side by side, with warnings and the inbox error a record would get), and publishes
it when it is right. Publishing is audited (``mapping.versions.publish``); every version is kept, so any of them
can be diffed against another and rolled back to (which publishes its rules again as a new version).

What needs attention comes first: values the flow met in real records but found no mapping for (failed
records with code ``mapping_missing`` in the inbox, grouped by value), then required sections, then the rest.
The GL table is edited row by row or in bulk (paste ``nominal,account`` CSV); every other section is a JSON
block. Errors are shown at the field they belong to: rule validation (``mapping.rules.validate_rules``) and
accounts missing from the target's live chart (``mapping.rules.live_chart``), when those are available.

The same missing-value parsing serves the inbox's grouped view (:func:`missing_value`), where one form maps a
value, publishes, and replays the records that failed on it (:func:`mapping_fix`).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections import Counter
from typing import Any

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.core.errors import ConnectorError
from integrations.sync import inbox
from integrations.sync.flows import FLOWS
from integrations.sync.inbox import InboxError
from integrations.sync.models import Flow
from mapping import versions
from mapping.models import MappingVersion
from mapping.preview import PreviewUnavailable, preview
from portal.accounts.models import Role
from portal.accounts.roles import role_required

log = logging.getLogger("ledgerbridge.portal.mapping")

GL_SECTION = "gl_accounts"
MAX_RULES_TEXT = 256 * 1024
EMPTY_GL_ROWS = 3
PREVIEW_LIMIT = 5

# "No AX main account is mapped for Kashflow nominal code 4010" (the flows' mapping_missing messages; the same
# pattern integrations/sync/suggestions.py reads them with).
MISSING = re.compile(r"No (?P<target>.+?) is mapped for (?P<source>[^;()\n]+) (?P<value>[^\s;()]+?)\.?(?=$|[\s;()])")
# The section that maps each kind of missing value, for the sections whose entries are plain value -> value.
SECTION_BY_SOURCE = (
    ("nominal code", "gl_accounts"),
    ("payment method", "payment_methods"),
    ("bank account", "bank_accounts"),
    ("customer", "customer_accounts"),
)


# ---------------------------------------------------------------------------------------------- missing values

def missing_value(message: str) -> dict[str, str] | None:
    """What a ``mapping_missing`` message says is unmapped: {"target", "source", "value", "section"}, or None.

    ``section`` is the rule section a plain ``value -> value`` entry fixes it in ("" when the fix needs the
    editor, e.g. tax groups, which map to several fields)."""
    match = MISSING.search(message or "")
    if match is None:
        return None
    source = match.group("source").strip()
    lowered = source.lower()
    section = next((name for words, name in SECTION_BY_SOURCE if words in lowered), "")
    return {"target": match.group("target"), "source": source, "value": match.group("value"), "section": section}


def missing_in_inbox(flow: Flow) -> dict[str, Counter]:
    """section -> Counter(value -> unresolved failed records), for the flow's ``mapping_missing`` failures."""
    found: dict[str, Counter] = {}
    messages_ = inbox.inbox_records(flow).filter(error_code="mapping_missing").values_list("last_error", flat=True)
    for message in messages_.iterator():
        missing = missing_value(message)
        if missing is not None:
            found.setdefault(missing["section"] or "other", Counter())[missing["value"]] += 1
    return found


# ---------------------------------------------------------------------------------------------- drafts

def _draft(flow: Flow) -> MappingVersion | None:
    return versions.draft_version(flow)


def _working_rules(flow: Flow) -> dict[str, Any]:
    """What the editor edits: the draft, else the published rules (a draft is only created by a save)."""
    draft = versions.draft_version(flow)
    return dict((draft if draft is not None else versions.published_version(flow)).rules)


# ---------------------------------------------------------------------------------------------- validation

def _rules_module():
    try:
        from mapping import rules as module
    except ImportError:  # the rule layer is not installed yet: the editor still edits the rules dict
        return None
    return module


def rule_kinds() -> list[dict[str, Any]]:
    """Sections the editor offers: ``mapping.rules.RULE_KINDS`` (key, label, description, required), if present."""
    module = _rules_module()
    kinds = []
    for kind in getattr(module, "RULE_KINDS", ()) or ():
        get = kind.get if isinstance(kind, dict) else (lambda name, default=None, k=kind: getattr(k, name, default))
        key = get("key")
        if key:
            kinds.append({"key": str(key), "label": str(get("label") or key), "kind": str(get("kind") or ""),
                          "description": str(get("description") or ""),
                          "required": bool(get("required_first", None) or get("required", False))})
    return kinds


def validate(flow: Flow, rules: dict[str, Any]) -> list[dict[str, Any]]:
    """Errors as {"path", "message", "position"}: the rules' own validation (``mapping.versions.validate``, which
    runs ``mapping.rules.validate_rules``), then accounts absent from the target's live chart of accounts."""
    errors: list[dict[str, Any]] = []
    gl = rules.get(GL_SECTION)
    if gl is not None and not isinstance(gl, dict):
        errors.append({"path": GL_SECTION, "message": "The GL table must map nominal codes to accounts.",
                       "position": None})
    errors += [problem.to_dict() for problem in versions.validate(flow.key, rules)]
    module = _rules_module()
    live_chart = getattr(module, "live_chart", None)
    if live_chart is not None and isinstance(gl, dict):
        try:
            chart = live_chart(flow)
        except (ConnectorError, OSError) as error:  # the target is down: say so, don't block the draft on it
            errors.append({"path": "", "message": f"The chart of accounts could not be read ({error}); accounts "
                           "were not checked against it.", "position": None, "warning": True})
            chart = None
        if chart:
            known = {str(a) for a in chart}
            for nominal, account in gl.items():
                if str(account) not in known:
                    errors.append({"path": f"{GL_SECTION}.{nominal}", "position": None,
                                   "message": f"{account} is not an account of {flow.target.name}'s chart."})
    return errors


def _blocking(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in errors if not e.get("warning")]


# ---------------------------------------------------------------------------------------------- the form

class FormError(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path, self.message = path, message


def rules_from_post(post, base: dict[str, Any]) -> dict[str, Any]:
    """The rules the editor's form describes: the GL rows, the pasted CSV over them, each JSON section.

    Sections the form does not carry keep ``base``'s value (a form for one section never drops the others)."""
    rules = dict(base)
    if "gl_nominal" in post:
        gl: dict[str, str] = {}
        for nominal, account in zip(post.getlist("gl_nominal"), post.getlist("gl_account"), strict=False):
            nominal, account = nominal.strip(), account.strip()
            if nominal and account:
                gl[nominal] = account
            elif account and not nominal:
                raise FormError(GL_SECTION, f"Account {account} has no nominal code.")
        rules[GL_SECTION] = gl
    text = (post.get("gl_csv") or "").strip()
    if text:
        rules[GL_SECTION] = {**(rules.get(GL_SECTION) or {}), **parse_gl_csv(text)}
    for name, value in post.items():
        if not name.startswith("section:"):
            continue
        section = name.removeprefix("section:")
        if len(value) > MAX_RULES_TEXT:
            raise FormError(section, f"{section} is limited to {MAX_RULES_TEXT} characters.")
        try:
            rules[section] = json.loads(value) if value.strip() else None
        except json.JSONDecodeError as error:
            raise FormError(section, f"{section} is not valid JSON: {error.msg} at line {error.lineno}, column "
                                     f"{error.colno}.") from None
        if rules[section] is None:
            del rules[section]
    return rules


def parse_gl_csv(text: str) -> dict[str, str]:
    """``nominal,account`` rows (a header row, blank lines and ``;`` or tab separators allowed)."""
    sample = text[:2048]
    delimiter = ";" if sample.count(";") > sample.count(",") else ("\t" if "\t" in sample else ",")
    result: dict[str, str] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() in {"nominal", "nominal_code", "nominal code", "code"}:
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise FormError(GL_SECTION, f"CSV row {number}: expected “nominal,account”, got {','.join(cells)!r}.")
        result[cells[0]] = cells[1]
    return result


# ---------------------------------------------------------------------------------------------- diff

def rules_diff(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """``mapping.versions.diff_rules`` as table rows: {"path" (``gl_accounts.4000``), "change", "old", "new"}."""
    rows = []
    for section in versions.diff_rules(old or {}, new or {}).sections:
        for change in section.changes:
            rows.append({"path": f"{section.section}.{change.key}" if change.key else section.section,
                         "change": change.kind, "old": None if change.kind == "added" else _show(change.old),
                         "new": None if change.kind == "removed" else _show(change.new)})
    return rows


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


# ---------------------------------------------------------------------------------------------- pages

def _flow(key: str) -> Flow:
    return get_object_or_404(Flow.objects.select_related("source", "target"), key=key)


def _editor_context(request, flow: Flow, rules: dict[str, Any], *, errors=None, results=None, preview_error="",
                    gl_csv: str = "") -> dict[str, Any]:
    published = versions.published_version(flow)
    draft = _draft(flow)
    errors = errors or []
    missing = missing_in_inbox(flow)
    gl = {str(k): str(v) for k, v in (rules.get(GL_SECTION) or {}).items()} if isinstance(
        rules.get(GL_SECTION), dict) else {}
    errors_at = {e["path"]: e["message"] for e in errors if e["path"]}
    q = (request.GET.get("q") or "").strip().lower()

    def gl_error(nominal: str) -> str:
        for path in (f"{GL_SECTION}.{nominal}", f"{GL_SECTION}[{nominal}]", f'{GL_SECTION}["{nominal}"]'):
            if path in errors_at:
                return errors_at[path]
        return ""

    unmapped = missing.get(GL_SECTION, Counter())
    rows = [{"nominal": n, "account": "", "missing": count, "error": gl_error(n)}
            for n, count in unmapped.most_common() if n not in gl]
    rows += [{"nominal": n, "account": a, "missing": unmapped.get(n, 0), "error": gl_error(n)}
             for n, a in sorted(gl.items(), key=lambda item: (not gl_error(item[0]), item[0]))]
    for row in rows:
        row["hidden"] = bool(q) and q not in f"{row['nominal']} {row['account']}".lower()
    rows += [{"nominal": "", "account": "", "missing": 0, "error": "", "hidden": False}] * EMPTY_GL_ROWS

    kinds = {k["key"]: k for k in rule_kinds()}
    names = [k for k in rules if k != GL_SECTION] + [k for k in kinds if k not in rules and k != GL_SECTION]
    sections = []
    for name in names:
        kind = kinds.get(name, {})
        section_errors = [e for e in errors if e["path"] == name or e["path"].startswith((f"{name}.", f"{name}["))]
        other_missing = missing.get(name, Counter())
        sections.append({
            "name": name, "label": kind.get("label") or name.replace("_", " ").capitalize(),
            "description": kind.get("description", ""), "required": kind.get("required", False),
            "text": json.dumps(rules[name], indent=2, ensure_ascii=False, sort_keys=True) if name in rules else "",
            "errors": section_errors, "missing": sorted(other_missing.items()),
            "hidden": bool(q) and q not in name.lower() and q not in json.dumps(rules.get(name), default=str).lower(),
        })
    sections.sort(key=lambda s: (not s["errors"], not s["missing"], not s["required"], s["name"]))
    placed = {e["path"] for e in errors if e["path"] == GL_SECTION or gl_error(e["path"].split(".", 1)[-1])}
    placed |= {e["path"] for s in sections for e in s["errors"]}
    definition = FLOWS.get(flow.key)
    return {
        "flow": flow, "definition": definition, "published": published, "draft": draft, "rules": rules,
        "gl_rows": rows, "gl_label": kinds.get(GL_SECTION, {}).get("label") or "GL accounts",
        "gl_has_section": GL_SECTION in rules or GL_SECTION in kinds or bool(unmapped),
        "gl_errors": [e for e in errors if e["path"] == GL_SECTION],
        "gl_csv": gl_csv, "sections": sections, "q": request.GET.get("q", ""),
        "general_errors": [e for e in errors if e["path"] not in placed],
        "missing_count": sum(c for counter in missing.values() for c in counter.values()),
        "results": results, "preview_error": preview_error,
        "changes": rules_diff(published.rules, rules),
        "can_edit": request.user.has_role(Role.ADMIN),
        "other_missing": sorted(missing.get("other", Counter()).items()),
        **_copilot(flow),
    }


def _copilot(flow: Flow) -> dict[str, Any]:
    """The co-pilot's panel (GL suggestions for unmapped nominals); a failure of it never breaks the editor."""
    from ai_copilot.views import editor_context

    try:
        return editor_context(flow)
    except Exception as error:
        log.exception("co-pilot suggestions failed for %s", flow.key)
        return {"copilot_error": f"the co-pilot could not rank accounts ({error.__class__.__name__})."}


def _problems(error: versions.InvalidMapping) -> list[dict[str, Any]]:
    return [problem.to_dict() for problem in error.errors]


@role_required(Role.VIEWER)
def mapping_editor(request, key: str):
    flow = _flow(key)
    if request.method != "POST":
        return render(request, "web/mapping_editor.html", _editor_context(request, flow, _working_rules(flow)))
    if not request.user.has_role(Role.ADMIN):
        messages.error(request, "Only an admin can change a mapping.")
        return redirect("mapping_editor", key=key)
    action = request.POST.get("action", "save")
    if action == "discard":
        versions.discard_draft(flow, actor=request.user)
        messages.success(request, "Draft discarded: the editor shows the published mapping.")
        return redirect("mapping_editor", key=key)
    base = _working_rules(flow)
    try:
        rules = rules_from_post(request.POST, base)
    except FormError as error:
        context = _editor_context(request, flow, base, errors=[{"path": error.path, "message": error.message,
                                                                "position": None}],
                                  gl_csv=request.POST.get("gl_csv", ""))
        return render(request, "web/mapping_editor.html", context, status=400)
    errors = validate(flow, rules)
    if _blocking(errors):  # nothing invalid is saved, let alone published: the form shows what to correct
        messages.error(request, "Not saved: correct the errors shown first.")
        return render(request, "web/mapping_editor.html", _editor_context(request, flow, rules, errors=errors),
                      status=400)
    try:
        if rules != base or _draft(flow) is None and action != "preview":
            versions.save_draft(flow, rules, actor=request.user)
        if action == "publish":
            version = versions.publish_draft(flow, actor=request.user,
                                             note=request.POST.get("note", "").strip() or "Edited in the portal",
                                             force=bool(request.POST.get("force")))
            messages.success(request, f"Published as version {version.number}; the next run uses it.")
            for warning in getattr(version, "warnings", []) or []:
                messages.warning(request, f"Published, but {warning}.")
            return redirect("mapping_editor", key=key)
    except versions.InvalidMapping as error:
        messages.error(request, "Not saved: correct the errors shown first.")
        return render(request, "web/mapping_editor.html",
                      _editor_context(request, flow, rules, errors=_problems(error)), status=400)
    except versions.MappingError as error:
        messages.error(request, error.message)
        return render(request, "web/mapping_editor.html", _editor_context(request, flow, rules, errors=errors),
                      status=409 if error.code == "stale_draft" else 400)
    results, preview_error = None, ""
    if action == "preview":
        try:
            results = preview(flow, rules, limit=int(request.POST.get("limit") or PREVIEW_LIMIT))
        except (PreviewUnavailable, ConnectorError, ValueError) as error:
            preview_error = getattr(error, "message", "") or str(error)
        else:
            for result in results:
                result["pretty"] = {part: json.dumps(result[part], indent=2, ensure_ascii=False, default=str)
                                    for part in ("source", "canonical", "target")}
    else:
        messages.success(request, "Draft saved.")
    context = _editor_context(request, flow, rules, errors=errors, results=results, preview_error=preview_error)
    return render(request, "web/mapping_editor.html", context)


@role_required(Role.VIEWER)
def mapping_history(request, key: str):
    flow = _flow(key)
    all_versions = versions.versions(flow)
    numbered = {v.number: v for v in all_versions if v.status != MappingVersion.Status.DRAFT}
    shown = numbered.get(_int(request.GET.get("b"))) or next(
        (v for v in all_versions if v.status == MappingVersion.Status.PUBLISHED), None)
    against = numbered.get(_int(request.GET.get("a")))
    if against is None and shown is not None:
        against = next((v for v in sorted(numbered.values(), key=lambda v: -v.number) if v.number < shown.number),
                       None)
    changes = rules_diff(against.rules if against else {}, shown.rules if shown else {})
    return render(request, "web/mapping_history.html", {
        "flow": flow, "versions": all_versions, "shown": shown, "against": against, "changes": changes,
        "can_edit": request.user.has_role(Role.ADMIN),
    })


@require_POST
@role_required(Role.ADMIN)
def mapping_rollback(request, key: str):
    flow = _flow(key)
    try:
        published = versions.rollback(flow, request.POST.get("version", ""), actor=request.user)
    except versions.MappingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Rolled back: version {published.number} has the rules of version "
                                  f"{published.based_on.number}.")
        for warning in getattr(published, "warnings", []) or []:
            messages.warning(request, f"Published, but {warning}.")
    return redirect("mapping_history", key=key)


@require_POST
@role_required(Role.ADMIN)
def mapping_fix(request):
    """The inbox's one-place fix: add ``value -> target`` to the draft (started from the published rules if there
    is none), publish it, and optionally replay the records that failed on the value with the new mapping."""
    flow = get_object_or_404(Flow, pk=_int(request.POST.get("flow")))
    section, value = request.POST.get("section", "").strip(), request.POST.get("value", "").strip()
    target = request.POST.get("target", "").strip()
    back = reverse("inbox") + "?view=groups"
    if section not in {name for _words, name in SECTION_BY_SOURCE} or not value:
        messages.error(request, "This kind of missing mapping is fixed in the mapping editor.")
        return redirect(back)
    if not target:
        messages.error(request, f"Enter what {value} maps to.")
        return redirect(back)
    # Only the fix is published, on top of the published rules; an open draft gets the same row, and its other,
    # unreviewed edits stay unpublished.
    rules = dict(versions.published_version(flow).rules)
    table = rules.get(section) if isinstance(rules.get(section), dict) else {}
    rules[section] = {**table, value: target}
    problems = _blocking(validate(flow, rules))
    if problems:
        messages.error(request, f"Not published: {problems[0]['message']}")
        return redirect(back)
    try:
        version = versions.publish_patch(flow, section, {value: target}, actor=request.user,
                                         note=f"{section}: {value} -> {target} (inbox)")
    except versions.MappingError as error:
        messages.error(request, f"Not published: {error.message}")
        return redirect(back)
    if request.POST.get("copilot_score") and section == "gl_accounts":
        _copilot_accepted(flow, value, target, request)
    text = f"{value} now maps to {target} (version {version.number} published)."
    for warning in getattr(version, "warnings", []) or []:
        messages.warning(request, f"Published, but {warning}.")
    if request.POST.get("replay"):
        records = inbox.in_group(inbox.inbox_records(flow), code=request.POST.get("code", "mapping_missing"),
                                 line=request.POST.get("line", ""))
        try:
            outcome = inbox.replay(records, mapping="current", actor=request.user)
        except InboxError as error:
            messages.warning(request, f"{text} The records were not replayed: {error.message}")
        else:
            messages.success(request, f"{text} {outcome.summary()}")
    else:
        messages.success(request, f"{text} Replay the affected records from the group when you are ready.")
    return redirect(back)


def _copilot_accepted(flow: Flow, value: str, target: str, request) -> None:
    """A co-pilot fix applied from the inbox is an accepted suggestion: keep it as a label."""
    from ai_copilot.gl_service import record_accepted

    try:
        score = float(request.POST.get("copilot_score"))
    except (TypeError, ValueError):
        score = None
    record_accepted(flow, value, target, score=score, actor=request.user)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
