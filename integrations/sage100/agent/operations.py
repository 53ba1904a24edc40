"""What the agent is asked to do (operations) and what it answers (results).

An operation is one business-object write::

    {"key": "lb:acme:kf-inv:1234:v3",            # idempotency key, chosen by Ledgerbridge
     "object": "AR_Invoice_bus", "action": "create",
     "fields": {"ARDivisionNo": "01", "CustomerNo": "ABF", "InvoiceDate": "2024-01-31"},
     "lines": [{"ItemCode": "6655", "QuantityShipped": 4, "UnitPrice": 179}]}

Field names are the Sage column names without BOI's ``$``; dates are ISO ``YYYY-MM-DD``. A result carries BOI's
return value (1 success, -1 success with a warning, 0 failure), the last error text, a machine-readable ``code``
and the record's key (with numbers Sage assigned).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from .objects import ACTIONS, BUS_OBJECTS

MAX_KEY_LENGTH = 200
MAX_LINES = 1000
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}\$?$")
_KEY = re.compile(r"^[A-Za-z0-9._:~@+=-]+$")  # URL-safe: GET /v1/applied/{key} must round-trip

# Result codes. The client maps them to Ledgerbridge's error kinds (agent_client.py).
OK = "ok"
WARNING = "warning"
VALIDATION = "validation"  # the record itself is wrong: required field, invalid value or G/L account
NOT_ON_FILE = "not_on_file"  # a record it refers to is missing: customer, vendor, item, invoice
DUPLICATE = "duplicate"  # Sage already has it: duplicate invoice number, record already on file
NOT_FOUND = "not_found"  # update/delete of a record Sage does not have
IN_USE = "in_use"  # record locked by another user/task: try again later
INVALID_OPERATION = "invalid_operation"  # the request itself is malformed
KEY_REUSED = "key_reused"  # idempotency key already used for a different operation
UNKNOWN_OUTCOME = "unknown_outcome"  # the agent stopped while applying it: a person must check Sage
SESSION_FAILED = "session_failed"  # the agent cannot open a BOI session (user, company, external access)
BOI_FAILURE = "boi_failure"  # BOI raised instead of answering (COM error); worth retrying

# Last-error texts are not documented (reference §3.4), so classification goes by loose patterns, checked in order.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bin use\b|\blocked\b|\bbusy\b", re.I), IN_USE),
    (re.compile(r"already (exists|been used|on file)|\bduplicate\b", re.I), DUPLICATE),
    (re.compile(r"\bnot on file\b|\bdoes not exist\b|\bnot found\b", re.I), NOT_ON_FILE),
)


def classify(message: str) -> str:
    """The result code for a BOI failure text (anything unrecognised is a validation failure)."""
    for pattern, code in _PATTERNS:
        if pattern.search(message or ""):
            return code
    return VALIDATION


class OperationError(ValueError):
    """The operation is malformed; answered as ``invalid_operation`` without touching Sage."""


Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Operation:
    key: str
    object: str
    action: str
    fields: dict[str, Scalar]
    lines: list[dict[str, Scalar]] | None = None

    @classmethod
    def parse(cls, data: Any) -> Operation:
        if not isinstance(data, dict):
            raise OperationError("each operation must be a JSON object")
        unknown = set(data) - {"key", "object", "action", "fields", "lines"}
        if unknown:
            raise OperationError(f"unknown operation member(s): {', '.join(sorted(unknown))}")
        key = data.get("key")
        if not isinstance(key, str) or not _KEY.match(key) or len(key) > MAX_KEY_LENGTH:
            raise OperationError(f"key must be 1-{MAX_KEY_LENGTH} characters from A-Z a-z 0-9 . _ : ~ @ + = -")
        name = data.get("object")
        if name not in BUS_OBJECTS:
            raise OperationError(f"object must be one of {', '.join(BUS_OBJECTS)}; got {name!r}")
        action = data.get("action")
        if action not in ACTIONS:
            raise OperationError(f"action must be one of {', '.join(ACTIONS)}; got {action!r}")
        fields = _fields(data.get("fields", {}), "fields")
        lines = data.get("lines")
        if lines is not None:
            if not BUS_OBJECTS[name].lines:
                raise OperationError(f"{name} has no lines")
            if not isinstance(lines, list) or len(lines) > MAX_LINES:
                raise OperationError(f"lines must be a list of at most {MAX_LINES} objects")
            lines = [_fields(line, f"lines[{n}]") for n, line in enumerate(lines, 1)]
        return cls(key, name, action, fields, lines)

    def fingerprint(self) -> str:
        """Identifies the request, so a key reused for a different operation is caught."""
        body = json.dumps([self.object, self.action, self.fields, self.lines], sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()


def _fields(data: Any, where: str) -> dict[str, Scalar]:
    if not isinstance(data, dict):
        raise OperationError(f"{where} must be a JSON object of column names to values")
    clean: dict[str, Scalar] = {}
    for name, value in data.items():
        if not isinstance(name, str) or not _FIELD.match(name):
            raise OperationError(f"{where}: {name!r} is not a Sage column name")
        if isinstance(value, Decimal):
            value = float(value)
        if value is not None and not isinstance(value, str | int | float | bool):
            raise OperationError(f"{where}.{name} must be a string, number, true/false or null")
        clean[name.rstrip("$")] = value
    return clean


@dataclass
class Result:
    key: str
    object: str
    action: str
    ret: int  # BOI: 1 success, -1 success with a warning, 0 failure
    code: str
    last_error: str = ""
    record_key: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    replayed: bool = False  # answered from the applied-keys table, not applied again
    applied_at: str = ""

    @property
    def ok(self) -> bool:
        return self.ret != 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    @classmethod
    def failure(cls, operation: Operation | dict[str, Any], code: str, message: str) -> Result:
        if isinstance(operation, Operation):
            key, name, action = operation.key, operation.object, operation.action
        else:
            key, name, action = (str(operation.get(k, "")) for k in ("key", "object", "action"))
        return cls(key, name, action, 0, code, message)
