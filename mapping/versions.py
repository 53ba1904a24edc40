"""A flow's mapping versions: the published one a run uses, one editable draft, diff, rollback, audit.

Life cycle (docs/mapping.md "Versions"):

* Version 1 holds the code defaults and is published on first use (``published_version``).
* The tenant edits one *draft* per flow, a copy of the published rules (``start_draft`` / ``save_draft`` /
  ``discard_draft``). A draft is validated when it is saved and again when it is published, so an invalid rule
  is refused at the moment it is typed, with its path and expression position, and can never reach a run.
* ``publish_draft`` turns the draft into the next numbered version and marks the previous one replaced. It
  refuses a draft whose base is no longer the published version (another user published or rolled back in the
  meantime) unless forced: silently publishing over someone else's change would undo it.
* ``rollback`` publishes a *copy* of an older version as a new version. Published versions are never changed,
  because SyncRecords point at the version that transformed them and a replay "with the mapping that ran" must
  get exactly those rules back.
* ``publish_patch`` is the inbox's one-place fix: a few value -> target entries added to the *published* rules
  and published alone, so a fix never carries an unreviewed draft edit into the next run; an open draft gets the
  same entries, so it neither goes stale nor undoes the fix when it is published later.
* Publishing checks the rules against the target's live chart of accounts and dimension values. When they cannot
  be read (the ERP is down, no ODBC settings), the publish goes on with a warning ("chart not checked: <why>") on
  the returned version (``version.warnings``) and in the audit entry: an unreachable ERP must not block the fix
  the inbox is waiting for. ``require_live_check=True`` refuses instead.
* Every publish, rollback, draft save/discard is written to the tenant's audit log with a summary of the change.

``publish`` is the low-level primitive for trusted callers (code and tests); anything a user typed goes
through the draft and is validated.
"""

from __future__ import annotations

import copy
import difflib
import json
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from mapping.models import MappingSet, MappingVersion
from mapping.rules import live_chart, live_dimensions, validate_rules

log = logging.getLogger(__name__)

MAX_RULES_BYTES = 2_000_000  # a mapping set is a few hundred rules; a bigger body is a mistake or abuse


# ---------------------------------------------------------------------------------------------- errors

@dataclass(frozen=True)
class Problem:
    """One reason a rules document is refused; the shape of ``mapping.rules.RuleError``."""

    path: str
    message: str
    position: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "message": self.message, "position": self.position}

    def __str__(self) -> str:
        where = f" (at column {self.position + 1})" if self.position is not None else ""
        return f"{self.path}: {self.message}{where}" if self.path else f"{self.message}{where}"


