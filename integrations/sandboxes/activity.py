"""A small business's day, played against a sandbox's Kashflow account so the demo has data moving.

Everything goes through Kashflow's REST API with the connection's own credentials (the same client the flows
use), never into the sandbox's store: what the flows then pick up is exactly what a real Kashflow would hand
them. Each :meth:`SandboxActivity.tick` does what a few minutes of trading would:

* raises one to three sales invoices for existing customers, lines copied in kind from recent invoices (same
  nominal codes and products, other quantities), most of them paid at once (card or bank transfer);
* settles one older unpaid invoice in full, as a bank payment (a bulk payment, as Kashflow's UI records it).

The generator is seeded so a demo replays the same story, and it never deletes or rewrites anything.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from integrations.core.errors import ConnectorError
from integrations.kashflow.client import KashflowClient

log = logging.getLogger("ledgerbridge.sandboxes.activity")

RECENT = 50  # invoices looked at for templates and unpaid ones
SLIP_CHANCE = 0.04  # per tick: a clerk keys an invoice already raised a second time (the co-pilot should flag it)


@dataclass
class TickResult:
    invoices: list[int] = field(default_factory=list)
    paid: list[int] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    slips: list[int] = field(default_factory=list)  # duplicates keyed by mistake

    def __str__(self) -> str:
        return (f"{len(self.invoices)} invoice(s) raised ({len(self.paid)} paid at once), "
                f"{len(self.settled)} settled" + (f", {len(self.slips)} keyed twice" if self.slips else "")
                + (f", {len(self.errors)} error(s)" if self.errors else ""))


class SandboxActivity:
    def __init__(self, kashflow_fields: dict[str, Any], *, seed: int = 1, today: date | None = None) -> None:
        self.client = KashflowClient(kashflow_fields["base_url"], kashflow_fields.get("username", ""),
                                     kashflow_fields.get("password", ""), kashflow_fields.get("memorable_word", ""))
        self.rng = random.Random(seed)
        self.today = today

    def close(self) -> None:
        self.client.logout()

    def tick(self, *, max_invoices: int = 3) -> TickResult:
        result = TickResult()
        try:
            recent = self._recent()
        except ConnectorError as error:
            result.errors.append(str(error))
            return result
        templates = [inv for inv in recent if inv.get("LineItems")]
        for _ in range(self.rng.randint(1, max(1, max_invoices))):
            if not templates:
                break
            try:
                number, paid = self._raise_invoice(self.rng.choice(templates))
            except ConnectorError as error:
                result.errors.append(str(error))
                continue
            result.invoices.append(number)
            if paid:
                result.paid.append(number)
        if templates and self.rng.random() < SLIP_CHANCE:
            try:
                result.slips.append(self._key_twice(self.rng.choice(templates)))
            except ConnectorError as error:
                result.errors.append(str(error))
        unpaid = [inv for inv in recent if str(inv.get("Status", "")).lower() == "unpaid"]
        if unpaid:
            invoice = self.rng.choice(unpaid)
            try:
                self._settle(invoice)
                result.settled.append(int(invoice["Number"]))
            except ConnectorError as error:
                result.errors.append(str(error))
        log.info("Sandbox activity: %s", result)
        return result

    # ------------------------------------------------------------------ steps

    def _recent(self) -> list[dict[str, Any]]:
        listed = []
        for item in self.client.list_invoices(sortby="number", order="desc", perpage=RECENT):
            listed.append(item)
            if len(listed) >= RECENT:
                break
        return [self.client.get_invoice(item["Number"]) for item in listed[: RECENT // 5]] + [
            {**item, "LineItems": None} for item in listed[RECENT // 5:]]

    def _raise_invoice(self, template: dict[str, Any]) -> tuple[int, bool]:
        issued = self.today or date.today()
        lines = []
        for line in (template.get("LineItems") or [])[:3]:
            lines.append({key: line[key] for key in ("Description", "NominalCode", "ProductCode", "VATLevel")
                          if line.get(key) not in (None, "")}
                         | {"Quantity": Decimal(self.rng.randint(1, 6)),
                            "Rate": Decimal(str(line.get("Rate") or "10")).quantize(Decimal("0.01"))})
        payload: dict[str, Any] = {"CustomerCode": template["CustomerCode"], "IssuedDate": issued,
                                   "DueDate": issued, "LineItems": lines,
                                   "CustomerReference": f"PO-{self.rng.randint(10000, 99999)}"}
        created = self.client.create_invoice(payload)
        number = int(created["Number"])
        paid = self.rng.random() < 0.7
        if paid:
            self._pay(number, Decimal(str(created["GrossAmount"])), issued, template)
        return number, paid

    def _key_twice(self, invoice: dict[str, Any]) -> int:
        """The same customer, lines and amounts again under a new reference: the classic double-keyed invoice."""
        lines = [{key: line[key] for key in ("Description", "NominalCode", "ProductCode", "VATLevel", "Quantity",
                                             "Rate") if line.get(key) not in (None, "")}
                 for line in invoice.get("LineItems") or []]
        issued = self.today or date.today()
        created = self.client.create_invoice({
            "CustomerCode": invoice["CustomerCode"], "IssuedDate": issued, "DueDate": issued, "LineItems": lines,
            "CustomerReference": f"PO-{self.rng.randint(10000, 99999)}"})
        return int(created["Number"])

    def _settle(self, listed: dict[str, Any]) -> None:
        """Pay what is still owed (the listing has no payment lines: read the invoice first)."""
        invoice = self.client.get_invoice(listed["Number"])
        paid = sum((Decimal(str(line.get("Amount") or 0)) for line in invoice.get("PaymentLines") or []), Decimal(0))
        owed = Decimal(str(invoice.get("GrossAmount") or 0)) - paid
        if owed > 0:
            self._pay(int(invoice["Number"]), owed, self.today or date.today(), invoice)

    def _pay(self, number: int, amount: Decimal, when: date, template: dict[str, Any]) -> None:
        method = 1
        account = 1
        for line in template.get("PaymentLines") or []:
            method = line.get("Method") or method
            account = line.get("AccountId") or account
        self.client.create_bulk_payment("invoices", {
            "Date": when, "AccountId": account, "Method": method, "Comment": "Sandbox activity",
            "PaymentItems": [{"ObjectNumber": number, "Amount": amount, "PaidDate": when}]})
