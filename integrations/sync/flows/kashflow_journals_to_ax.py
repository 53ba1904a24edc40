"""Kashflow nominal journals -> Dynamics AX general journals (``GeneralJournalService.create``), one AX journal
per Kashflow journal.

Change detection: :mod:`integrations.sync.flows.kashflow_journal_source` (journal numbers, watermark,
periodic full sweep, listing digests).

Mapping: the tenant's rules through the engine every Kashflow document flow shares
(:func:`mapping.rules.apply_mapping`): each line's Kashflow nominal code -> an AX main account (``gl_accounts``,
``gl_rules`` by department), with the financial dimensions of ``dimensions`` (every line) overlaid by
``dimensions_by_account`` (per nominal code) and ``dimension_rules``; ``line_handling`` splits a nominal's lines
across dimensions (each part to the cent, the remainder on the last, so the journal still balances to the penny)
or merges lines of one account, dimensions and side; ``routing`` holds or skips a journal; ``field_mappings`` and
custom fields of kind field go on the LedgerJournalTable; the ``currency`` lookup maps the currency. The journal
name is ``journal_name`` (a journal name of type Daily, default ``GenJrn``). A journal whose debits and credits
differ is refused before anything is mapped or sent, with both totals in the message (AX would reject it as
unbalanced anyway, with a less helpful message).

Writes: one journal per AIF message, its MessageId derived from the record (the pipeline's outbox re-sends
the same message after a crash; AX answers ``DuplicateMessage``). Every line carries ``DocumentNum``
``KFJ<number>``, the natural key :meth:`find_existing` looks up in LEDGERJOURNALTRANS (ODBC) when an answer
was lost: AIF journals have no find operation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from integrations.core.canonical import Journal
from integrations.core.errors import TargetValidationError
from integrations.dynamics_ax.adapter import ACCOUNT_STRUCTURE, ledger_display_value
from integrations.dynamics_ax.sql import AxSqlReader
from integrations.sync.connectors import ax_client_for
from integrations.sync.flows.kashflow_journal_source import KashflowJournalSource
from integrations.sync.flows.kashflow_source import jsonable
from integrations.sync.models import SyncRecord
from integrations.sync.pipeline import Transformed
from mapping.defaults import AX_DEFAULT_DIMENSIONS, KASHFLOW_TO_AX_LEDGER
from mapping.rules import MappedDocument, apply_mapping

log = logging.getLogger("ledgerbridge.sync.flows")

__all__ = ["KashflowJournalsToAx", "default_rules", "journal_document", "postable_journal"]

TXT_LENGTH = 60  # LedgerJournalTrans.Txt (EDT LedgerJournalTransTxt)
NAME_LENGTH = 60  # LedgerJournalTable.Name
DOCUMENT_NUM_LENGTH = 20  # EDT DocumentNum
ACCOUNT_LENGTH = 20
ACCOUNT_LABEL = "AX main account"  # names the target in "No AX main account is mapped for Kashflow nominal code ..."


def default_rules() -> dict[str, Any]:
    """``gl_accounts``: Kashflow nominal code -> AX main account; ``dimensions``: financial dimensions on
    every line; ``dimensions_by_account``: nominal code -> dimensions overriding those; ``journal_name``: the
    AX journal name (type Daily)."""
    return {"gl_accounts": dict(KASHFLOW_TO_AX_LEDGER), "dimensions": dict(AX_DEFAULT_DIMENSIONS),
            "dimensions_by_account": {}, "journal_name": "GenJrn", "routing": []}


# ---------------------------------------------------------------------- AX document helpers (shared by the flows)


def account_dimensions(dimensions: Mapping[str, str]) -> dict[str, str]:
    """A line's mapped dimensions as AX takes them: names outside the account structure are refused (naming them),
    empty values left out."""
    unknown = [name for name, value in dimensions.items() if value and name not in ACCOUNT_STRUCTURE]
    if unknown:
        raise TargetValidationError(
            f"Dimension(s) {', '.join(unknown)} are not in the AX account structure ({', '.join(ACCOUNT_STRUCTURE)}).",
            system="Mapping", code="invalid_value", payload={"dimensions": dict(dimensions)})
    return {name: value for name, value in dimensions.items() if value}


def dimensions_for(rules: Mapping[str, Any], nominal_code: str, *,
                   base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: the rules' ``dimensions``) overlaid by ``dimensions_by_account[nominal_code]`` ("" removes
    one), as AX takes them: for lines the engine does not map, such as a purchase's VAT line (nominal ``VAT``)."""
    source = rules.get("dimensions") if base is None else base
    dims = {str(k): str(v) for k, v in (source or {}).items() if v}
    dims.update({str(k): str(v) for k, v in ((rules.get("dimensions_by_account") or {}).get(str(nominal_code))
                                            or {}).items()})
    return account_dimensions(dims)


def ledger_multi_account(main_account: str, dimensions: Mapping[str, str]) -> dict[str, Any]:
    """AxdType_MultiTypeAccount of a Ledger journal line: display value, main account and dimension values."""
    account: dict[str, Any] = {"DisplayValue": ledger_display_value(main_account, dimensions),
                               "Account": main_account}
    values = [{"Name": name, "Value": dimensions[name]} for name in ACCOUNT_STRUCTURE if dimensions.get(name)]
    if values:
        account["Values"] = {"Value": values}
    return account