class MappingError(Exception):
    """A refused mapping operation. ``code`` is stable for API clients; ``message`` is for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class InvalidMapping(MappingError):
    """The rules do not validate; ``errors`` lists each problem with its path (and expression position)."""

    def __init__(self, errors: Iterable[Any], message: str = ""):
        self.errors = [problem_of(e) for e in errors]
        count = len(self.errors)
        super().__init__("invalid", message or f"The mapping has {count} error{'s' if count != 1 else ''}: "
                         + "; ".join(str(e) for e in self.errors[:3]) + ("; ..." if count > 3 else ""))


def problem_of(error: Any) -> Problem:
    """Any object with ``path``/``message``/``position`` (a RuleError, an ImportProblem) as a Problem."""
    if isinstance(error, Problem):
        return error
    return Problem(str(getattr(error, "path", "") or ""), str(getattr(error, "message", error)),
                   getattr(error, "position", None))


# ---------------------------------------------------------------------------------------------- validation

def validate(flow_key: str, rules: Any, *, chart: Callable[[], Mapping[str, str] | None] | None = None,
             dimensions: Callable[[], Mapping[str, Collection[str]] | None] | None = None) -> list[Problem]:
    """Structural checks (a JSON object of named sections, not too big), then the rule kinds' own validation
    (``chart``: the target's live chart of accounts, ``dimensions``: its dimension values; see
    ``mapping.rules.live_chart`` / ``live_dimensions``)."""
    if not isinstance(rules, dict):
        return [Problem("", f"The rules must be a JSON object of sections, not {_json_type(rules)}.")]
    problems = [Problem(repr(key), "Section names must be text.") for key in rules if not isinstance(key, str)]
    problems += [Problem("", "A section name is empty.")] if "" in rules else []
    if problems:
        return problems
    try:
        size = len(json.dumps(rules, ensure_ascii=False))
    except (TypeError, ValueError) as error:
        return [Problem("", f"The rules are not plain JSON: {error}")]
    if size > MAX_RULES_BYTES:
        return [Problem("", f"The rules are {size:,} bytes; the limit is {MAX_RULES_BYTES:,}.")]

    live = {name: reader for name, reader in (("chart", chart), ("dimensions", dimensions)) if reader is not None}
    return [problem_of(e) for e in validate_rules(flow_key, rules, **live)]


def _json_type(value: Any) -> str:
    return {list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false",
            type(None): "null"}.get(type(value), type(value).__name__)


def _check(flow, rules: Any, *, live: bool = False, require_live_check: bool = False) -> list[str]:
    """Refuse invalid rules. ``live`` (publish, rollback) also checks GL accounts and dimension values against the
    target; what could not be checked is returned as warnings, or refused with ``require_live_check``."""
    reference = LiveReference(flow) if live else None
    problems = validate(flow.key, rules, chart=reference.chart if reference else None,
                        dimensions=reference.dimensions if reference else None)
    if problems:
        raise InvalidMapping(problems)
    warnings = list(reference.warnings) if reference else []
    if warnings and require_live_check:
        raise MappingError("live_check_failed", "Not published: " + "; ".join(warnings) + ". Publish again when "
                           "the target can be read, or without require_live_check.")
    return warnings


ERP_SYSTEMS = ("dynamics_ax", "sage100")  # the targets with a chart of accounts and dimensions to check against


class LiveReference:
    """The target's chart of accounts and dimension values for one publish, each read at most once and only when
    the rules name something to check (``mapping.rules.validate_rules`` asks). What cannot be read becomes a
    warning (``chart not checked: <why>``) instead of an error: an unreachable ERP must not block fixing a mapping
    (the fix may be what the inbox is waiting for), and the engine still reports an unknown account or dimension
    per record when it posts, so nothing goes wrong silently."""

    def __init__(self, flow) -> None:
        self.flow = flow
        self.warnings: list[str] = []
        self._read: dict[str, Any] = {}

    def chart(self) -> Mapping[str, str] | None:
        return self._once("chart", live_chart)

    def dimensions(self) -> Mapping[str, Collection[str]] | None:
        return self._once("dimension values", live_dimensions)

    def _once(self, what: str, reader: Callable[[Any], Any]) -> Any:
        if what not in self._read:
            self._read[what] = self._fetch(what, reader)
        return self._read[what]

    def _fetch(self, what: str, reader: Callable[[Any], Any]) -> Any:
        try:
            found = reader(self.flow)
        except Exception as error:  # noqa: BLE001 - any driver/network error means "cannot be read right now"
            log.warning("mapping: %s of %s unavailable, publishing without the live check: %s", what,
                        self.flow.key, type(error).__name__)
            self.warnings.append(f"{what} not checked: {_reason(error)}")
            return None
        target = getattr(self.flow, "target", None)
        if found is None and str(getattr(target, "system", "")) in ERP_SYSTEMS:
            self.warnings.append(f"{what} not checked: the {getattr(target, 'name', 'target')} connection has no "
                                 "ODBC settings to read it with")
        return found


def _reason(error: Exception) -> str:
    """Why the target could not be read, in words a person can act on. Connector errors are written for people
    (and carry no secrets); anything else is named by its type only, as its text may hold a connection string."""
    from integrations.core.errors import ConnectorError

    if isinstance(error, ConnectorError | OSError):
        return str(error)[:200] or type(error).__name__
    return f"{type(error).__name__} while reading the target"


# ---------------------------------------------------------------------------------------------- reads

def default_rules(flow) -> dict[str, Any]:
    """The code-defined defaults of the flow, overlaid with the options it was created with."""
    from integrations.sync.flows import FLOWS

    definition = FLOWS.get(flow.key)
    rules: dict[str, Any] = dict(definition.default_rules()) if definition else {}
    options = flow.options or {}
    for key in ("gl_accounts", "dimensions", "customer_accounts", "routing"):
        if key in options:
            rules[key] = options[key]
    if "gl_map" in options:  # the option's older name
        overrides = {str(k): str(v) for k, v in options["gl_map"].items()}
        rules["gl_accounts"] = {**rules.get("gl_accounts", {}), **overrides}
    return rules


def _next_number(mapping_set: MappingSet) -> int:
    return (mapping_set.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1


def published_version(flow) -> MappingVersion:
    """The version the next run applies; version 1 (the defaults) is published on first use."""
    mapping_set, _ = MappingSet.objects.get_or_create(flow=flow)
    version = mapping_set.versions.filter(status=MappingVersion.Status.PUBLISHED).first()
    if version is not None:
        return version
    try:
        with transaction.atomic():
            return MappingVersion.objects.create(
                mapping_set=mapping_set, number=_next_number(mapping_set),
                status=MappingVersion.Status.PUBLISHED, rules=default_rules(flow), note="Defaults",
                published_at=timezone.now())
    except IntegrityError:  # another worker published first
        return mapping_set.versions.get(status=MappingVersion.Status.PUBLISHED)


def draft_version(flow) -> MappingVersion | None:
    """The flow's draft, or None when nobody is editing."""
    return MappingVersion.objects.filter(mapping_set__flow=flow, status=MappingVersion.Status.DRAFT).first()


