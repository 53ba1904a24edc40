"""Apply batches: each operation in order, once per idempotency key, each with its own answer.

A failing operation never hides the others' results, and never stops the batch: Ledgerbridge decides per
record what to retry. Operations are applied one at a time (a BOI session is single-threaded, and the key
check, the write and the key record must not interleave).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .backends import Backend
from .keys import APPLIED, AppliedKeys, Entry
from .operations import (
    BOI_FAILURE,
    INVALID_OPERATION,
    KEY_REUSED,
    OK,
    SESSION_FAILED,
    UNKNOWN_OUTCOME,
    WARNING,
    Operation,
    OperationError,
    Result,
    classify,
)
from .runner import Outcome, SessionError

log = logging.getLogger("ledgerbridge.sage100.agent")

MAX_BATCH = 500


class Agent:
    def __init__(self, backend: Backend, keys: AppliedKeys) -> None:
        self.backend = backend
        self.keys = keys
        self._lock = threading.Lock()

    def apply_batch(self, operations: list[Any]) -> list[Result]:
        return [self.apply(raw) for raw in operations]

    def apply(self, raw: Any) -> Result:
        try:
            operation = Operation.parse(raw)
        except OperationError as exc:
            return Result.failure(raw if isinstance(raw, dict) else {}, INVALID_OPERATION, str(exc))
        with self._lock:
            known = self.keys.claim(operation)
            if known is not None:
                return _answer_known(operation, known)
            result = self._apply_claimed(operation)
            if result.ok:
                return self.keys.complete(operation.key, result)
            self.keys.release(operation.key)
            return result

    def _apply_claimed(self, operation: Operation) -> Result:
        try:
            outcome = self.backend.apply(operation)
        except SessionError as exc:
            return Result.failure(operation, SESSION_FAILED, str(exc))
        except Exception as exc:  # noqa: BLE001 - a COM failure must become this operation's answer
            log.warning("BOI raised applying %s %s (%s): %s", operation.object, operation.action, operation.key,
                        type(exc).__name__)
            return Result.failure(operation, BOI_FAILURE, f"BOI raised an error: {exc}")
        return _result(operation, outcome)

    def applied(self, key: str) -> Entry | None:
        return self.keys.get(key)

    def release(self, key: str) -> Entry | None:
        """Release a pending key (an operator checked Sage); returns the entry as it was, None if unknown.

        Taken under the apply lock, so a claim that is being applied right now is never released.
        """
        with self._lock:
            entry = self.keys.get(key)
            if entry is not None and entry.state != APPLIED:
                self.keys.release(key)
            return entry

    def health(self) -> dict[str, Any]:
        try:
            self.backend.check()
            session = "ok"
        except SessionError as exc:
            session = str(exc)
        return {"backend": self.backend.name, "company": self.backend.company, "session": session,
                "applied_keys": self.keys.counts()}


def _result(operation: Operation, outcome: Outcome) -> Result:
    if outcome.ret == 0:
        code = outcome.code or classify(outcome.last_error)
    else:
        code = WARNING if outcome.ret < 0 else OK
    return Result(operation.key, operation.object, operation.action, outcome.ret, code, outcome.last_error,
                  outcome.record_key, outcome.warnings)


def _answer_known(operation: Operation, entry: Entry) -> Result:
    if entry.fingerprint != operation.fingerprint():
        return Result.failure(operation, KEY_REUSED,
                              f"Key {operation.key} was already used for a different operation "
                              f"({entry.object} {entry.action}); keys must identify one write.")
    if entry.state == APPLIED and entry.result is not None:
        entry.result.replayed = True
        return entry.result
    return Result.failure(operation, UNKNOWN_OUTCOME,
                          f"An agent that stopped at {entry.claimed_at} was applying this operation, so it may or "
                          "may not be in Sage. Check Sage, then release the key (DELETE /v1/applied/<key>) to "
                          "apply it again.")
