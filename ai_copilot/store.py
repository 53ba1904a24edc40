"""Where trained models live: the tenant's own schema, signed for that schema, with their library versions.

A model is pickled (scikit-learn objects have no other faithful format) and pickle must never read bytes an
attacker could have written. So every stored payload carries an HMAC-SHA256 keyed with the deployment's secret
key *and the schema name*, and :func:`load` verifies it before unpickling: bytes from anywhere else, and a row
copied into another tenant's schema, fail the check and are refused. A model trained with another scikit-learn
version (or an older format of our own) is treated as absent, so the caller retrains rather than trusting an
object whose internals may have changed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import pickle
import platform
from dataclasses import dataclass
from typing import Any

import sklearn
from django.conf import settings
from django.db import connection
from django.utils import timezone

from ai_copilot.models import StoredModel

log = logging.getLogger("ledgerbridge.copilot.store")

FORMAT = 1  # bump when the pickled classes change shape incompatibly


class ModelRefused(Exception):
    """A stored payload failed its signature check: it was not written by this deployment for this tenant."""


@dataclass(frozen=True)
class Loaded:
    obj: Any
    row: StoredModel


def _schema() -> str:
    schema = getattr(connection, "schema_name", "") or ""
    if not schema or schema == getattr(settings, "PUBLIC_SCHEMA_NAME", "public"):
        raise RuntimeError("co-pilot models are stored per tenant: run inside a tenant schema")
    return schema


def _keys() -> list[bytes]:
    keys = list(getattr(settings, "LEDGERBRIDGE_SECRET_KEYS", []) or [settings.SECRET_KEY])
    return [hashlib.sha256(b"ledgerbridge-copilot-model\0" + key.encode()).digest() for key in keys]


def sign(payload: bytes, schema: str, scope: str, *, key: bytes | None = None) -> str:
    key = key if key is not None else _keys()[0]
    message = schema.encode() + b"\0" + scope.encode() + b"\0" + payload
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verify(payload: bytes, signature: str, schema: str, scope: str) -> bool:
    """True when any current key (rotation: newest first) signed these bytes for this schema and scope."""
    return any(hmac.compare_digest(sign(payload, schema, scope, key=key), signature) for key in _keys())


def save(scope: str, obj: Any, *, inputs_digest: str = "", training_rows: int = 0,
         metrics: dict[str, Any] | None = None) -> StoredModel:
    """Store (or replace) the tenant's model for ``scope``."""
    schema = _schema()
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    row, _ = StoredModel.objects.update_or_create(scope=scope, defaults={
        "format": FORMAT, "sklearn_version": sklearn.__version__, "python_version": platform.python_version(),
        "payload": payload, "signature": sign(payload, schema, scope), "inputs_digest": inputs_digest,
        "training_rows": training_rows, "metrics": metrics or {}, "trained_at": timezone.now(),
    })
    return row


def load(scope: str, *, inputs_digest: str | None = None) -> Loaded | None:
    """The tenant's model for ``scope``, or None when there is none usable (absent, another scikit-learn version,
    an old format, or trained on different inputs than ``inputs_digest``). Raises :class:`ModelRefused` when the
    signature does not verify: that is tampering or a cross-tenant copy, never silently ignored."""
    schema = _schema()
    row = StoredModel.objects.filter(scope=scope).first()
    if row is None:
        return None
    if row.format != FORMAT or row.sklearn_version != sklearn.__version__:
        log.info("co-pilot model %s in %s is from sklearn %s (format %s): retraining", scope, schema,
                 row.sklearn_version, row.format)
        return None
    if inputs_digest is not None and row.inputs_digest != inputs_digest:
        return None
    payload = bytes(row.payload)
    if not verify(payload, row.signature, schema, scope):
        log.error("co-pilot model %s in %s failed its signature check; refused", scope, schema)
        raise ModelRefused(f"The stored co-pilot model {scope!r} was not written for this tenant; it was refused.")
    return Loaded(pickle.loads(payload), row)  # noqa: S301 - verified above: our own bytes for this schema


def forget(scope: str | None = None) -> int:
    """Delete the tenant's stored model(s); they are retrained on next use."""
    rows = StoredModel.objects.all() if scope is None else StoredModel.objects.filter(scope=scope)
    return rows.delete()[0]