def versions(flow) -> list[MappingVersion]:
    """Every version of the flow, draft first, then newest first."""
    published_version(flow)
    return sorted(MappingVersion.objects.filter(mapping_set__flow=flow).select_related("created_by",
                                                                                        "published_by"),
                  key=lambda v: (v.status != MappingVersion.Status.DRAFT, -v.number))


def resolve_version(flow, ref: Any) -> MappingVersion:
    """A version given as ``"published"``, ``"draft"``, a number or ``"v<number>"``."""
    text = str(ref).strip().lower()
    if text in ("", "published", "current"):
        return published_version(flow)
    if text == "draft":
        draft = draft_version(flow)
        if draft is None:
            raise MappingError("no_draft", f"{flow.name} has no draft mapping.")
        return draft
    number = text.removeprefix("v")
    if not number.isdigit() or int(number) == 0:
        raise MappingError("unknown_version",
                           f"Unknown mapping version {ref!r}: give a number, 'published' or 'draft'.")
    version = MappingVersion.objects.filter(mapping_set__flow=flow, number=int(number)).exclude(
        status=MappingVersion.Status.DRAFT).first()
    if version is None:
        raise MappingError("unknown_version", f"{flow.name} has no mapping version {int(number)}.")
    return version


# ---------------------------------------------------------------------------------------------- drafts

def start_draft(flow, *, actor=None) -> MappingVersion:
    """The flow's draft, created as a copy of the published rules if there is none."""
    draft = draft_version(flow)
    if draft is not None:
        return draft
    current = published_version(flow)
    try:
        with transaction.atomic():
            return MappingVersion.objects.create(
                mapping_set_id=current.mapping_set_id, number=0, status=MappingVersion.Status.DRAFT,
                rules=copy.deepcopy(current.rules), based_on=current, created_by=_user(actor),
                note=f"Draft from v{current.number}")
    except IntegrityError:  # someone else opened the draft at the same moment
        return MappingVersion.objects.get(mapping_set_id=current.mapping_set_id,
                                          status=MappingVersion.Status.DRAFT)


def save_draft(flow, rules: Any, *, actor=None, note: str | None = None,
               revision: str | None = None, action: str = "mapping.draft_saved",
               details: Mapping[str, Any] | None = None) -> MappingVersion:
    """Validate ``rules`` and store them as the flow's draft (created if needed).

    ``revision`` (the draft's ``updated_at`` as the API shows it) makes the save conditional: if someone saved
    the draft since the caller read it, the save is refused instead of overwriting their edit.
    """
    _check(flow, rules)
    start_draft(flow, actor=actor)
    with transaction.atomic():
        draft = MappingVersion.objects.select_for_update().get(mapping_set__flow=flow,
                                                               status=MappingVersion.Status.DRAFT)
        if revision is not None and revision != revision_of(draft):
            raise MappingError("draft_changed", "The draft was changed by someone else since you loaded it; "
                               "reload it and apply your change again.")
        before = draft.rules
        draft.rules = copy.deepcopy(rules)
        if note is not None:
            draft.note = note[:300]
        draft.updated_at = timezone.now()
        draft.save(update_fields=["rules", "note", "updated_at"])
        _audit(actor, action, flow, {**_summary(diff_rules(before, rules)), **(details or {})},
               label=f"{flow.name} mapping draft")
    return draft


