"""Seed a sandbox company like Sage's ABC demo, scaled by the number of A/R invoices.

Deterministic for a given ``rng_seed`` and ``today``. Rows are built in memory and loaded with one
``executemany`` per table in a single transaction, so 100,000 invoices (with their lines, receipts, open
items, orders and master data) load in seconds. Audit columns look like a company in use: DateCreated on the
document date, DateUpdated on the last change (payment date for paid invoices), times in working hours.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from integrations.sage100.layouts import LAYOUTS
from integrations.sage100.values import decimal_hours, password_hash

from . import abc
from .bulk import Rows
from .schema import DB_FILE, connect, create_schema

ZERO = Decimal(0)
CENT = Decimal("0.01")
FIRST_INVOICE = 100_001  # ABC's S/O invoices are numbered 0100xxx (0100058 observed)
FIRST_CLOSED_ORDER = 400  # orders already invoiced; ABF's open orders are 0000115-0000341
ADMIN = abc.USERS[0][0]


def money(value: Decimal | int | float) -> Decimal:
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


@dataclass
class Customer:
    division: str
    number: str
    name: str
    terms: str
    row: dict[str, Any]
    balance: Decimal = ZERO
    ageing: list[Decimal] = field(default_factory=lambda: [ZERO] * 4)
    open_orders: Decimal = ZERO
    last_payment: tuple[str, Decimal] | None = None
    last_activity: str = ""


@dataclass
class Item:
    code: str
    desc: str
    price: Decimal
    cost: Decimal
    line: str
    kind: str = "1"
    sales_key: str = ""


def seed(folder: Path, *, size: int, agent_user: str, agent_password: str, rng_seed: int = 0,
         today: date | None = None) -> dict[str, int]:
    """Create ``folder/company.sqlite3`` seeded with ``size`` A/R invoices; returns row counts per table.

    ``agent_user`` is the Sage user the agent logs on as (SY_User, with its password hashed).
    """
    path = Path(folder) / DB_FILE
    if path.exists():
        raise FileExistsError(f"{path} already exists; seed into an empty folder")
    generator = _Generator(random.Random(rng_seed), today or date.today(), size, (agent_user, agent_password))
    rows = generator.build()
    conn = connect(path)
    try:
        create_schema(conn)
        counts = rows.load(conn)
    finally:
        conn.close()
    return {table: counts.get(table, 0) for table in LAYOUTS}


class _Generator:
    def __init__(self, rng: random.Random, today: date, size: int, agent: tuple[str, str]) -> None:
        self.rng = rng
        self.today = today
        self.size = size
        self.agent = agent
        self.rows = Rows()
        self.customers: list[Customer] = []
        self.items: list[Item] = []
        self.regular: list[Item] = []
        self.on_order: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self.next_deposit: dict[date, str] = {}
        self.checks = 1000
        # Working-hours times (07:00-18:00 every 13 s), formatted once: stamps are drawn from here.
        self.times = [decimal_hours(time(s // 3600, s // 60 % 60, s % 60)) for s in range(7 * 3600, 18 * 3600, 13)]
        # Nothing is stamped later than now: a row of today gets a time that has already passed (a change polled
        # on DateUpdated/TimeUpdated must come after every seeded row, whatever the hour the sandbox is seeded).
        now = datetime.now()
        passed = [t for t in self.times if t <= decimal_hours(now)]
        if today != now.date():
            self.times_today = self.times
        else:  # before the working day starts: the small hours that have passed
            self.times_today = passed or [decimal_hours(time(s // 3600, s // 60 % 60, s % 60))
                                          for s in range(0, now.hour * 3600 + now.minute * 60 + 1, 13)]

    def build(self) -> Rows:
        self._company()
        self._gl()
        self._codes()
        self._items()
        self._customers()
        self._vendors()
        invoice_no = self._history()
        invoice_no = self._abf_open_invoices(invoice_no)
        self._orders(invoice_no)
        self._finish_customers()
        self._item_warehouses()
        self._journals()
        return self.rows

    # -- helpers -------------------------------------------------------------------------------------------------

    def stamp(self, created: date, updated: date | None = None, user: str = ADMIN) -> dict[str, Any]:
        updated = max(updated or created, created)
        return {"DateCreated": created, "TimeCreated": self.clock(created), "UserCreatedKey": user,
                "DateUpdated": updated, "TimeUpdated": self.clock(updated), "UserUpdatedKey": user}

    def clock(self, day: date | None = None) -> str:
        times = self.times_today if day == self.today else self.times
        return times[int(self.rng.random() * len(times))]

    def days_ago(self, days: int) -> date:
        return self.today - timedelta(days=days)

    def established(self) -> date:
        return self.days_ago(400 + self.rng.randrange(2000))

    # -- reference data ------------------------------------------------------------------------------------------

    def _company(self) -> None:
        add = self.rows.add
        add("SY_Company", dict(abc.COMPANY))
        users = [*abc.USERS, (abc.AGENT_USER_KEY, "LBA", self.agent[0], "Ledgerbridge", "Agent")]
        for key, code, logon, first, last in users:
            password = password_hash(key, self.agent[1]) if key == abc.AGENT_USER_KEY else None
            add("SY_User", {"UserKey": key, "UserCode": code, "UserLogon": logon, "FirstName": first,
                            "LastName": last, "Password": password, "Active": "Y", "External": "N",
                            "EnableCSODBC": "Y"})
        for number, desc, city, state, zipcode in abc.WAREHOUSES:
            add("IM_Warehouse", {"WarehouseCode": number, "WarehouseDesc": desc, "WarehouseName": desc,
                                 "WarehouseCity": city, "WarehouseState": state, "WarehouseZipCode": zipcode,
                                 **self.stamp(self.days_ago(3000))})

    def _gl(self) -> None:
        for account, desc, kind, status in abc.CHART:
            main, sub, dept = account.split("-")
            self.rows.add("GL_Account", {
                "AccountKey": abc.ACCOUNT_KEYS[account], "AccountDesc": desc, "Account": account,
                "RawAccount": main + sub + dept, "MainAccountCode": main, "Status": status,
                "ClearBalance": "Y" if int(kind) >= 11 else "N", "AccountType": kind, "CompanyCode": "ABC",
                **self.stamp(self.days_ago(3000)),
            })

    def _codes(self) -> None:
        add, key = self.rows.add, abc.ACCOUNT_KEYS
        for number, desc in abc.DIVISIONS:
            add("AR_Division", {"ARDivisionNo": number, "DivisionDesc": desc,
                                "AccountsReceivableAcctKey": key["110-00-00"], "CashAcctKey": key["100-00-00"],
                                "DiscountsAllowedAcctKey": key["420-00-00"], "FreightAcctKey": key["410-00-00"],
                                "SalesTaxAcctKey": key["210-00-00"], "FinanceChrgAcctKey": key["750-00-00"],
                                **self.stamp(self.days_ago(3000))})
        for table in ("AR_TermsCode", "AP_TermsCode"):
            for code, desc, due, discount_days, rate in abc.TERMS:
                add(table, {"TermsCode": code, "TermsCodeDesc": desc, "DaysBeforeDue": due,
                            "DaysBeforeDiscountDue": discount_days, "DiscountRate": rate,
                            **self.stamp(self.days_ago(3000))})
        for division, number, name in abc.SALESPEOPLE:
            add("AR_Salesperson", {"SalespersonDivisionNo": division, "SalespersonNo": number,
                                   "SalespersonName": name, "CommissionRate": Decimal("5.000"),
                                   **self.stamp(self.days_ago(2500))})
        for code, desc, method, account in abc.PAYMENT_TYPES:
            add("AR_PaymentType", {"PaymentType": code, "PaymentDesc": desc, "PaymentMethod": method,
                                   "AssetAcctKey": key[account], "DefaultTransaction": "P",
                                   **self.stamp(self.days_ago(2500))})

    # -- items ---------------------------------------------------------------------------------------------------

    def _items(self) -> None:
        for code, desc, price, line in abc.OBSERVED_ITEMS:
            self._item(Item(code, desc, price, money(price * Decimal("0.62")), line))
        for code, desc, kind, account in abc.MISC_ITEMS:
            self._item(Item(code, desc, ZERO, ZERO, "", kind, abc.ACCOUNT_KEYS[account]))
        generated = 20 + min(self.size // 40, 2500)
        for n in range(generated):
            prefix, descriptions, (low, high), line = abc.ITEM_FAMILIES[n % len(abc.ITEM_FAMILIES)]
            desc = descriptions[(n // len(abc.ITEM_FAMILIES)) % len(descriptions)]
            price = money(self.rng.uniform(low, high))
            code = f"{prefix}-{n // len(abc.ITEM_FAMILIES):04}"
            self._item(Item(code, desc[:30], price, money(price * Decimal(self.rng.uniform(0.5, 0.75))), line))

    def _item(self, item: Item) -> None:
        keys = abc.ACCOUNT_KEYS
        item.sales_key = item.sales_key or keys[abc.PRODUCT_LINE_ACCOUNTS.get(item.line, "400-00-00")]
        self.items.append(item)
        if item.kind == "1":
            self.regular.append(item)
        created = self.days_ago(500 + self.rng.randrange(1500))
        self.rows.add("CI_Item", {
            "ItemCode": item.code, "ItemType": item.kind, "ItemCodeDesc": item.desc, "UseInAR": "Y", "UseInSO": "Y",
            "UseInPO": "Y" if item.kind == "1" else "N", "ProductLine": item.line or None,
            "Valuation": "2" if item.kind == "1" else None, "StandardUnitOfMeasure": "EACH",
            "SalesUnitOfMeasure": "EACH", "PurchaseUnitOfMeasure": "EACH", "SalesUMConvFctr": Decimal(1),
            "PurchaseUMConvFctr": Decimal(1), "SalesAcctKey": item.sales_key,
            "CostOfGoodsSoldAcctKey": keys["500-00-00"] if item.kind == "1" else None,
            "InventoryAcctKey": keys["120-00-00"] if item.kind == "1" else None,
            "DefaultWarehouseCode": "000", "TaxClass": "TX" if item.kind == "1" else "NT",
            "StandardUnitCost": item.cost, "StandardUnitPrice": item.price, "AverageUnitCost": item.cost,
            "TotalQuantityOnHand": ZERO, "InactiveItem": "N", "AllowBackOrders": "Y", "AllowReturns": "Y",
            "AllowTradeDiscount": "Y", **self.stamp(created, created + timedelta(days=self.rng.randrange(300))),
        })

    # -- customers -----------------------------------------------------------------------------------------------

    def _customers(self) -> None:
        self._customer(dict(abc.ABF), contacts=abc.ABF_CONTACTS)
        count = max(15, min(self.size // 20, 5000))
        used = {"ABF"}
        pool = [(p, s) for p in abc.NAME_PREFIXES for s in abc.NAME_SUFFIXES]
        self.rng.shuffle(pool)
        for n in range(count):
            division = "00" if n % 25 == 0 else ("01" if n % 3 else "02")
            city, state, zip3 = abc.TOWNS[division][n % len(abc.TOWNS[division])]
            prefix, suffix = pool[n % len(pool)]
            name = f"{prefix} {suffix}" if n < len(pool) else f"{prefix} {suffix} - {city}"
            number = _unique_code(name, used)
            first, last = self.rng.choice(abc.FIRST_NAMES), self.rng.choice(abc.LAST_NAMES)
            person = _salesperson(division, n)
            row = {
                "ARDivisionNo": division, "CustomerNo": number, "CustomerName": name[:50],
                "AddressLine1": f"{self.rng.randrange(100, 9900)} {self.rng.choice(abc.STREETS)}",
                "City": city, "State": state, "ZipCode": f"{zip3}{self.rng.randrange(100):02}", "CountryCode": "USA",
                "TelephoneNo": f"({self.rng.randrange(201, 989)}) 555-{self.rng.randrange(10000):04}",
                "EmailAddress": f"{first.lower()}.{last.lower()}@{prefix.lower()}{n}.example.com",
                "CreditLimit": Decimal(self.rng.choice((5000, 10000, 25000, 50000))),
                "TermsCode": self.rng.choice(("01", "01", "01", "02", "03", "04")),
                "SalespersonDivisionNo": person[0], "SalespersonNo": person[1],
                "ShipMethod": self.rng.choice(abc.SHIP_VIA), "ContactCode": (first[:1] + last)[:10].upper(),
                "DateEstablished": self.established(), "DefaultPaymentType": self.rng.choice(("CHECK", "CHECK", "ACH")),
            }
            contact = {"ContactCode": row["ContactCode"], "ContactName": f"{first} {last}",
                       "AddressLine1": row["AddressLine1"], "City": city, "State": state, "ZipCode": row["ZipCode"],
                       "TelephoneNo1": row["TelephoneNo"], "EmailAddress": row["EmailAddress"]}
            self._customer(row, contacts=[contact])

    def _customer(self, row: dict[str, Any], contacts: list[dict[str, Any]]) -> None:
        customer = Customer(row["ARDivisionNo"], row["CustomerNo"], row["CustomerName"], row["TermsCode"], row)
        self.customers.append(customer)
        for contact in contacts:
            self.rows.add("AR_CustomerContact", {
                "ARDivisionNo": customer.division, "CustomerNo": customer.number, **contact,
                "CountryCode": "USA", **self.stamp(date.fromisoformat(str(row["DateEstablished"])))})

    def _finish_customers(self) -> None:
        for customer in self.customers:
            row = customer.row
            established = date.fromisoformat(str(row["DateEstablished"]))
            updated = max([established] + [date.fromisoformat(d) for d in (customer.last_activity,) if d])
            payment = customer.last_payment
            self.rows.add("AR_Customer", {
                **row, "TemporaryCustomer": "N", "OpenItemCustomer": "Y", "CreditHold": "N", "CustomerStatus": "A",
                "StatementCycle": "M", "EmailStatements": "N", "PrintDunningMessage": "N",
                "CurrentBalance": customer.balance, "AgingCategory1": customer.ageing[0],
                "AgingCategory2": customer.ageing[1], "AgingCategory3": customer.ageing[2],
                "AgingCategory4": customer.ageing[3], "OpenOrderAmt": customer.open_orders,
                "BalanceForward": ZERO, "LastPaymentAmt": payment[1] if payment else ZERO,
                "DateLastPayment": payment[0] if payment else None, "DateLastActivity": customer.last_activity or None,
                **self.stamp(established, updated),
            })

    # -- vendors and A/P -----------------------------------------------------------------------------------------

    def _vendors(self) -> None:
        vendors = list(abc.VENDORS)
        for n in range(max(0, min(self.size // 200, 1000) - len(vendors))):
            city, state, zip3 = abc.TOWNS["01"][n % len(abc.TOWNS["01"])]
            vendors.append((f"V{n + 1:05}", f"{abc.NAME_PREFIXES[n % 16]} Supply Co. {n + 1}", city, state,
                            f"{zip3}{n % 100:02}", "01", "120-00-00"))
        for number, name, city, state, zipcode, terms, account in vendors:
            self.rows.add("AP_Vendor", {
                "APDivisionNo": "00", "VendorNo": number, "VendorName": name,
                "AddressLine1": f"{self.rng.randrange(100, 9900)} {self.rng.choice(abc.STREETS)}", "City": city,
                "State": state, "ZipCode": zipcode, "CountryCode": "USA",
                "TelephoneNo": f"({self.rng.randrange(201, 989)}) 555-{self.rng.randrange(10000):04}",
                "TermsCode": terms, "HoldPayment": "N", "AccountKey": abc.ACCOUNT_KEYS[account],
                "DateEstablished": self.established(), **self.stamp(self.days_ago(900)),
            })
        self._ap_invoices(vendors)

    def _ap_invoices(self, vendors: list[tuple]) -> None:
        for n in range(max(10, self.size // 10)):
            number, _name, *_rest, terms, account = vendors[n % len(vendors)]
            invoice_date = self.days_ago(self.rng.randrange(60))
            amount = money(self.rng.uniform(40, 4000))
            due = invoice_date + timedelta(days=30 if terms != "05" else 0)
            invoice_no = f"INV-{self.rng.randrange(10000, 99999)}-{n}"
            keys = {"APDivisionNo": "00", "VendorNo": number, "InvoiceNo": invoice_no}
            stamp = self.stamp(invoice_date)
            self.rows.add("AP_OpenInvoice", {**keys, "InvoiceDate": invoice_date, "InvoiceDueDate": due,
                                             "TermsCode": terms, "HoldPayment": "N", "InvoiceAmt": amount,
                                             "DiscountAmt": ZERO, "Balance": amount, **stamp})
            self.rows.add("AP_InvoiceHistoryHeader", {**keys, "HeaderSeqNo": "000000", "InvoiceDate": invoice_date,
                                                      "InvoiceDueDate": due, "TermsCode": terms,
                                                      "FreightAmt": ZERO, "InvoiceAmt": amount, **stamp})
            self.rows.add("AP_InvoiceHistoryDetail", {**keys, "HeaderSeqNo": "000000", "DetailSeqNo": "000001",
                                                      "AccountKey": abc.ACCOUNT_KEYS[account], "ExtensionAmt": amount})

    # -- A/R invoice history, open items and cash receipts ------------------------------------------------------

    def _history(self) -> int:
        weights = [3 if c.number == "ABF" else 1 for c in self.customers]
        chosen = self.rng.choices(self.customers, weights, k=self.size)
        offsets = sorted((self.rng.randrange(365) for _ in range(self.size)), reverse=True)
        order_no = FIRST_CLOSED_ORDER
        for n, (customer, age) in enumerate(zip(chosen, offsets, strict=True)):
            invoice_no = f"{FIRST_INVOICE + n:07}"
            if invoice_no == abc.ABF_SO_INVOICE:
                customer = self.customers[0]
            from_order = self.rng.random() < 0.8
            order = f"{order_no:07}" if from_order else None
            order_no += from_order
            # ABF's history is all paid: its open balance is the observed one (_abf_open_invoices).
            self._invoice(customer, invoice_no, self.days_ago(age), order,
                          settle="paid" if customer.number == "ABF" else "random")
        return FIRST_INVOICE + self.size

    def _invoice(self, customer: Customer, invoice_no: str, invoice_date: date, order: str | None, *,
                 settle: str = "random", lines: list[tuple[Item, Decimal, Decimal]] | None = None) -> None:
        if lines is None:
            lines = [(item, Decimal(self.rng.choice((1, 1, 2, 3, 5, 10))), item.price)
                     for item in self.rng.sample(self.regular, self.rng.choice((1, 1, 2, 2, 3, 4)))]
        total = ZERO
        for seq, (item, quantity, price) in enumerate(lines, 1):
            extension = money(quantity * price)
            total += extension
            self.rows.add("AR_InvoiceHistoryDetail", {
                "InvoiceNo": invoice_no, "HeaderSeqNo": "000000", "DetailSeqNo": f"{seq:06}", "ItemCode": item.code,
                "ItemType": item.kind, "ItemCodeDesc": item.desc, "SalesAcctKey": item.sales_key,
                "UnitOfMeasure": "EACH", "WarehouseCode": "000", "ProductLine": item.line or None,
                "QuantityShipped": quantity, "QuantityOrdered": quantity, "UnitPrice": price,
                "UnitCost": item.cost, "ExtensionAmt": extension, "AppliedSalesOrderNo": order,
            })
        terms = next(t for t in abc.TERMS if t[0] == customer.terms)
        due = invoice_date + timedelta(days=terms[2])
        paid_on, paid = self._payment(invoice_date, total, settle)
        updated = paid_on or invoice_date
        self.rows.add("AR_InvoiceHistoryHeader", {
            "InvoiceNo": invoice_no, "HeaderSeqNo": "000000", "ModuleCode": "S/O" if order else "A/R",
            "InvoiceType": "IN", "InvoiceDate": invoice_date, "TransactionDate": invoice_date,
            "ARDivisionNo": customer.division, "CustomerNo": customer.number, "TermsCode": customer.terms,
            "SalespersonDivisionNo": customer.row.get("SalespersonDivisionNo"),
            "SalespersonNo": customer.row.get("SalespersonNo"), "InvoiceDueDate": due, "SourceJournal": "SO" if order
            else "SJ", "SalesOrderNo": order, "OrderType": "S" if order else None, "BillToName": customer.name,
            "BillToAddress1": customer.row.get("AddressLine1"), "BillToCity": customer.row.get("City"),
            "BillToState": customer.row.get("State"), "BillToZipCode": customer.row.get("ZipCode"),
            "ShipVia": customer.row.get("ShipMethod"), "WarehouseCode": "000", "TaxableSalesAmt": ZERO,
            "NonTaxableSalesAmt": total, "FreightAmt": ZERO, "SalesTaxAmt": ZERO, "DiscountAmt": ZERO,
            **self.stamp(invoice_date, updated),
        })
        customer.last_activity = max(customer.last_activity, updated.isoformat())
        if paid:
            self._receipt(customer, invoice_no, paid_on, paid, total - paid)
        if paid < total:
            self._open_invoice(customer, invoice_no, invoice_date, due, total, total - paid, updated)

    def _payment(self, invoice_date: date, total: Decimal, settle: str) -> tuple[date | None, Decimal]:
        """How much of an invoice was paid and when: ``settle`` is "random" (older is likelier), "paid", "open"."""
        if settle == "open":
            return None, ZERO
        age = (self.today - invoice_date).days
        chance = 1.0 if settle == "paid" else 0.97 if age > 60 else (0.6 if age > 30 else 0.2)
        roll = self.rng.random()
        paid_on = min(invoice_date + timedelta(days=self.rng.randrange(5, 45)), self.today)
        if roll < chance:
            return paid_on, total
        if roll < chance + 0.1:
            return paid_on, money(total * Decimal(self.rng.choice((0.25, 0.5, 0.75))))
        return None, ZERO

    def _receipt(self, customer: Customer, invoice_no: str, paid_on: date, amount: Decimal,
                 balance: Decimal) -> None:
        deposit = self.next_deposit.setdefault(paid_on, f"{len(self.next_deposit) + 1:05}")
        self.checks += 1
        payment_type = customer.row.get("DefaultPaymentType") or "CHECK"
        self.rows.add("AR_CashReceiptsHistory", {
            "BankCode": "A", "DepositDate": paid_on, "DepositNo": deposit, "DepositType": "C",
            "ARDivisionNo": customer.division, "CustomerNo": customer.number, "CheckNo": str(self.checks),
            "SequenceNo": "000001", "CreditCardEntryNo": "000000", "PostingDate": paid_on,
            "CustomerName": customer.name, "TransactionType": "PY", "InvoiceNo": invoice_no, "InvoiceType": "IN",
            "AccountKey": abc.ACCOUNT_KEYS["100-00-00"], "DepositDesc": f"Deposit {paid_on:%m/%d/%Y}",
            "CashAmountApplied": amount, "DiscountAmountApplied": ZERO, "InvoiceBalance": balance,
            "PaymentType": payment_type, **self.stamp(paid_on),
        })
        if customer.last_payment is None or customer.last_payment[0] <= paid_on.isoformat():
            customer.last_payment = (paid_on.isoformat(), amount)

    def _open_invoice(self, customer: Customer, invoice_no: str, invoice_date: date, due: date, total: Decimal,
                      balance: Decimal, updated: date) -> None:
        self.rows.add("AR_OpenInvoice", {
            "ARDivisionNo": customer.division, "CustomerNo": customer.number, "InvoiceNo": invoice_no,
            "InvoiceType": "IN", "InvoiceDate": invoice_date, "InvoiceDueDate": due,
            "InvoiceHistoryHeaderSeqNo": "000000", "PostingDate": invoice_date, "TermsCode": customer.terms,
            "SalespersonDivisionNo": customer.row.get("SalespersonDivisionNo"),
            "SalespersonNo": customer.row.get("SalespersonNo"), "TaxableAmt": ZERO, "NonTaxableAmt": total,
            "FreightAmt": ZERO, "SalesTaxAmt": ZERO, "DiscountAmt": ZERO, "PaymentsToday": ZERO, "Balance": balance,
            "SalesSubjectToComm": total, **self.stamp(invoice_date, updated),
        })
        customer.balance += balance
        age = (self.today - invoice_date).days
        if age >= 30:
            customer.ageing[min(age // 30 - 1, 3)] += balance

    def _abf_open_invoices(self, invoice_no: int) -> int:
        """ABF's observed balance (3,252.38: 772.40 current, 1,222.58 and 1,257.40 overdue)."""
        abf, service = self.customers[0], next(i for i in self.items if i.code == "/SERVICE")
        for age, amount in abc.ABF_OPEN_INVOICES:
            self._invoice(abf, f"{invoice_no:07}", self.days_ago(age), None, settle="open",
                          lines=[(service, Decimal(1), amount)])
            invoice_no += 1
        return invoice_no

    # -- sales orders and unposted S/O invoices -----------------------------------------------------------------

    def _orders(self, next_invoice: int) -> None:
        by_code = {item.code: item for item in self.items}
        abf = self.customers[0]
        for number, kind, status, lines, discount, tax in abc.ABF_ORDERS:
            self._order(abf, number, kind, status, [(by_code[c], Decimal(q), p) for c, q, p in lines], discount, tax)
        rest = abc.ABF_OPEN_ORDER_AMT - abf.open_orders
        for number, amount in zip(abc.ABF_OTHER_ORDERS, self._split(rest, len(abc.ABF_OTHER_ORDERS)), strict=True):
            self._order(abf, number, "S", "O", [(self.rng.choice(self.regular), Decimal(1), amount)], ZERO, ZERO)
        for number in abc.ABF_OTHER_QUOTES:
            self._order(abf, number, "Q", "N", self._random_lines(), ZERO, ZERO)
        first = FIRST_CLOSED_ORDER + self.size  # above every order already invoiced
        invoiced = 0
        for n in range(max(10, self.size // 10)):
            customer = self.rng.choice(self.customers[1:])
            kind, status = self.rng.choices([("S", "O"), ("S", "N"), ("S", "H"), ("B", "O"), ("Q", "N")],
                                            [55, 20, 8, 7, 10])[0]
            number = f"{first + n:07}"
            lines = self._random_lines()
            self._order(customer, number, kind, status, lines, ZERO, ZERO)
            if kind == "S" and status == "O" and invoiced < max(3, self.size // 100):
                self._so_invoice(customer, number, f"{next_invoice + invoiced:07}", lines)
                invoiced += 1

    def _split(self, total: Decimal, parts: int) -> list[Decimal]:
        """``total`` in ``parts`` random amounts (to the cent) that add up exactly."""
        weights = [self.rng.uniform(0.5, 1.5) for _ in range(parts)]
        amounts = [money(total * Decimal(w / sum(weights))) for w in weights[:-1]]
        return [*amounts, total - sum(amounts, ZERO)]

    def _random_lines(self) -> list[tuple[Item, Decimal, Decimal]]:
        picked = self.rng.sample(self.regular, self.rng.choice((1, 2, 2, 3, 5)))
        return [(item, Decimal(self.rng.choice((1, 2, 4, 6, 12))), item.price) for item in picked]

    def _order(self, customer: Customer, number: str, kind: str, status: str,
               lines: list[tuple[Item, Decimal, Decimal]], discount: Decimal, tax: Decimal) -> None:
        order_date = self.days_ago(self.rng.randrange(1, 45))
        total = ZERO
        for seq, (item, quantity, price) in enumerate(lines, 1):
            extension = money(quantity * price)
            total += extension
            self.rows.add("SO_SalesOrderDetail", {
                "SalesOrderNo": number, "LineKey": f"{seq:06}", "LineSeqNo": f"{seq:014}", "ItemCode": item.code,
                "ItemType": item.kind, "ItemCodeDesc": item.desc, "WarehouseCode": "000", "UnitOfMeasure": "EACH",
                "SalesAcctKey": item.sales_key, "CostOfGoodsSoldAcctKey": abc.ACCOUNT_KEYS["500-00-00"],
                "QuantityOrdered": quantity, "QuantityShipped": ZERO, "QuantityBackordered": ZERO,
                "UnitPrice": price, "UnitCost": item.cost, "ExtensionAmt": extension, "LineDiscountPercent": ZERO,
            })
            if kind in ("S", "B"):
                self.on_order[(item.code, "000")] += quantity
        taxable = total if tax else ZERO
        self.rows.add("SO_SalesOrderHeader", {
            "SalesOrderNo": number, "OrderDate": order_date, "OrderType": kind, "OrderStatus": status,
            "ShipExpireDate": order_date + timedelta(days=14), "ARDivisionNo": customer.division,
            "CustomerNo": customer.number, "BillToName": customer.name,
            "BillToAddress1": customer.row.get("AddressLine1"), "BillToCity": customer.row.get("City"),
            "BillToState": customer.row.get("State"), "BillToZipCode": customer.row.get("ZipCode"),
            "ShipVia": customer.row.get("ShipMethod"), "WarehouseCode": "000", "TermsCode": customer.terms,
            "SalespersonDivisionNo": customer.row.get("SalespersonDivisionNo"),
            "SalespersonNo": customer.row.get("SalespersonNo"), "TaxableAmt": taxable,
            "NonTaxableAmt": total - taxable, "SalesTaxAmt": tax, "DiscountAmt": discount, "FreightAmt": ZERO,
            **self.stamp(order_date, order_date + timedelta(days=self.rng.randrange(3))),
        })
        if kind in ("S", "B"):
            customer.open_orders += total - discount + tax

    def _so_invoice(self, customer: Customer, order: str, invoice_no: str,
                    lines: list[tuple[Item, Decimal, Decimal]]) -> None:
        total = ZERO
        for seq, (item, quantity, price) in enumerate(lines, 1):
            extension = money(quantity * price)
            total += extension
            self.rows.add("SO_InvoiceDetail", {
                "InvoiceNo": invoice_no, "LineKey": f"{seq:06}", "OrderLineKey": f"{seq:06}", "ItemCode": item.code,
                "ItemType": item.kind, "ItemCodeDesc": item.desc, "WarehouseCode": "000",
                "QuantityOrdered": quantity, "QuantityShipped": quantity, "QuantityBackordered": ZERO,
                "UnitPrice": price, "UnitCost": item.cost, "ExtensionAmt": extension,
            })
        self.rows.add("SO_InvoiceHeader", {
            "InvoiceNo": invoice_no, "InvoiceDate": self.today, "InvoiceType": "IN", "SalesOrderNo": order,
            "OrderType": "S", "OrderStatus": "O", "ARDivisionNo": customer.division, "CustomerNo": customer.number,
            "BillToName": customer.name, "TermsCode": customer.terms, "BatchNo": "00001", "PrintInvoice": "Y",
            "InvoicePrinted": "N", "TaxableAmt": ZERO, "NonTaxableAmt": total, "SalesTaxAmt": ZERO,
            "DiscountAmt": ZERO, "FreightAmt": ZERO, **self.stamp(self.today),
        })

    def _item_warehouses(self) -> None:
        for item in self.regular:
            for number, *_rest in abc.WAREHOUSES:
                if number == "002" and self.rng.random() < 0.6:
                    continue
                on_hand = Decimal(self.rng.randrange(0, 400))
                self.rows.add("IM_ItemWarehouse", {
                    "ItemCode": item.code, "WarehouseCode": number, "BinLocation": f"{number}-{item.line or 'GEN'}",
                    "ReorderMethod": "R", "QuantityOnHand": on_hand,
                    "QuantityOnSalesOrder": self.on_order.get((item.code, number), ZERO),
                    "QuantityOnPurchaseOrder": ZERO, "QuantityOnBackOrder": ZERO, "AverageCost": item.cost,
                    "ReorderPointQty": Decimal(20), "TotalWarehouseValue": money(on_hand * item.cost),
                    **self.stamp(self.days_ago(400), self.days_ago(self.rng.randrange(60))),
                })


    def _journals(self) -> None:
        """A year of monthly general-journal entries (rent, payroll, depreciation, utilities)."""
        entries = [("610-00-00", "100-00-00", 4200, "Monthly rent"), ("600-00-00", "101-00-00", 38000, "Payroll"),
                   ("670-00-00", "155-00-00", 1150, "Depreciation"), ("615-00-00", "100-00-00", 640, "Utilities")]
        register = 0
        for month in range(12, 0, -1):
            posting = self.days_ago(month * 30)
            for debit, credit, base, comment in entries:
                register += 1
                amount = money(base * self.rng.uniform(0.95, 1.05))
                for seq, (account, dr, cr) in enumerate(((debit, amount, ZERO), (credit, ZERO, amount)), 1):
                    self.rows.add("GL_DetailPosting", {
                        "JournalRegisterNo": f"{register:06}", "SequenceNo": f"{seq:06}",
                        "AccountKey": abc.ACCOUNT_KEYS[account], "PostingDate": posting, "SourceJournal": "GJ",
                        "SourceModule": "G/L", "PostingComment": f"{comment} {posting:%b %Y}", "DebitAmount": dr,
                        "CreditAmount": cr, "DateCreated": posting, "TimeCreated": self.clock(posting),
                        "UserCreatedKey": ADMIN})


def _salesperson(division: str, n: int) -> tuple[str, str]:
    people = [(d, p) for d, p, _name in abc.SALESPEOPLE if d == division]
    return people[n % len(people)]


def _unique_code(name: str, used: set[str]) -> str:
    """ABC-style customer numbers: the initials of the name (``ABF``), numbered when taken."""
    initials = "".join(word[0] for word in name.replace("-", " ").split() if word[0].isalnum()).upper()[:5]
    code, n = initials, 1
    while code in used:
        code, n = f"{initials[:4]}{n}", n + 1
    used.add(code)
    return code
