"""How good are the GL suggestions? Top-1 / top-3 / MRR on the evaluation tenants, calibration, and speed.

``evaluate()`` is what ``benchmarks/copilot.py`` calls; ``python -m ai_copilot.evaluate_gl`` prints the full
report (cold start with and without the global prior, 20 % confirmed, cross-chart generalisation, speed).

Honesty rules kept here: the global prior is fitted on TRAIN tenants only, whatever split is evaluated; the
shipped combiner was trained on the train split only (``ai_copilot.data.train_combiner``); a source counts as
right at top-1 when the first suggestion is any of its acceptable targets (``top1_strict``: only the preferred
one); sources with no acceptable target are left out and counted in ``excluded``; in confirmed mode a seeded
random share of each tenant's scored sources is confirmed and only the rest is scored.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from ai_copilot.accounts import Account
from ai_copilot.data.dataset import PAIRS, Tenant, confirmed_subset, gold_pairs, load_tenants, targets
from ai_copilot.gl import Combiner, GlobalPrior, GLSuggester

CALIBRATION_BINS = 10
CONFIDENT = 0.9  # the "accept all above X" threshold we report


def fit_prior(pairs: Sequence[str] = tuple(PAIRS)) -> GlobalPrior:
    """The global prior from the train tenants' gold mappings onto ``pairs`` (never the test tenants)."""
    return GlobalPrior.fit(gold_pairs(load_tenants("train"), pairs))


def _ranks(suggester: GLSuggester, sources: Sequence[Account], gold: dict[str, tuple[str, ...]]
           ) -> list[tuple[int, bool, float]]:
    """Per source: (rank of the first acceptable target or 0, top-1 is the preferred target, top-1 score)."""
    _x, logits, probabilities = suggester.scores(sources)
    out = []
    codes = [t.code for t in suggester.targets]
    for i, source in enumerate(sources):
        order = [j for j in np.argsort(-logits[i], kind="stable") if np.isfinite(logits[i, j])]
        acceptable = gold[source.code]
        rank = next((r for r, j in enumerate(order, 1) if codes[j] in acceptable), 0)
        top = order[0] if order else None
        out.append((rank, top is not None and codes[top] == acceptable[0],
                    float(probabilities[i, top]) if top is not None else 0.0))
    return out


def _figures(ranks: Sequence[int]) -> dict[str, float]:
    r = np.array(ranks, dtype=int)
    if not r.size:
        return {"n": 0, "top1": 0.0, "top3": 0.0, "mrr": 0.0}
    return {"n": int(r.size), "top1": round(float(np.mean(r == 1)), 4),
            "top3": round(float(np.mean((r >= 1) & (r <= 3))), 4),
            "mrr": round(float(np.mean(np.where(r > 0, 1.0 / np.maximum(r, 1), 0.0))), 4)}


def calibration(scores: Sequence[float], correct: Sequence[bool]) -> dict[str, Any]:
    """Reliability of the top-1 score: per score bin the mean score and the share right, the expected
    calibration error, and how many sources an "accept all above 0.9" click would take and how many right."""
    s, c = np.array(scores), np.array(correct, dtype=float)
    bins = []
    ece = 0.0
    for k in range(CALIBRATION_BINS):
        low, high = k / CALIBRATION_BINS, (k + 1) / CALIBRATION_BINS
        inside = (s >= low) & ((s < high) if k < CALIBRATION_BINS - 1 else (s <= high))
        if inside.any():
            bins.append({"bin": f"{low:.1f}-{high:.1f}", "n": int(inside.sum()),
                         "mean_score": round(float(s[inside].mean()), 3), "right": round(float(c[inside].mean()), 3)})
            ece += inside.sum() / s.size * abs(s[inside].mean() - c[inside].mean())
    confident = s >= CONFIDENT
    return {"ece": round(float(ece), 4), "bins": bins,
            "above_0_9": {"share_of_sources": round(float(confident.mean()), 4) if s.size else 0.0,
                          "right": round(float(c[confident].mean()), 4) if confident.any() else None}}