def discard_draft(flow, *, actor=None) -> bool:
    """Throw the draft away; False if there was none."""
    with transaction.atomic():
        draft = MappingVersion.objects.select_for_update().filter(
            mapping_set__flow=flow, status=MappingVersion.Status.DRAFT).first()
        if draft is None:
            return False
        based_on = draft.based_on.number if draft.based_on else None
        draft.delete()
        _audit(actor, "mapping.draft_discarded", flow, {"based_on": based_on}, label=f"{flow.name} mapping draft")
    return True


def revision_of(version: MappingVersion) -> str:
    """An opaque token that changes on every save of a draft (for conditional saves)."""
    return version.updated_at.isoformat()


# ---------------------------------------------------------------------------------------------- publishing

def publish(flow, rules: dict[str, Any], *, actor=None, note: str = "") -> MappingVersion:
    """Freeze ``rules`` as the flow's new published version; the previous one is kept, marked replaced.

    Not validated: for code and tests. User input goes through ``save_draft`` / ``publish_draft``.
    """
    current = published_version(flow)
    with transaction.atomic():
        mapping_set = MappingSet.objects.select_for_update().get(pk=current.mapping_set_id)
        return _publish_locked(flow, mapping_set, rules, actor=actor, note=note, based_on=current)


def publish_draft(flow, *, actor=None, note: str | None = None, force: bool = False,
                  require_live_check: bool = False) -> MappingVersion:
    """Validate the draft and make it the published version (numbered next); the old one is marked replaced.

    The validation (which may read the target's chart over ODBC) runs before the mapping set is locked; the
    draft is then checked to be the one validated, so a save in between cannot slip through unvalidated. What
    the live check could not read is in ``version.warnings`` (refused instead with ``require_live_check``).
    """
    current = published_version(flow)
    draft = _publishable_draft(flow, current.mapping_set_id, force=force)
    warnings = _check(flow, draft.rules, live=True, require_live_check=require_live_check)
    with transaction.atomic():
        mapping_set = MappingSet.objects.select_for_update().get(pk=current.mapping_set_id)
        locked = _publishable_draft(flow, mapping_set.pk, force=force)
        if locked.pk != draft.pk or locked.updated_at != draft.updated_at:
            raise MappingError("draft_changed", "The draft was changed while it was being published; review it "
                               "and publish again.")
        current = mapping_set.versions.get(status=MappingVersion.Status.PUBLISHED)
        text = locked.note if note is None and not locked.note.startswith("Draft from v") else (note or "")
        forced = locked.based_on_id != current.pk
        return _publish_locked(flow, mapping_set, locked.rules, actor=actor, note=text, based_on=current,
                               version=locked, extra={"forced": True} if forced else None, warnings=warnings)


def _publishable_draft(flow, mapping_set_id: int, *, force: bool) -> MappingVersion:
    """The draft, if it can be published: it exists, differs from the published version, and (unless forced)
    was started from it."""
    current = MappingVersion.objects.get(mapping_set_id=mapping_set_id, status=MappingVersion.Status.PUBLISHED)
    draft = MappingVersion.objects.filter(mapping_set_id=mapping_set_id, status=MappingVersion.Status.DRAFT
                                          ).select_related("based_on").first()
    if draft is None:
        raise MappingError("no_draft", f"{flow.name} has no draft to publish; edit the mapping first.")
    if draft.based_on_id != current.pk and not force:
        base = f"v{draft.based_on.number}" if draft.based_on else "an older version"
        raise MappingError("stale_draft", f"The draft was started from {base}, but v{current.number} has been "
                           "published since. Review the diff against the published version, then publish "
                           "with force, or discard the draft.")
    if draft.rules == current.rules:
        raise MappingError("no_changes", f"The draft is the same as the published v{current.number}; "
                           "there is nothing to publish.")
    return draft


