"""Mapping versions: draft -> publish, conflicts, diff, rollback, audit; JSON and GL CSV import/export."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from integrations.sync.models import Connection, Flow
from mapping import io as mapping_io
from mapping import versions as v
from mapping.models import MappingVersion
from portal.accounts.models import AuditEntry

FLOW_KEY = "kashflow_invoices_to_ax"


@pytest.fixture
def flow(tenant):
    kf = Connection.objects.create(name="Kashflow", system="kashflow", base_url="http://127.0.0.1:9/v2")
    ax = Connection.objects.create(name="AX", system="dynamics_ax", base_url="http://127.0.0.1:9/ax")
    return Flow.objects.create(key=FLOW_KEY, name="Invoices to AX", source=kf, target=ax)


@pytest.fixture
def admin(make_user):
    return make_user("admin")


@dataclass(frozen=True)
class StubRuleError:
    path: str
    message: str
    position: int | None = None


@pytest.fixture
def strict_rules(monkeypatch):
    """A strict stand-in for the rule validator (refuses GL accounts that are not six digits), so these tests
    pin what versions do with validation errors whatever the real rule kinds accept."""
    seen = []

    def validate_rules(flow_key, rules, *, chart=None, dimensions=None):
        seen.append(flow_key)
        return [StubRuleError(f"gl_accounts.{k}", f"account {a!r} is not six digits", None)
                for k, a in (rules.get("gl_accounts") or {}).items() if not (str(a).isdigit() and len(str(a)) == 6)]

    monkeypatch.setattr(v, "validate_rules", validate_rules)
    monkeypatch.setattr(v, "live_chart", lambda flow: None)
    monkeypatch.setattr(v, "live_dimensions", lambda flow: None)
    return seen


def with_account(rules, code, account):
    return {**rules, "gl_accounts": {**rules["gl_accounts"], code: account}}


# ---------------------------------------------------------------------------------------------- drafts

def test_a_draft_starts_as_a_copy_of_the_published_version_and_is_the_only_one(flow, admin):
    published = v.published_version(flow)
    assert published.number == 1 and published.rules["gl_accounts"]["4000"] == "401100"
    draft = v.start_draft(flow, actor=admin)
    assert draft.status == "draft" and draft.rules == published.rules and draft.based_on == published
    assert v.start_draft(flow).pk == draft.pk  # one draft per flow
    draft.rules["gl_accounts"]["4000"] = "changed in memory"
    assert v.published_version(flow).rules["gl_accounts"]["4000"] == "401100"  # a copy, not shared
    assert v.published_version(flow).pk == published.pk  # the run still uses v1


def test_saving_the_draft_changes_only_the_draft_and_is_audited(flow, admin):
    rules = v.published_version(flow).rules
    draft = v.save_draft(flow, with_account(rules, "4010", "401300"), actor=admin, note="new nominal")
    assert draft.rules["gl_accounts"]["4010"] == "401300" and draft.note == "new nominal"
    assert "4010" not in v.published_version(flow).rules["gl_accounts"]
    entry = AuditEntry.objects.filter(action="mapping.draft_saved").latest("pk")
    assert entry.actor == admin and entry.changes["sections"] == ["gl_accounts"]
    assert '+ 4010: "401300"' in entry.changes["diff"]


def test_a_conditional_save_refuses_to_overwrite_someone_elses_edit(flow):
    rules = v.published_version(flow).rules
    draft = v.start_draft(flow)
    revision = v.revision_of(draft)
    v.save_draft(flow, with_account(rules, "4010", "401300"), revision=revision)
    with pytest.raises(v.MappingError) as refused:
        v.save_draft(flow, with_account(rules, "4011", "401300"), revision=revision)
    assert refused.value.code == "draft_changed"
    assert "4011" not in v.draft_version(flow).rules["gl_accounts"]


@pytest.mark.parametrize("rules, message", [
    ([], "must be a JSON object of sections, not a list"),
    ({"": {}}, "A section name is empty"),
    ({"gl_accounts": {"4000": object()}}, "not plain JSON"),
])
def test_structurally_broken_rules_are_refused_on_save(flow, rules, message):
    with pytest.raises(v.InvalidMapping) as refused:
        v.save_draft(flow, rules)
    assert message in refused.value.errors[0].message
    assert v.draft_version(flow) is None


def test_the_rule_validator_refuses_a_save_with_paths(flow, strict_rules):
    rules = v.published_version(flow).rules
    with pytest.raises(v.InvalidMapping) as refused:
        v.save_draft(flow, with_account(rules, "4010", "40130"))
    assert [e.to_dict() for e in refused.value.errors] == [
        {"path": "gl_accounts.4010", "message": "account '40130' is not six digits", "position": None}]
    assert strict_rules == [FLOW_KEY]
    assert v.draft_version(flow) is None or "4010" not in v.draft_version(flow).rules["gl_accounts"]


def test_discarding_the_draft_leaves_the_published_version(flow, admin):
    v.save_draft(flow, with_account(v.published_version(flow).rules, "4010", "401300"))
    assert v.discard_draft(flow, actor=admin) is True
    assert v.draft_version(flow) is None and v.discard_draft(flow) is False
    assert AuditEntry.objects.filter(action="mapping.draft_discarded").count() == 1
    assert "4010" not in v.published_version(flow).rules["gl_accounts"]


# ---------------------------------------------------------------------------------------------- publishing

def test_publishing_the_draft_makes_it_the_next_version(flow, admin):
    v1 = v.published_version(flow)
    v.save_draft(flow, with_account(v1.rules, "4000", "401150"), note="product sales split")
    v2 = v.publish_draft(flow, actor=admin)
    assert (v2.number, v2.status, v2.note, v2.published_by, v2.based_on) == (2, "published", "product sales split",
                                                                              admin, v1)
    assert v.published_version(flow).pk == v2.pk and v.draft_version(flow) is None
    v1.refresh_from_db()
    assert v1.status == "retired" and v1.rules["gl_accounts"]["4000"] == "401100"  # never changed
    entry = AuditEntry.objects.filter(action="mapping.published").latest("pk")
    assert entry.changes["version"] == 2 and entry.changes["previous"] == 1
    assert '~ 4000: "401100" -> "401150"' in entry.changes["diff"]


def test_publishing_refuses_no_draft_no_changes_and_invalid_rules(flow, strict_rules):
    with pytest.raises(v.MappingError) as refused:
        v.publish_draft(flow)
    assert refused.value.code == "no_draft"
    v.start_draft(flow)
    with pytest.raises(v.MappingError) as refused:
        v.publish_draft(flow)
    assert refused.value.code == "no_changes"
    # A draft that became invalid (saved before the validator knew better) is still refused at publish.
    MappingVersion.objects.filter(status="draft").update(
        rules=with_account(v.published_version(flow).rules, "4000", "bad"))
    with pytest.raises(v.InvalidMapping) as invalid:
        v.publish_draft(flow)
    assert invalid.value.errors[0].path == "gl_accounts.4000"
    assert v.published_version(flow).number == 1


def test_a_stale_draft_is_not_published_over_someone_elses_change_unless_forced(flow):
    v1 = v.published_version(flow)
    v.save_draft(flow, with_account(v1.rules, "4010", "401300"))
    v.publish(flow, with_account(v1.rules, "4000", "401150"), note="someone else")  # v2
    with pytest.raises(v.MappingError) as refused:
        v.publish_draft(flow)
    assert refused.value.code == "stale_draft" and "v1" in refused.value.message and "v2" in refused.value.message
    v3 = v.publish_draft(flow, force=True, note="forced")
    assert v3.number == 3 and v3.based_on.number == 2
    assert AuditEntry.objects.filter(action="mapping.published").latest("pk").changes["forced"] is True


def test_rollback_publishes_a_copy_and_never_changes_old_versions(flow, admin):
    v1 = v.published_version(flow)
    v.publish(flow, with_account(v1.rules, "4000", "401150"))
    v.publish(flow, with_account(v1.rules, "4000", "401160"))
    v4 = v.rollback(flow, 1, actor=admin)
    assert (v4.number, v4.status, v4.based_on, v4.note) == (4, "published", v1, "Rollback to v1")
    assert v4.rules == v1.rules and v4.pk != v1.pk
    v1.refresh_from_db()
    assert v1.status == "retired" and v1.number == 1
    assert [x.status for x in MappingVersion.objects.filter(mapping_set__flow=flow).order_by("number")] == [
        "retired", "retired", "retired", "published"]
    entry = AuditEntry.objects.filter(action="mapping.rolled_back").get()
    assert entry.changes["restored"] == 1 and entry.changes["version"] == 4 and entry.actor == admin
    with pytest.raises(v.MappingError) as refused:
        v.rollback(flow, 4)
    assert refused.value.code == "no_changes"
    with pytest.raises(v.MappingError) as unknown:
        v.rollback(flow, 99)
    assert unknown.value.code == "unknown_version" and "99" in unknown.value.message


def test_published_numbers_stay_consecutive_with_a_draft_open(flow):
    v.start_draft(flow)
    assert v.publish(flow, with_account(v.published_version(flow).rules, "4000", "401150")).number == 2
    assert v.draft_version(flow).number == 0


# ---------------------------------------------------------------------------------------------- diff

def test_diff_is_structured_per_section_and_readable():
    old = {"gl_accounts": {"4000": "401100", "4002": "401100"}, "journal_name": "GenJrn",
           "routing": [{"when": "total_above", "amount": "5000", "action": "hold"}], "gone": {"a": 1}}
    new = {"gl_accounts": {"4000": "401150", "4010": "401300"}, "journal_name": "GenJrn2",
           "routing": [{"when": "customer_group == 'X'", "action": "skip"},
                       {"when": "total_above", "amount": "5000", "action": "hold"}], "tax_groups": {"20": "GB"}}
    diff = v.diff_rules(old, new, from_label="v1", to_label="draft")
    assert [(s.section, s.kind) for s in diff.sections] == [
        ("gl_accounts", "changed"), ("gone", "removed"), ("journal_name", "changed"), ("routing", "changed"),
        ("tax_groups", "added")]
    assert diff.section("gl_accounts").to_dict() == {
        "section": "gl_accounts", "change": "changed", "added": [{"key": "4010", "new": "401300"}],
        "removed": [{"key": "4002", "old": "401100"}], "changed": [{"key": "4000", "old": "401100", "new": "401150"}]}
    # Inserting a routing rule first is one addition, not "every rule changed".
    assert diff.section("routing").to_dict()["added"] == [{"key": "[0]", "new": new["routing"][0]}]
    assert diff.section("routing").to_dict()["changed"] == []
    assert diff.section("journal_name").changes == (v.Change("changed", "", "GenJrn", "GenJrn2"),)
    text = diff.text()
    assert text.splitlines()[:5] == ["v1 -> draft", "gl_accounts (changed)", '  ~ 4000: "401100" -> "401150"',
                                     '  - 4002: "401100"', '  + 4010: "401300"']
    assert "gone (removed)\n  - a: 1" in text and 'journal_name (changed)\n  ~ "GenJrn" -> "GenJrn2"' in text
    assert v.diff_rules(old, old).empty and v.diff_rules(old, old).text() == "No changes."


def test_diff_between_versions_by_reference(flow):
    v1 = v.published_version(flow)
    v.publish(flow, with_account(v1.rules, "4000", "401150"))
    v.save_draft(flow, with_account(v1.rules, "4010", "401300"))
    assert [c.key for c in v.diff_versions(flow, 1, 2).section("gl_accounts").changes] == ["4000"]
    draft_diff = v.diff_versions(flow, "published", "draft")
    assert (draft_diff.from_label, draft_diff.to_label) == ("v2", "draft")
    assert {(c.kind, c.key) for c in draft_diff.section("gl_accounts").changes} == {("changed", "4000"),
                                                                                    ("added", "4010")}
    for ref in ("v9", "0", "latest"):
        with pytest.raises(v.MappingError):
            v.resolve_version(flow, ref)


# ---------------------------------------------------------------------------------------------- JSON

def test_json_export_round_trips_into_the_draft(flow, admin):
    v1 = v.published_version(flow)
    v.publish(flow, with_account(v1.rules, "4000", "401150"), note="split")
    document = json.loads(json.dumps(mapping_io.export_json(flow)))
    assert (document["format"], document["flow"], document["version"], document["note"]) == (
        "ledgerbridge-mapping/1", FLOW_KEY, 2, "split")
    v.rollback(flow, 1)
    draft = mapping_io.import_json(flow, json.dumps(document).encode(), actor=admin)
    assert draft.status == "draft" and draft.rules == document["rules"]
    assert v.published_version(flow).rules["gl_accounts"]["4000"] == "401100"  # import never publishes
    assert AuditEntry.objects.filter(action="mapping.imported").latest("pk").changes["format"] == "json"


@pytest.mark.parametrize("data, expected", [
    (b'{"format": "ledgerbridge-mapping/1", "flow": ', ("", "not valid JSON: Expecting value at line 1 column")),
    (b"\xff\xfe{}", ("line 1", "is not UTF-8 (byte 0xff)")),
    ('["rules"]', ("", "the document must be a JSON object")),
    ('{"format": "other/2", "flow": "kashflow_invoices_to_sage", "rules": [], "extra": 1}',
     ("format", "expected 'ledgerbridge-mapping/1', got 'other/2'")),
])
def test_json_import_errors_name_the_place(flow, data, expected):
    with pytest.raises(mapping_io.ImportRejected) as refused:
        mapping_io.import_json(flow, data)
    assert (refused.value.errors[0].path, refused.value.errors[0].message[:len(expected[1])]) == expected
    assert v.draft_version(flow) is None


def test_json_import_lists_every_problem_of_the_document(flow):
    with pytest.raises(mapping_io.ImportRejected) as refused:
        mapping_io.parse_json({"format": "other/2", "flow": "kashflow_invoices_to_sage", "rules": [], "x": 1},
                              FLOW_KEY)
    assert [e.path for e in refused.value.errors] == ["format", "flow", "rules", "x"]
    assert "for flow 'kashflow_invoices_to_sage', not 'kashflow_invoices_to_ax'" in refused.value.errors[1].message


def test_json_import_runs_the_rule_validation(flow, strict_rules):
    document = mapping_io.export_json(flow)
    document["rules"]["gl_accounts"]["4000"] = "4011"
    with pytest.raises(v.InvalidMapping) as refused:
        mapping_io.import_json(flow, document)
    assert refused.value.errors[0].path == "gl_accounts.4000"


# ---------------------------------------------------------------------------------------------- GL CSV

def test_gl_csv_round_trips_flat_and_multi_level_rows():
    rules = {"gl_accounts": {"4001": "401200", "4000": "401100", "X1": "618900"},
             "gl_rules": [{"nominal": "4000", "department": "022", "account": "401110"},
                          {"nominal": "4000", "customer_group": "WHOLESALE", "account": "401120"}]}
    text = mapping_io.export_gl_csv(rules)
    assert text.splitlines() == ["source_code,target_account,department,customer_group", "4000,401100,,",
                                 "4001,401200,,", "X1,618900,,", "4000,401120,,WHOLESALE", "4000,401110,022,"]
    gl = mapping_io.parse_gl_csv(text.encode())
    assert gl.accounts == rules["gl_accounts"]
    assert sorted(gl.rules, key=mapping_io._rule_key) == sorted(rules["gl_rules"], key=mapping_io._rule_key)
    assert mapping_io.export_gl_csv({"gl_accounts": {"4000": "401100"}}) == "source_code,target_account\r\n" \
                                                                            "4000,401100\r\n"


def test_gl_csv_accepts_a_bom_semicolons_spaces_and_blank_lines():
    gl = mapping_io.parse_gl_csv("\ufeffSource_Code ; Target_Account\n\n 4000 ; 401100 \n4001;401200;\n"
                                 .encode("utf-8"))
    assert gl.accounts == {"4000": "401100", "4001": "401200"} and gl.rules == []


def test_gl_csv_errors_are_row_level_and_all_reported():
    text = ("source_code,target_account,department\n"  # row 1
            "4000,401100,\n"  # row 2
            "4001,,\n"  # row 3: account is empty
            ",401200,\n"  # row 4: source code is empty
            "4000,401150,\n"  # row 5: duplicate of row 2
            "4000,401110,022\n"  # row 6: fine (more specific)
            "4000,401111,022\n"  # row 7: duplicate of row 6
            "4002,401100,,extra\n")  # row 8: too many values
    with pytest.raises(mapping_io.ImportRejected) as refused:
        mapping_io.parse_gl_csv(text)
    assert [str(e) for e in refused.value.errors] == [
        "row 3: account is empty", "row 4: source code is empty",
        "row 5: duplicate of row 2 (source code 4000)",
        "row 7: duplicate of row 6 (source code 4000, department 022)",
        "row 8: 4 values, but the header has 3 columns"]


@pytest.mark.parametrize("data, message", [
    (b"source_code,target_account,cost_centre\n4000,401100,1\n",
     "row 1: unknown column 'cost_centre' (expected source_code, target_account, department, customer_group)"),
    (b"code,account\n4000,401100\n", "row 1: unknown column 'code'"),
    (b"source_code\n4000\n", "row 1: column 'target_account' is missing"),
    (b"source_code,target_account\n4000,401100\n4001,Caf\xe9\n", "row 3: is not UTF-8 (byte 0xe9)"),
    (b"", "the file is empty"),
    (b"source_code,target_account\n", "the file has a header but no rows"),
    (b'source_code,target_account\n4000,"401100\n', "row 2: cannot be read as CSV"),
])
def test_gl_csv_file_level_errors(data, message):
    with pytest.raises(mapping_io.ImportRejected) as refused:
        mapping_io.parse_gl_csv(data)
    assert str(refused.value.errors[0]).startswith(message)


def test_gl_csv_import_replaces_or_merges_the_drafts_gl_section(flow, admin):
    rules = v.published_version(flow).rules
    csv_text = b"source_code,target_account,customer_group\n4000,401150,\n4010,401300,\n4000,401120,WHOLESALE\n"
    merged = mapping_io.import_gl_csv(flow, csv_text, mode="merge", actor=admin)
    assert merged.rules["gl_accounts"] == {**rules["gl_accounts"], "4000": "401150", "4010": "401300"}
    assert merged.rules["gl_rules"] == [{"nominal": "4000", "account": "401120", "customer_group": "WHOLESALE"}]
    assert merged.rules["dimensions"] == rules["dimensions"]  # other sections untouched
    replaced = mapping_io.import_gl_csv(flow, b"source_code,target_account\n4000,401100\n", mode="replace")
    assert replaced.rules["gl_accounts"] == {"4000": "401100"} and "gl_rules" not in replaced.rules
    assert v.published_version(flow).rules == rules  # only the draft changed
    entry = AuditEntry.objects.filter(action="mapping.imported").order_by("pk").first()
    assert entry.changes["format"] == "gl_csv" and entry.changes["mode"] == "merge" and entry.changes["rows"] == 3
    with pytest.raises(v.MappingError) as bad_mode:
        mapping_io.import_gl_csv(flow, csv_text, mode="append")
    assert bad_mode.value.code == "invalid_value"


# ---------------------------------------------------------------------------------------------- with mapping.rules

def test_the_real_rule_validator_refuses_unknown_sections_on_save(flow):
    with pytest.raises(v.InvalidMapping) as refused:
        v.save_draft(flow, {**v.published_version(flow).rules, "gl_acounts": {"4000": "401100"}})
    assert refused.value.errors[0].path == "gl_acounts" and "unknown section" in refused.value.errors[0].message


def test_publish_and_rollback_check_gl_accounts_against_the_live_chart(flow, monkeypatch):
    chart = {account: "" for account in v.published_version(flow).rules["gl_accounts"].values()}
    monkeypatch.setattr(v, "live_chart", lambda f: chart)
    v.save_draft(flow, with_account(v.published_version(flow).rules, "4000", "999999"))  # saving: no live check
    with pytest.raises(v.InvalidMapping) as refused:
        v.publish_draft(flow)
    assert [e.to_dict() for e in refused.value.errors] == [
        {"path": "gl_accounts.4000", "message": "account 999999 is not in the target's chart of accounts",
         "position": None}]
    assert v.published_version(flow).number == 1

    def unreachable(f):
        raise ConnectionError("ODBC timeout")

    monkeypatch.setattr(v, "live_chart", unreachable)  # an unreachable ERP does not block a fix
    assert v.publish_draft(flow).number == 2
    monkeypatch.setattr(v, "live_chart", lambda f: {"401100": "Product sales"})
    with pytest.raises(v.InvalidMapping):  # v1 names accounts the chart no longer has
        v.rollback(flow, 1)
