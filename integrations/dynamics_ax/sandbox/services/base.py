"""What every emulated document service shares: the store, the port options, validated documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from lxml import etree

from ..aif import CallContext, OperationResult
from ..ledger import Ledger
from ..store import AxStore
from ..xmlkit import validated_document

Handler = Callable[[CallContext, etree._Element], OperationResult]


@dataclass
class PortOptions:
    """Settings of the emulated inbound port and of the AX installation behind it."""

    port_name: str = "LedgerbridgeServices"
    include_exceptions_in_fault: bool = True
    # Post free-text invoices and journals right after create, as a posting batch job would (AIF alone leaves
    # them unposted; see docs/sandbox/dynamics-ax.md).
    auto_post: bool = False
    # Cut over-long strings to the field length instead of failing schema validation.
    truncate_long_strings: bool = False
    today: Callable[[], date] = date.today


class Service:
    """Base of one AIF document service."""

    document_root = ""

    def __init__(self, store: AxStore, options: PortOptions) -> None:
        self.store = store
        self.options = options

    def document(self, wrapper: etree._Element) -> etree._Element:
        return validated_document(wrapper, self.document_root, truncate=self.options.truncate_long_strings)

    def ledger(self, ctx: CallContext) -> Ledger:
        return Ledger(self.store, ctx.dataareaid)

    def handlers(self) -> dict[tuple[str, str], Handler]:
        raise NotImplementedError