def rollback(flow, ref: Any, *, actor=None, note: str = "", require_live_check: bool = False) -> MappingVersion:
    """Publish a copy of an older version as a new version (the old one is left as it was); checked against the
    live target like a publish (``version.warnings``)."""
    target = resolve_version(flow, ref)
    if target.status == MappingVersion.Status.DRAFT:
        raise MappingError("unknown_version", "Roll back to a published or replaced version, not the draft.")
    if target.status == MappingVersion.Status.PUBLISHED:
        raise MappingError("no_changes", f"v{target.number} is already the published version.")
    warnings = _check(flow, target.rules, live=True, require_live_check=require_live_check)
    with transaction.atomic():
        mapping_set = MappingSet.objects.select_for_update().get(pk=target.mapping_set_id)
        if mapping_set.versions.filter(pk=target.pk, status=MappingVersion.Status.PUBLISHED).exists():
            raise MappingError("no_changes", f"v{target.number} is already the published version.")
        return _publish_locked(flow, mapping_set, copy.deepcopy(target.rules), actor=actor,
                               note=note or f"Rollback to v{target.number}", based_on=target,
                               action="mapping.rolled_back", extra={"restored": target.number}, warnings=warnings)


def publish_patch(flow, section: str, entries: Mapping[str, str], *, actor=None, note: str = "",
                  require_live_check: bool = False) -> MappingVersion:
    """Publish only a fix: ``entries`` (value -> target) added to the table ``section`` of the *published* rules,
    validated (live, like any publish) and published as the next version. The inbox's "Map and publish" uses it,
    so fixing one missing value never publishes someone's unreviewed draft edits with it.

    An open draft gets the same entries: otherwise publishing it later would silently undo the fix. A draft
    started from the version just replaced is moved onto the new one (it already holds the fix, so it is not
    stale); a draft that was already stale stays stale. If someone publishes while the fix is being checked, the
    fix is applied again on top of their version.
    """
    patch = _patch_entries(section, entries)
    for _attempt in range(3):
        current = published_version(flow)
        rules = _patched(current.rules, section, patch, what=f"v{current.number}")
        warnings = _check(flow, rules, live=True, require_live_check=require_live_check)
        with transaction.atomic():
            mapping_set = MappingSet.objects.select_for_update().get(pk=current.mapping_set_id)
            if not mapping_set.versions.filter(pk=current.pk, status=MappingVersion.Status.PUBLISHED).exists():
                continue  # another version was published meanwhile: patch that one instead
            shown = ", ".join(f"{key} -> {value}" for key, value in patch.items())
            version = _publish_locked(flow, mapping_set, rules, actor=actor, note=note or f"{section}: {shown}",
                                      based_on=current, extra={"patch": {section: patch}}, warnings=warnings)
            warning = _patch_draft(flow, mapping_set, section, patch, replaced=current, published=version,
                                   actor=actor)
            if warning:
                version.warnings.append(warning)
            return version
    raise MappingError("draft_changed", "Other versions kept being published while the fix was checked; try "
                       "again.")


def _patch_entries(section: str, entries: Mapping[str, str]) -> dict[str, str]:
    """The entries as text, refused when a key or target is empty (a fix says what maps to what)."""
    if not isinstance(section, str) or not section.strip():
        raise MappingError("invalid_value", "Name the section the fix goes into.")
    if not isinstance(entries, Mapping) or not entries:
        raise MappingError("invalid_value", f"Give at least one value -> target entry for {section}.")
    patch = {str(key).strip(): str(value).strip() for key, value in entries.items()
             if key is not None and value is not None}
    if len(patch) != len(entries) or not all(patch) or not all(patch.values()):
        raise MappingError("invalid_value", f"Every entry of the fix to {section} needs a value and a target.")
    return patch


def _patched(rules: Mapping[str, Any], section: str, patch: Mapping[str, str], *, what: str) -> dict[str, Any]:
    """A copy of ``rules`` with ``patch`` merged into the table ``section`` (created if absent)."""
    table = rules.get(section)
    if table is not None and not isinstance(table, dict):
        raise MappingError("invalid_value", f"{section} in {what} is not a table of values; change it in the "
                           "mapping editor.")
    merged = {**(table or {}), **patch}
    if table is not None and merged == table:
        raise MappingError("no_changes", f"{what} already maps {', '.join(patch)} that way; there is nothing "
                           "to publish.")
    result = copy.deepcopy(dict(rules))
    result[section] = merged
    return result