def party_multi_account(account: str, *, what: str) -> dict[str, Any]:
    """AxdType_MultiTypeAccount of a customer / vendor / bank line (``Account`` = ``DisplayValue``)."""
    if not account or len(account) > ACCOUNT_LENGTH:
        raise TargetValidationError(f"{what} {account!r} is not a valid AX account (1-{ACCOUNT_LENGTH} characters).",
                                    system="Mapping", code="invalid_value", payload={"account": account})
    return {"DisplayValue": account, "Account": account}


def shorten(text: str, length: int, what: str, warnings: list[str]) -> str:
    text = (text or "").strip()
    if len(text) <= length:
        return text
    warnings.append(f"{what} was longer than {length} characters and was shortened to {text[:length]!r}.")
    return text[:length]


def reader_for(connection) -> AxSqlReader:
    """A read-only ODBC reader of the AX company the connection writes to (the natural-key look-ups)."""
    return AxSqlReader.from_settings(connection.settings or {})


# ---------------------------------------------------------------------- the document


def postable_journal(journal: Journal) -> None:
    """Refuse a journal AX cannot post, before its rules are applied: no lines, or debits and credits that
    differ (with both totals named)."""
    if not journal.lines:
        raise TargetValidationError(f"Kashflow journal {journal.number} has no lines.", system="Mapping",
                                    code="invalid_value")
    if not journal.balanced:
        debits = sum((line.debit for line in journal.lines), Decimal(0))
        credits = sum((line.credit for line in journal.lines), Decimal(0))
        raise TargetValidationError(
            f"Kashflow journal {journal.number} does not balance: debits {debits} and credits {credits} "
            f"(difference {journal.imbalance}); AX refuses unbalanced journals. Correct it in Kashflow.",
            system="Mapping", code="invalid_value", payload={"journal": journal.number})


def journal_document(journal: Journal, rules: Mapping[str, Any], *, mapped: MappedDocument | None = None
                     ) -> tuple[dict[str, Any], list[str]]:
    """The LedgerJournalTable (with LedgerJournalTrans lines) for ``AifClient.create_general_journal``: one line
    per mapped line that moves money, on its mapped main account and dimensions. ``mapped``: the rules already
    applied to the journal (the flow applies them first, for routing)."""
    postable_journal(journal)
    if mapped is None:
        mapped = apply_mapping(journal, rules, account_label=ACCOUNT_LABEL)
    warnings: list[str] = []
    currency = mapped.currency or journal.currency
    document_num = f"KFJ{journal.number}"[:DOCUMENT_NUM_LENGTH]
    description = journal.description or f"Kashflow journal {journal.number}"
    lines = []
    for position, item in enumerate(mapped.lines, start=1):
        line = item.line
        if line.amount == 0:
            continue
        entry: dict[str, Any] = {"AccountType": "Ledger"}
        if line.debit:
            entry["AmountCurDebit"] = line.debit
        entry["CurrencyCode"] = currency
        entry["Txt"] = shorten(line.description or description, TXT_LENGTH, f"Line {position} text", warnings)
        if line.credit:
            entry["AmountCurCredit"] = line.credit
        entry["TransDate"] = journal.journal_date
        entry["DocumentDate"] = journal.journal_date
        entry["DocumentNum"] = document_num
        entry["LedgerDimension"] = ledger_multi_account(item.account, account_dimensions(item.dimensions))
        lines.append(entry)
    header = {
        "Name": shorten(f"Kashflow {journal.number}: {description}", NAME_LENGTH, "Journal name", warnings),
        "JournalName": str(rules.get("journal_name") or "GenJrn"),
        "CurrencyCode": currency,
        "DocumentNum": document_num,
        **mapped.fields,  # field mappings and custom fields of kind field (LedgerJournalTable fields)
        "LedgerJournalTrans": lines,
    }
    return jsonable(header), warnings


def journal_num_of(reader: AxSqlReader, document_num: str, *, journal_name: str = "") -> str | None:
    """The AX journal whose lines carry ``document_num`` (the natural key of a Kashflow document), if any."""
    rows = reader.journal_lines("DOCUMENTNUM", [document_num])
    if journal_name:
        rows = [row for row in rows if row["JOURNALNAME"] == journal_name] or rows
    return rows[0]["JOURNALNUM"] if rows else None


class KashflowJournalsToAx(KashflowJournalSource):
    def __init__(self, flow, **kwargs) -> None:
        super().__init__(flow, **kwargs)
        self.batch_size = 1  # one journal per AIF message (its own AX transaction and its own MessageId)

    def open(self) -> None:
        super().open()
        self.ax = ax_client_for(self.flow.target, gate=self.target_gate)
        self.reader = reader_for(self.flow.target)  # natural-key look-ups (sender thread only)

    def transform(self, payload: dict[str, Any], rules: dict[str, Any], record: SyncRecord) -> Transformed:
        journal = self.journal_for(payload, record)
        postable_journal(journal)
        mapped = self.apply_rules(journal, rules, record, account_label=ACCOUNT_LABEL)
        if mapped.skip:
            return Transformed(skip=mapped.skip, warnings=mapped.warnings)
        document, warnings = journal_document(journal, rules, mapped=mapped)
        return Transformed(document=document, hold=mapped.hold, warnings=[*mapped.warnings, *warnings])

    def send(self, documents: Sequence[dict[str, Any]], message_id: str) -> list[str]:
        (document,) = documents
        return [self.ax.create_general_journal(document, message_id=message_id)]

    def find_existing(self, record: SyncRecord) -> str | None:
        document_num = (record.target_payload or {}).get("DocumentNum")
        if not document_num:
            return None
        return journal_num_of(self.reader, document_num,
                              journal_name=(record.target_payload or {}).get("JournalName", ""))
