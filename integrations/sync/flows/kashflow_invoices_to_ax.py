"""Kashflow sales invoices -> Dynamics AX free-text invoices, record by record.

read list page -> skip what is already bound -> fetch detail -> canonical -> persist SyncRecord
-> lock -> map -> create in AX with a MessageId derived from the idempotency key -> bind (own commit).
"""

from __future__ import annotations

import logging

from integrations.core.errors import (
    AUTH,
    CONFIGURATION,
    TRANSIENT,
    ConnectorError,
    DuplicateError,
    TargetValidationError,
)
from integrations.dynamics_ax.adapter import free_text_invoice_document, message_id_for
from integrations.kashflow.adapter import invoice_to_canonical
from integrations.sync.connectors import ax_client_for, kashflow_client_for
from integrations.sync.engine import (
    FlowAborted,
    RecordBusy,
    RunRecorder,
    bind,
    mark_failed,
    persist_record,
    record_lock,
    record_unreadable,
)
from integrations.sync.models import Binding, Flow, SyncRecord
from mapping.defaults import AX_DEFAULT_DIMENSIONS, KASHFLOW_TO_AX_GL

log = logging.getLogger("ledgerbridge.sync.flows")

ENTITY = "sales_invoice"
MAX_CONSECUTIVE_TRANSIENT = 3


def run(flow: Flow, recorder: RunRecorder) -> None:
    source = kashflow_client_for(flow.source)
    target = ax_client_for(flow.target)
    options = flow.options or {}
    paid_only = options.get("paid_only", True)
    gl_map = {**KASHFLOW_TO_AX_GL, **{str(k): str(v) for k, v in options.get("gl_map", {}).items()}}
    dimensions = options.get("dimensions", AX_DEFAULT_DIMENSIONS)
    customer_accounts = options.get("customer_accounts", {})

    bound = set(
        Binding.objects.filter(connection=flow.target, source_connection=flow.source, entity=ENTITY)
        .values_list("source_id", flat=True)
    )
    transient_in_a_row = 0
    for summary in source.list_invoices():
        recorder.count("seen")
        number = str(summary.get("Number", ""))
        if number in bound or (paid_only and summary.get("Status") != "Paid"):
            recorder.count("skipped")
            continue
        raw = None
        try:
            raw = source.get_invoice(number)
            invoice = invoice_to_canonical(raw)
        except ConnectorError as error:
            if error.kind in {AUTH, CONFIGURATION}:
                raise
            recorder.count("failed")
            if error.retryable:
                transient_in_a_row += 1
                if transient_in_a_row >= MAX_CONSECUTIVE_TRANSIENT:
                    raise FlowAborted(f"Kashflow failed {transient_in_a_row} times in a row ({error}); "
                                      "the next run continues.") from error
            else:
                record_unreadable(flow, recorder.run, entity=ENTITY, source_id=number, raw=raw, error=error)
            continue
        if paid_only and invoice.status != "paid":
            recorder.count("skipped")
            continue
        record = persist_record(flow, recorder.run, entity=ENTITY, source_id=invoice.source_id,
                                payload=invoice.to_dict())
        try:
            with record_lock(record.idempotency_key):
                record.refresh_from_db()
                if record.status == SyncRecord.Status.POSTED:
                    recorder.count("skipped")
                    continue
                outcome = _post(flow, target, record, invoice, gl_map=gl_map, dimensions=dimensions,
                                customer_account=customer_accounts.get(invoice.customer_code,
                                                                       invoice.customer_code))
        except RecordBusy:
            recorder.count("skipped")
            continue
        recorder.count(outcome)
        if outcome == "posted":
            bound.add(invoice.source_id)
        transient_in_a_row = transient_in_a_row + 1 if record.error_kind == TRANSIENT else 0
        if transient_in_a_row >= MAX_CONSECUTIVE_TRANSIENT:
            raise FlowAborted(f"Dynamics AX failed {transient_in_a_row} times in a row ({record.last_error}); "
                              "the remaining invoices will be posted by the next run.")


def _post(flow, target, record: SyncRecord, invoice, *, gl_map, dimensions, customer_account) -> str:
    def main_account_for(nominal_code: str) -> str:
        try:
            return gl_map[str(nominal_code)]
        except KeyError:
            raise TargetValidationError(
                f"No AX main account is mapped for Kashflow nominal code {nominal_code}", system="Mapping",
                code="mapping_missing",
            ) from None

    document = None
    try:
        document = free_text_invoice_document(
            invoice, customer_account=customer_account, main_account_for=main_account_for,
            dimensions=dimensions,
        )
        message_id = message_id_for(record.idempotency_key)
        try:
            keys = target.create_free_text_invoice(document, message_id=message_id)
            external_id = next(iter(keys.values()), "") or f"MessageId:{message_id}"
        except DuplicateError:
            # AX already processed this exact message (an earlier attempt committed but its answer was
            # lost). It is posted; AX does not return the key again, so bind to the message id.
            external_id = f"MessageId:{message_id}"
    except ConnectorError as error:
        mark_failed(record, error, target_payload=_jsonable(document))
        log.info("invoice %s not posted: %s", invoice.source_id, error)
        return "failed"
    bind(flow, record, external_id, target_payload=_jsonable(document))
    return "posted"


def _jsonable(document):
    if document is None:
        return None
    import json

    return json.loads(json.dumps(document, default=str))