def evaluate(split: str = "test", confirmed_fraction: float = 0.0, seed: int = 0, *,
             pairs: Sequence[str] = tuple(PAIRS), use_prior: bool = True,
             prior_pairs: Sequence[str] | None = None, combiner: Combiner | None = None) -> dict[str, Any]:
    """Top-1, top-3, MRR (overall, per chart pair, per variant), calibration and timing on ``split``.

    ``confirmed_fraction``: share of each tenant's scored sources confirmed first (seeded by ``seed``); the
    figures are on the rest. ``use_prior``: fit the global prior on the train tenants' mappings onto
    ``prior_pairs`` (default: the evaluated pairs). ``combiner``: weights other than the shipped ones.
    """
    tenants = load_tenants(split)
    prior = fit_prior(tuple(prior_pairs or pairs)) if use_prior else None
    ranks: list[int] = []
    strict: list[bool] = []
    top_scores: list[float] = []
    by_pair: dict[str, list[int]] = defaultdict(list)
    by_variant: dict[str, list[int]] = defaultdict(list)
    build_seconds, suggest_seconds, excluded = [], [], 0
    for tenant in tenants:
        for pair in pairs:
            result = _evaluate_tenant(tenant, pair, confirmed_fraction, seed, prior, combiner)
            for rank, is_preferred, score in result["ranks"]:
                ranks.append(rank)
                strict.append(rank == 1 and is_preferred)
                top_scores.append(score)
                by_pair[pair].append(rank)
                by_variant[tenant.variant].append(rank)
            excluded += result["excluded"]
            build_seconds.append(result["build_seconds"])
            suggest_seconds.append(result["suggest_seconds"])
    return {
        "split": split, "confirmed_fraction": confirmed_fraction, "seed": seed, "prior": use_prior,
        "prior_pairs": list(prior_pairs or pairs) if use_prior else [], "pairs": list(pairs),
        "combiner": "shipped" if combiner is None else dict(combiner.meta).get("trained_on", "custom"),
        "tenants": len(tenants), **_figures(ranks),
        "top1_strict": round(float(np.mean(strict)), 4) if strict else 0.0, "excluded": excluded,
        "per_pair": {pair: _figures(r) for pair, r in by_pair.items()},
        "per_variant": {variant: _figures(r) for variant, r in sorted(by_variant.items())},
        "calibration": calibration(top_scores, [r == 1 for r in ranks]),
        "timing": {"tenant_charts": len(build_seconds),
                   "build_ms_median": round(statistics.median(build_seconds) * 1000, 2) if build_seconds else 0,
                   "suggest_all_ms_median": round(statistics.median(suggest_seconds) * 1000, 2)
                   if suggest_seconds else 0},
    }


def _evaluate_tenant(tenant: Tenant, pair: str, confirmed_fraction: float, seed: int,
                     prior: GlobalPrior | None, combiner: Combiner | None) -> dict[str, Any]:
    confirmed = confirmed_subset(tenant, pair, confirmed_fraction, seed)
    started = time.perf_counter()
    suggester = GLSuggester(targets(pair), confirmed=confirmed, sources=tenant.accounts, prior=prior)
    suggester.combiner = combiner
    built = time.perf_counter()
    open_sources = [a for a in tenant.accounts if a.code not in confirmed]
    suggester.suggest_all(open_sources, top=3)
    suggested = time.perf_counter()
    scored = [a for a in tenant.scored(pair) if a.code not in confirmed]
    return {"ranks": _ranks(suggester, scored, dict(tenant.gold[pair])),
            "excluded": sum(1 for a in tenant.accounts if not tenant.gold[pair].get(a.code)),
            "build_seconds": built - started, "suggest_seconds": suggested - built}


def cross_chart(train_pair: str = "sage", test_pair: str = "ax", split: str = "test") -> dict[str, Any]:
    """Generalisation to a chart pair never trained on: the combiner (and the prior) learnt from ``train_pair``
    train tenants only, evaluated on ``test_pair``."""
    from ai_copilot.data.train_combiner import train

    combiner, _blocks, _folds = train((train_pair,))
    return {
        "trained_on": train_pair, "evaluated_on": test_pair,
        "no_prior": _headline(evaluate(split, pairs=(test_pair,), use_prior=False, combiner=combiner)),
        "prior_from_trained_pair": _headline(evaluate(split, pairs=(test_pair,), prior_pairs=(train_pair,),
                                                      combiner=combiner)),
        "confirmed_20_prior_from_trained_pair": _headline(evaluate(
            split, 0.2, pairs=(test_pair,), prior_pairs=(train_pair,), combiner=combiner)),
    }


