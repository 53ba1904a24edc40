"""Mapping throughput: pure transforms of canonical invoices per second on one core (no I/O, no database).

    .venv/bin/python benchmarks/mapping.py                 # 20,000 invoices, best of 5
    .venv/bin/python benchmarks/mapping.py --invoices 50000 --repeat 3

A realistic mapping set: 24 flat GL accounts plus 6 multi-level GL rules (nominal + department / customer
group), a currency lookup, 3 dimension rules with expressions (one per line), a custom field, two field
mappings, an enrichment value (customer group, from an in-memory source), a routing rule with an expression and
the old ``total_above`` one. Each record also gets its customer address harmonised (mapping.addresses) and its
name normalised and trimmed (mapping.normalise), as a party-carrying flow would. Invoices have 1-6 lines.

Scenarios (each measured ``--repeat`` times, best kept; single process, single thread):

* **rules**: ``apply_mapping`` alone (rules compiled once per mapping version, as in a run);
* **rules + address + normalise**: the above plus address parsing and name normalisation/trimming.

Prints a table and writes benchmarks/results/mapping.json. Target: >= 20,000 records/s per core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

TARGET = 20_000

NOMINALS = ["4000", "4001", "4002", "4009", "4900", "4905"]
CUSTOMERS = [f"CUST{n:03d}" for n in range(200)]
GROUPS = ["RETAIL", "WHOLESALE", "INTERCO", "EXPORT"]
ADDRESSES = [
    (["Unit 4, Riverside Park", "Leeds", "West Yorkshire"], "LS1 4DJ", "United Kingdom"),
    (["221B Baker Street", "London"], "NW1 6XE", "GB"),
    (["1600 Amphitheatre Parkway", "Mountain View, CA"], "94043", "US"),
    (["12 Quay St", "Bristol"], "BS1 4DJ", ""),
]


def mapping_set() -> dict:
    gl_accounts = {code: f"4011{i:02d}" for i, code in enumerate(NOMINALS)}
    gl_accounts.update({str(code): f"6{code}" for code in range(5000, 5018)})  # 24 flat accounts in all
    return {
        "gl_accounts": gl_accounts,
        "gl_rules": [
            {"nominal": "4000", "department": "023", "account": "401400"},
            {"nominal": "4000", "customer_group": "WHOLESALE", "account": "401500"},
            {"nominal": "4000", "department": "023", "customer_group": "WHOLESALE", "account": "401600"},
            {"nominal": "4001", "customer_group": "EXPORT", "account": "401700"},
            {"nominal": "4002", "department": "024", "account": "401800"},
            {"nominal": "4905", "customer_group": "INTERCO", "account": "403160"},
        ],
        "dimensions": {"BusinessUnit": "001", "Department": "022"},
        "dimension_rules": [
            {"when": 'line.nominal == "4001"', "set": {"Department": "024"}},
            {"when": 'customer.customer_group == "WHOLESALE" and invoice.total > 500', "set": {"Department": "023"}},
            {"when": "line.net_amount >= 1000", "set": {"CostCenter": "007"}},
        ],
        "custom_fields": [{"source": "custom.Region", "target": "BusinessUnit", "kind": "dimension",
                           "values": {"North": "002", "South": "003"}}],
        "lookups": {"currency": {"values": {"GBP": "GBP", "EUR": "EUR", "USD": "USD"}, "fail_if_missing": True},
                    "payment_methods": {"values": {"1": "CHECK", "2": "CARD", "3": "BACS"}, "default": "CHECK"}},
        "field_mappings": [{"target": "CustomerRef", "source": "number", "required": True},
                           {"target": "Comment", "expression": 'concat("Kashflow ", invoice.number)',
                            "max_length": 30}],
        "enrichment": [{"name": "customer_group", "entity": "customer", "key": "customer_code", "field": "group",
                        "default": "RETAIL"}],
        "routing": [{"when": 'customer.customer_group == "INTERCO" and invoice.total > 5000', "action": "hold",
                     "reason": "Large intercompany invoice"},
                    {"when": "total_above", "amount": 25000}],
        "address": {"shape": "uk"},
        "normalise": {"max_lengths": {"Name": 60}},
    }


def invoices(count: int, seed: int = 7) -> list:
    from integrations.core.canonical import InvoiceLine, SalesInvoice

    rng = random.Random(seed)
    result = []
    for n in range(count):
        lines = []
        for i in range(1, rng.randint(1, 6) + 1):
            net = Decimal(rng.randint(100, 250_000)) / 100
            rate = rng.choice([Decimal(20), Decimal(5), None])
            tax = Decimal(0) if rate is None else (net * rate / 100).quantize(Decimal("0.01"))
            lines.append(InvoiceLine(number=i, description=f"Item {i}", quantity=Decimal(1), unit_price=net,
                                     net_amount=net, tax_amount=tax, tax_rate=rate,
                                     account_code=rng.choice(NOMINALS + ["5000", "5001"])))
        net = sum((x.net_amount for x in lines), Decimal(0))
        tax = sum((x.tax_amount for x in lines), Decimal(0))
        result.append(SalesInvoice(
            source_system="kashflow", source_id=str(n), number=str(10000 + n), customer_code=rng.choice(CUSTOMERS),
            customer_name="  acme   trading LTD  ", issue_date=date(2026, 3, 1 + n % 28), due_date=None,
            currency=rng.choice(["GBP", "GBP", "EUR"]), exchange_rate=Decimal(1), net_amount=net, tax_amount=tax,
            gross_amount=net + tax, paid_amount=net + tax, status="paid", lines=tuple(lines)))
    return result


def measure(label: str, work, records: list, repeat: int) -> dict:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for record in records:
            work(record)
        times.append(time.perf_counter() - started)
    best = min(times)
    return {"scenario": label, "records": len(records), "seconds_best": round(best, 4),
            "seconds_all": [round(t, 4) for t in times], "records_per_second": round(len(records) / best),
            "lines": sum(len(r.lines) for r in records)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from mapping.addresses import parse_address
    from mapping.enrichment import DictEnrichment
    from mapping.normalise import normalise_name, trim_fields
    from mapping.rules import apply_mapping, validate_rules

    rules = mapping_set()
    problems = validate_rules("kashflow_invoices_to_ax", rules)
    assert not problems, problems
    rng = random.Random(3)
    enrichment = DictEnrichment({"customer": {c: {"group": rng.choice(GROUPS)} for c in CUSTOMERS}})
    customs = {c: {"Region": rng.choice(["North", "South", ""])} for c in CUSTOMERS}
    records = invoices(args.invoices)
    limits = rules["normalise"]["max_lengths"]

    def rules_only(invoice):
        return apply_mapping(invoice, rules, account_label="AX main account", enrichment=enrichment,
                             custom=customs[invoice.customer_code])

    def full(invoice):
        mapped = rules_only(invoice)
        lines, postcode, country = ADDRESSES[int(invoice.source_id) % len(ADDRESSES)]
        parse_address(lines, postcode, country, shape=None)
        trim_fields({"Name": normalise_name(invoice.customer_name)}, limits, target="AX")
        return mapped

    full(records[0])  # warm up (compile the rules once, as the first record of a run does)
    results = [measure("rules", rules_only, records, args.repeat),
               measure("rules + address + normalise", full, records, args.repeat)]
    held = sum(1 for r in records if rules_only(r).hold)

    print(f"\nMapping transforms, {args.invoices:,} invoices ({results[0]['lines']:,} lines), best of {args.repeat}, "
          f"one core (target {TARGET:,} records/s)\n")
    print(f"{'scenario':<30} {'seconds':>9} {'records/s':>11} {'lines/s':>11}  target")
    for row in results:
        lines_per_second = round(row["lines"] / row["seconds_best"])
        ok = "met" if row["records_per_second"] >= TARGET else "MISSED"
        print(f"{row['scenario']:<30} {row['seconds_best']:>9.3f} {row['records_per_second']:>11,} "
              f"{lines_per_second:>11,}  {ok}")
    print(f"\n{held:,} of {len(records):,} invoices held by routing rules.")

    out = ROOT / "benchmarks" / "results" / "mapping.json"
    out.write_text(json.dumps({
        "benchmark": "mapping", "target_records_per_second": TARGET, "invoices": args.invoices,
        "repeat": args.repeat, "held_by_routing": held, "results": results,
        "rules": {"gl_accounts": len(rules["gl_accounts"]), "gl_rules": len(rules["gl_rules"]),
                  "dimension_rules": len(rules["dimension_rules"]), "routing": len(rules["routing"]),
                  "lookups": len(rules["lookups"]), "field_mappings": len(rules["field_mappings"])},
        "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=2) + "\n")
    print(f"Wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
