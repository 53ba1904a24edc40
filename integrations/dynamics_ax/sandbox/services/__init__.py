"""The AIF document services the sandbox port exposes, keyed by (external service name, operation)."""

from __future__ import annotations

from ..store import AxStore
from .base import Handler, PortOptions, Service
from .invoices import FreeTextInvoiceService
from .items import ItemService
from .journals import JournalService
from .parties import CUSTOMER, VENDOR, PartyService


def build_services(store: AxStore, options: PortOptions) -> list[Service]:
    return [
        PartyService(store, options, CUSTOMER),
        PartyService(store, options, VENDOR),
        ItemService(store, options),
        FreeTextInvoiceService(store, options),
        JournalService(store, options, service="GeneralJournalService", root="LedgerGeneralJournal",
                       journal_type="Daily", operations=("create", "read")),
        JournalService(store, options, service="CustPaymJournalService", root="CustPaymJournal",
                       journal_type="CustPayment", operations=("create",)),
        JournalService(store, options, service="PurchaseInvoiceService", root="PurchaseInvoice",
                       journal_type="PurchaseLedger", operations=("create",)),
    ]


def build_handlers(store: AxStore, options: PortOptions) -> dict[tuple[str, str], Handler]:
    handlers: dict[tuple[str, str], Handler] = {}
    for service in build_services(store, options):
        handlers.update(service.handlers())
    return handlers


__all__ = ["Handler", "PortOptions", "build_handlers", "build_services"]
