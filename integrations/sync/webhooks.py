"""Signed inbound webhooks: verify, store, acknowledge — then the worker processes the stored delivery.

Signature: ``X-Ledgerbridge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>``
(the scheme Stripe popularised: the timestamp is signed with the body, so a captured request cannot be replayed
later). Answers: 202 stored; 200 a delivery id seen before (not stored twice); 400 malformed; 401 bad or
missing signature, or a timestamp more than TOLERANCE away; 404 unknown or disabled endpoint; 413 too big.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from integrations.sync.models import Flow, InboundWebhook, SyncRun, WebhookEndpoint

log = logging.getLogger("ledgerbridge.sync.webhooks")

MAX_BODY = 256 * 1024
TOLERANCE = 300  # seconds
SIGNATURE_HEADER = "X-Ledgerbridge-Signature"
DELIVERY_HEADER = "X-Ledgerbridge-Delivery"
EVENT_HEADER = "X-Ledgerbridge-Event"

# event name -> handler(delivery) -> result dict. Flows register theirs (e.g. storefront orders).
HANDLERS: dict[str, Callable[[InboundWebhook], dict[str, Any]]] = {}
# event name -> validator(body) -> None, or why the body is refused (answered 400, nothing stored).
VALIDATORS: dict[str, Callable[[dict[str, Any]], str | None]] = {}
# Modules whose ``register()`` adds their entries to HANDLERS and VALIDATORS (without replacing one already
# there); called before each use, which is cheap once they are imported.
HANDLER_MODULES = ("integrations.sync.flows.storefront_orders",)


def load_handlers() -> None:
    from django.utils.module_loading import import_string

    for module in HANDLER_MODULES:
        import_string(module + ".register")()


@dataclass
class Verdict:
    status: int
    message: str
    delivery: InboundWebhook | None = None


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value a sender puts on ``body`` (used by our storefront simulator and partners' docs)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None) -> str | None:
    """None when valid, else why not (never echoing anything secret)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if "t" not in parts or "v1" not in parts:
        return f"missing or malformed {SIGNATURE_HEADER} header (expected t=<timestamp>,v1=<hex>)"
    try:
        timestamp = int(parts["t"])
    except ValueError:
        return "signature timestamp is not a number"
    now = time.time() if now is None else now
    if abs(now - timestamp) > TOLERANCE:
        return f"signature timestamp is more than {TOLERANCE} s away from now (stale or clock skew)"
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    candidates = [v for k, v in (p.split("=", 1) for p in header.split(",") if "=" in p) if k == "v1"]
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        return "signature does not match the body"
    return None


def receive(token: str, *, body: bytes, headers: dict[str, str], content_length: int | None = None) -> Verdict:
    """Everything between the HTTP request and the 2xx: checks in order of cost, then one durable insert."""
    if (content_length or len(body)) > MAX_BODY:
        return Verdict(413, f"body larger than {MAX_BODY // 1024} KiB")
    endpoint = WebhookEndpoint.objects.filter(token=token, enabled=True).select_related("connection").first()
    if endpoint is None:
        return Verdict(404, "unknown webhook endpoint")
    problem = verify(str(endpoint.secret), headers.get(SIGNATURE_HEADER.lower(), ""), body)
    if problem:
        log.info("webhook %s rejected: %s", endpoint.pk, problem)
        return Verdict(401, problem)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return Verdict(400, f"body is not valid JSON: {exc}")
    if not isinstance(data, dict):
        return Verdict(400, "body must be a JSON object")
    delivery_id = str(headers.get(DELIVERY_HEADER.lower()) or data.get("id") or "")[:120]
    event = str(headers.get(EVENT_HEADER.lower()) or data.get("type") or data.get("event") or "")[:80]
    load_handlers()
    invalid = VALIDATORS[event](data) if event in VALIDATORS else None
    if invalid:
        return Verdict(400, invalid)
    try:
        with transaction.atomic():
            delivery = InboundWebhook.objects.create(endpoint=endpoint, delivery_id=delivery_id, event=event,
                                                     body=data)
    except IntegrityError:
        seen = InboundWebhook.objects.get(endpoint=endpoint, delivery_id=delivery_id)
        return Verdict(200, "already received", seen)
    _enqueue(delivery)
    return Verdict(202, "stored", delivery)


def _enqueue(delivery: InboundWebhook) -> None:
    from portal.tasks import enqueue_for_tenant

    try:
        enqueue_for_tenant(connection.schema_name, "integrations.sync.webhooks.process_delivery", delivery.pk,
                           task_name=f"{connection.schema_name}:webhook{delivery.pk}")
    except Exception:  # the delivery is stored; the sweeper picks it up even if queueing failed
        log.exception("could not queue webhook delivery %s; the sweeper will", delivery.pk)


def process_delivery(delivery_id: int) -> dict[str, Any]:
    """Task body: hand the delivery to its event's handler, or trigger the connection's flows."""
    with transaction.atomic():
        delivery = (InboundWebhook.objects.select_for_update(skip_locked=True).select_related("endpoint__connection")
                    .filter(pk=delivery_id, status=InboundWebhook.Status.RECEIVED).first())
        if delivery is None:
            return {"skipped": "already processed or being processed"}
        delivery.attempts += 1
        load_handlers()
        handler = HANDLERS.get(delivery.event, _trigger_flows)
        try:
            with transaction.atomic():
                result = handler(delivery)
        except Exception as exc:  # recorded on the delivery, visible in the inbox; not lost
            log.exception("webhook delivery %s failed", delivery.pk)
            delivery.status, delivery.error = InboundWebhook.Status.FAILED, f"{exc.__class__.__name__}: {exc}"
        else:
            delivery.status, delivery.result, delivery.error = InboundWebhook.Status.PROCESSED, result, ""
        delivery.processed_at = timezone.now()
        delivery.save()
    return {"status": delivery.status}


def _trigger_flows(delivery: InboundWebhook) -> dict[str, Any]:
    """Default: something changed in the source system, so run its flows now (unless one is waiting already)."""
    from integrations.sync.services import flow_run_request

    started = []
    for flow in Flow.objects.filter(source=delivery.endpoint.connection, enabled=True):
        if flow.runs.filter(status=SyncRun.Status.QUEUED).exists():
            continue
        run = flow_run_request(flow=flow, trigger=SyncRun.Trigger.WEBHOOK)
        started.append(run.pk)
    return {"runs": started}


def sweep_received(older_than: float = 60.0) -> int:
    """Re-queue deliveries that were stored but never processed (queue down, worker died)."""
    cutoff = timezone.now() - timedelta(seconds=older_than)
    stuck = list(InboundWebhook.objects.filter(status=InboundWebhook.Status.RECEIVED, received_at__lt=cutoff)
                 .values_list("pk", flat=True)[:500])
    for pk in stuck:
        process_delivery(pk)
    return len(stuck)