def speed(sources: int = 200, targets_: int = 300, repeat: int = 5) -> dict[str, Any]:
    """Build + suggest_all time for ``sources`` x ``targets_`` (best and median of ``repeat``), with the prior
    and 20 % confirmed: real tenant accounts as sources, the AX and Sage charts plus divisional copies as
    targets (a big multi-division chart)."""
    pool = [a for t in load_tenants("train") for a in t.accounts]
    chosen = list({(a.code, a.name): a for a in pool}.values())[:sources]
    chosen = [Account(f"{n:05d}", a.name, a.type) for n, a in enumerate(chosen)]
    base = [*targets("ax"), *targets("sage")]
    chart, division = [], 0
    while len(chart) < targets_:
        chart += [Account(f"{division}{t.code}", t.name if division == 0 else f"{t.name} - Division {division}",
                          t.type) for t in base]
        division += 1
    chart = chart[:targets_]
    confirmed = {a.code: chart[n % len(chart)].code for n, a in enumerate(chosen[: sources // 5])}
    prior = fit_prior()
    builds, suggests = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        suggester = GLSuggester(chart, confirmed=confirmed, sources=chosen, prior=prior)
        built = time.perf_counter()
        suggester.suggest_all(chosen, top=3)
        builds.append(built - started)
        suggests.append(time.perf_counter() - built)
    total = [b + s for b, s in zip(builds, suggests, strict=True)]
    return {"sources": len(chosen), "targets": len(chart), "build_ms_best": round(min(builds) * 1000, 1),
            "suggest_all_ms_best": round(min(suggests) * 1000, 1), "total_ms_best": round(min(total) * 1000, 1),
            "total_ms_median": round(statistics.median(total) * 1000, 1)}


def _headline(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("n", "top1", "top3", "mrr", "top1_strict", "excluded")
    return {**{k: result[k] for k in keys}, "per_pair": result["per_pair"], "ece": result["calibration"]["ece"]}


def report(split: str = "test", seed: int = 0) -> dict[str, Any]:
    """Everything the issue asks to show, as one dict."""
    return {
        "cold_start_with_prior": evaluate(split, 0.0, seed),
        "cold_start_without_prior": evaluate(split, 0.0, seed, use_prior=False),
        "confirmed_20_with_prior": evaluate(split, 0.2, seed),
        "confirmed_20_without_prior": evaluate(split, 0.2, seed, use_prior=False),
        "cross_chart_sage_to_ax": cross_chart("sage", "ax", split),
        "cross_chart_ax_to_sage": cross_chart("ax", "sage", split),
        "speed_200x300": speed(),
    }


def _print(result: dict[str, Any]) -> None:
    for name, r in result.items():
        if name.startswith("cross_chart"):
            for variant in ("no_prior", "prior_from_trained_pair", "confirmed_20_prior_from_trained_pair"):
                f = r[variant]
                print(f"{name:32} {variant:38} n={f['n']:5} top1={f['top1']:.3f} top3={f['top3']:.3f} "
                      f"mrr={f['mrr']:.3f}")
        elif name.startswith("speed"):
            print(f"{name:32} {r}")
        else:
            print(f"{name:32} n={r['n']:5} top1={r['top1']:.3f} top3={r['top3']:.3f} mrr={r['mrr']:.3f} "
                  f"strict={r['top1_strict']:.3f} ece={r['calibration']['ece']:.3f} "
                  f"above0.9={r['calibration']['above_0_9']} "
                  + " ".join(f"{p}:{f['top1']:.3f}/{f['top3']:.3f}" for p, f in r["per_pair"].items()))
            print(" " * 33 + " ".join(f"{v}:{f['top1']:.3f}" for v, f in r["per_variant"].items()))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="GL suggestion evaluation report")
    parser.add_argument("--split", default="test", choices=("train", "test"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the full report as JSON")
    args = parser.parse_args(argv)
    result = report(args.split, args.seed)
    _print(result)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)
            handle.write("\n")


if __name__ == "__main__":
    main()
