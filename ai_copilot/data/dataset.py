"""Reading the GL-mapping evaluation data in this folder (see README.md for how it was made).

Why a module: the tenant generator, the combiner's training script and ``ai_copilot.evaluate_gl`` must read the
charts, the gold alignments and the tenant variants the same way, and must agree on the train/test split.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ai_copilot.accounts import Account

DATA_DIR = Path(__file__).resolve().parent
SOURCE_CHART = "kashflow_uk"
# chart pair -> (target chart file stem, gold file stem)
PAIRS: dict[str, tuple[str, str]] = {"ax": ("ax_usmf", "gold_kashflow_ax"),
                                     "sage": ("sage100_style", "gold_kashflow_sage")}
TENANTS_FILE = DATA_DIR / "tenants.csv"
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Tenant:
    """One perturbed tenant chart and, per chart pair, the acceptable targets of each of its accounts
    (an empty tuple: no acceptable target, left out of the scores)."""

    tenant: str
    split: str
    variant: str
    accounts: tuple[Account, ...]
    gold: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    def scored(self, pair: str) -> list[Account]:
        """Accounts that have at least one acceptable target in ``pair`` (the ones a score is taken on)."""
        return [a for a in self.accounts if self.gold[pair].get(a.code)]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@lru_cache(maxsize=8)
def load_chart(stem: str) -> tuple[Account, ...]:
    """A chart file (``kashflow_uk``, ``ax_usmf``, ``sage100_style``) as accounts."""
    return tuple(Account(r["code"], r["name"], r.get("type", "")) for r in _rows(DATA_DIR / f"{stem}.csv"))


def targets(pair: str) -> tuple[Account, ...]:
    """The target chart of a chart pair ("ax" or "sage")."""
    return load_chart(PAIRS[pair][0])


def split_codes(value: str) -> tuple[str, ...]:
    """"a|b" -> ("a", "b"); the first code is the preferred one."""
    return tuple(code for code in (value or "").split("|") if code)


@lru_cache(maxsize=4)
def load_gold(pair: str) -> dict[str, tuple[str, ...]]:
    """Base chart code -> acceptable target codes (preferred first) for a chart pair."""
    return {r["source_code"]: split_codes(r["targets"]) for r in _rows(DATA_DIR / f"{PAIRS[pair][1]}.csv")}


@lru_cache(maxsize=2)
def _load_all_tenants() -> tuple[Tenant, ...]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in _rows(TENANTS_FILE):
        grouped.setdefault(row["tenant"], []).append(row)
    out = []
    for name, rows in grouped.items():
        accounts = tuple(Account(r["code"], r["name"], r["type"]) for r in rows)
        gold = {pair: {r["code"]: split_codes(r[f"gold_{pair}"]) for r in rows} for pair in PAIRS}
        out.append(Tenant(name, rows[0]["split"], rows[0]["variant"], accounts, gold))
    return tuple(out)


def load_tenants(split: str | None = None) -> list[Tenant]:
    """The generated tenants, all or one split ("train" / "test")."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    return [t for t in _load_all_tenants() if split is None or t.split == split]


def confirmed_subset(tenant: Tenant, pair: str, fraction: float, seed: int) -> dict[str, str]:
    """A seeded random ``fraction`` of the tenant's scored accounts, confirmed to their preferred target: what a
    tenant that already mapped part of its chart would have."""
    scored = tenant.scored(pair)
    if fraction <= 0 or not scored:
        return {}
    rng = random.Random(f"{seed}:{tenant.tenant}:{pair}:{fraction}")
    chosen = rng.sample(scored, max(1, round(fraction * len(scored))))
    return {a.code: tenant.gold[pair][a.code][0] for a in chosen}


def gold_pairs(tenants: Sequence[Tenant], pairs: Sequence[str]) -> list[tuple[Account, Account]]:
    """(source, preferred target) of every scored account: what those tenants would have confirmed; the
    material the global prior is fitted on."""
    out = []
    for pair in pairs:
        chart = {t.code: t for t in targets(pair)}
        for tenant in tenants:
            out += [(a, chart[tenant.gold[pair][a.code][0]]) for a in tenant.scored(pair)]
    return out
