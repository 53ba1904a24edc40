"""The AIF processing vocabulary shared by the sandbox app and its services: call context, faults, results.

An ``AifError`` is what X++ business logic or the AIF framework raises; the app renders it as a SOAP 1.1 fault
with an ``AifFault`` detail (reference §5.1). Texts follow the AX wording where the reference has it and are
marked inferred in the docs where it does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

GENERIC_FAULT = "Request Failed. See the Exception Log for details."
DUPLICATE_TEXT = "Duplicate message. Message has already been processed."
UPDATE_CANCELED = "Update has been canceled."
NO_VALID_DOCUMENT = "No valid document identified from the entity key."
HASH_MISMATCH = ("The document hash does not match the hash in the XML. The document may have been changed since "
                 "last read")
# X++ Exception enum (reference §5.1).
XPP_INFO, XPP_ERROR, XPP_UPDATE_CONFLICT, XPP_DUPLICATE_KEY, XPP_TIMEOUT = 0, 3, 11, 13, 15
IDEMPOTENT_OPERATIONS = ("create", "update", "delete")  # duplicate checking is on by default for these (§2.3)


class AifError(Exception):
    """An AIF processing failure that becomes a SOAP fault with an AifFault detail."""

    def __init__(
        self,
        messages: list[str],
        *,
        xpp_type: int = XPP_ERROR,
        fault_code: str = "",
        faultstring: str = GENERIC_FAULT,
        always_visible: bool = False,
    ) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        self.xpp_type = xpp_type
        self.fault_code = fault_code
        self.faultstring = faultstring
        self.always_visible = always_visible


def business_error(errors: list[str], *, xpp_type: int = XPP_ERROR) -> AifError:
    """Validation failure as X++ reports it: the errors, then the ttscommit cancel line."""
    return AifError([*errors, UPDATE_CANCELED], xpp_type=xpp_type)


def duplicate_message() -> AifError:
    return AifError([DUPLICATE_TEXT], xpp_type=XPP_INFO, fault_code="DuplicateMessage", faultstring=DUPLICATE_TEXT,
                    always_visible=True)


@dataclass
class CallContext:
    company: str
    dataareaid: str
    message_id: str
    message_id_given: bool
    user: str
    language: str = "en-us"
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class OperationResult:
    """What a service operation produced: a document element (read/find) and/or entity keys (create/findKeys,
    and the keys logged for update/delete)."""

    document: etree._Element | None = None
    keys: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Criterion:
    """One QueryCriteria/CriteriaElement."""

    data_source: str
    field: str
    operator: str
    value1: str
    value2: str | None = None

    def describe(self) -> dict[str, Any]:
        return {"DataSourceName": self.data_source, "FieldName": self.field, "Operator": self.operator}