def _patch_draft(flow, mapping_set: MappingSet, section: str, patch: Mapping[str, str], *,
                 replaced: MappingVersion, published: MappingVersion, actor) -> str:
    """Apply a published fix to the open draft too (inside the publish's transaction); a warning when the draft
    could not take it, else ""."""
    draft = mapping_set.versions.select_for_update().filter(status=MappingVersion.Status.DRAFT).first()
    if draft is None:
        return ""
    try:
        rules = _patched(draft.rules, section, patch, what="the draft")
    except MappingError as error:
        if error.code == "no_changes":  # the draft already had the fix
            rules = draft.rules
        else:
            return f"The open draft was not updated with the fix: {error.message}"
    problems = validate(flow.key, rules)
    if problems:
        return f"The open draft was not updated with the fix: {problems[0]}"
    before = draft.rules
    draft.rules = rules
    if draft.based_on_id == replaced.pk:
        draft.based_on = published
    draft.updated_at = timezone.now()  # editors holding the old revision must reload (their save would drop it)
    draft.save(update_fields=["rules", "based_on", "updated_at"])
    if rules != before:
        _audit(actor, "mapping.draft_saved", flow, {**_summary(diff_rules(before, rules)),
                                                    "patched_by": published.number},
               label=f"{flow.name} mapping draft")
    return ""


def _publish_locked(flow, mapping_set: MappingSet, rules: dict[str, Any], *, actor, note: str,
                    based_on: MappingVersion, action: str = "mapping.published",
                    version: MappingVersion | None = None, extra: dict[str, Any] | None = None,
                    warnings: list[str] | None = None) -> MappingVersion:
    """Publish inside the caller's transaction, with the mapping set row locked (numbers stay unique). The
    live check's ``warnings`` are kept in the audit entry and on the returned version (``version.warnings``)."""
    user = _user(actor)
    now = timezone.now()
    number = _next_number(mapping_set)
    previous = mapping_set.versions.filter(status=MappingVersion.Status.PUBLISHED).first()
    changes = diff_rules(previous.rules if previous else {}, rules)
    mapping_set.versions.filter(status=MappingVersion.Status.PUBLISHED).update(status=MappingVersion.Status.RETIRED)
    if version is None:
        version = MappingVersion.objects.create(
            mapping_set=mapping_set, number=number, status=MappingVersion.Status.PUBLISHED, rules=rules,
            note=note[:300], created_by=user, published_at=now, published_by=user, based_on=based_on,
            updated_at=now)
    else:  # the draft becomes the version; its row (and anything already pointing at it) is kept
        version.number, version.status, version.note = number, MappingVersion.Status.PUBLISHED, note[:300]
        version.published_at, version.published_by, version.updated_at = now, user, now
        version.based_on = based_on
        version.save(update_fields=["number", "status", "note", "published_at", "published_by", "updated_at",
                                    "based_on"])
    _audit(actor, action, flow, {"version": number, "previous": previous.number if previous else None,
                                 "note": note, **(extra or {}), **({"warnings": warnings} if warnings else {}),
                                 **_summary(changes)},
           label=f"{flow.name} mapping v{number}")
    version.warnings = list(warnings or [])
    return version


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _audit(actor, action: str, flow, changes: dict[str, Any], *, label: str) -> None:
    from portal.accounts.audit import audit

    audit(actor, action, flow, changes, label=label)


def _summary(changes: RulesDiff) -> dict[str, Any]:
    """What the audit entry keeps of a diff: the sections touched and the first lines of the text form."""
    lines = changes.text().splitlines()
    return {"sections": [s.section for s in changes.sections],
            "diff": "\n".join(lines[:40]) + (f"\n... {len(lines) - 40} more lines" if len(lines) > 40 else "")}


# ---------------------------------------------------------------------------------------------- diff

@dataclass(frozen=True)
class Change:
    """One entry of a section that differs: ``key`` is a dict key, ``[i]`` for list items, "" for a value."""

    kind: str  # "added" | "removed" | "changed"
    key: str
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class SectionDiff:
    section: str
    kind: str  # "added" | "removed" | "changed"
    changes: tuple[Change, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"section": self.section, "change": self.kind,
                "added": [{"key": c.key, "new": c.new} for c in self.changes if c.kind == "added"],
                "removed": [{"key": c.key, "old": c.old} for c in self.changes if c.kind == "removed"],
                "changed": [{"key": c.key, "old": c.old, "new": c.new} for c in self.changes if c.kind == "changed"]}


@dataclass(frozen=True)
class RulesDiff:
    """The structured difference between two rule sets, section by section (sections in name order)."""

    sections: tuple[SectionDiff, ...]
    from_label: str = ""
    to_label: str = ""
    unchanged: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.sections

    def section(self, name: str) -> SectionDiff | None:
        return next((s for s in self.sections if s.section == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.from_label, "to": self.to_label, "sections": [s.to_dict() for s in self.sections],
                "unchanged": list(self.unchanged), "text": self.text()}

    def text(self) -> str:
        """A readable form: ``+`` added, ``-`` removed, ``~`` changed (old -> new), one line per entry."""
        if self.empty:
            return "No changes."
        out = []
        if self.from_label or self.to_label:
            out.append(f"{self.from_label or '?'} -> {self.to_label or '?'}")
        for section in self.sections:
            out.append(f"{section.section} ({section.kind})")
            for change in section.changes:
                key = f"{change.key}: " if change.key else ""
                if change.kind == "added":
                    out.append(f"  + {key}{_show(change.new)}")
                elif change.kind == "removed":
                    out.append(f"  - {key}{_show(change.old)}")
                else:
                    out.append(f"  ~ {key}{_show(change.old)} -> {_show(change.new)}")
        return "\n".join(out)


_MISSING = object()


def diff_rules(old: Mapping[str, Any], new: Mapping[str, Any], *, from_label: str = "",
               to_label: str = "") -> RulesDiff:
    """Compare two rule sets. Dict sections by key, list sections (routing, rule lists) item by item
    (matched like ``diff`` matches lines, so inserting one rule shows one addition, not every later rule
    as changed), anything else as one value."""
    sections, unchanged = [], []
    for name in sorted(set(old) | set(new), key=str):
        before, after = old.get(name, _MISSING), new.get(name, _MISSING)
        if before == after:
            unchanged.append(str(name))
            continue
        if before is _MISSING:
            kind, changes = "added", _entries(after, "added")
        elif after is _MISSING:
            kind, changes = "removed", _entries(before, "removed")
        else:
            kind, changes = "changed", _compare(before, after)
        sections.append(SectionDiff(str(name), kind, tuple(changes)))
    return RulesDiff(tuple(sections), from_label, to_label, tuple(unchanged))


def diff_versions(flow, from_ref: Any = "published", to_ref: Any = "draft") -> RulesDiff:
    """The diff between two versions of the flow (``resolve_version`` refs)."""
    old, new = resolve_version(flow, from_ref), resolve_version(flow, to_ref)
    return diff_rules(old.rules, new.rules, from_label=str(old).split(" ")[0], to_label=str(new).split(" ")[0])


def _entries(value: Any, kind: str) -> list[Change]:
    side = "new" if kind == "added" else "old"
    if isinstance(value, dict):
        return [Change(kind, str(k), **{side: v}) for k, v in value.items()]
    if isinstance(value, list):
        return [Change(kind, f"[{i}]", **{side: v}) for i, v in enumerate(value)]
    return [Change(kind, "", **{side: value})]


def _compare(before: Any, after: Any) -> list[Change]:
    if isinstance(before, dict) and isinstance(after, dict):
        changes = []
        for key in list(before) + [k for k in after if k not in before]:
            if key not in after:
                changes.append(Change("removed", str(key), old=before[key]))
            elif key not in before:
                changes.append(Change("added", str(key), new=after[key]))
            elif before[key] != after[key]:
                changes.append(Change("changed", str(key), before[key], after[key]))
        return changes
    if isinstance(before, list) and isinstance(after, list):
        matcher = difflib.SequenceMatcher(a=[_canonical(v) for v in before], b=[_canonical(v) for v in after],
                                          autojunk=False)
        changes = []
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
            changes += [Change("changed", f"[{j1 + n}]", before[i1 + n], after[j1 + n]) for n in range(paired)]
            changes += [Change("removed", f"[{i}]", old=before[i]) for i in range(i1 + paired, i2)]
            changes += [Change("added", f"[{j}]", new=after[j]) for j in range(j1 + paired, j2)]
        return changes
    return [Change("changed", "", before, after)]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
