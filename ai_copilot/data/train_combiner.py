"""Train the GL suggester's combiner (``gl_combiner.json``) on the TRAIN tenants only.

Run ``.venv/bin/python -m ai_copilot.data.train_combiner`` to write the shipped weights, or add ``--cv`` to see
cross-validated (by tenant) figures on the training tenants — the only figures used while developing; the test
tenants are read by ``ai_copilot.evaluate_gl`` alone.

How: every training tenant is mapped onto each target chart in several situations (cold start without and with
the global prior; 20 % and 50 % of its accounts confirmed, with a few rejections). The global prior a tenant sees
is always fitted on the *other* folds' tenants, as a new tenant would see it. Each (source, target) pair becomes
one row of :data:`ai_copilot.gl.FEATURES` labelled 1 when the target is acceptable. A logistic regression learns
the weights; the calibration (Platt scaling on logit and margin) is fitted on out-of-fold logits of the top
three targets per source, i.e. on what is shown. Deterministic: fixed folds, seeds and solver.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

from ai_copilot.data.dataset import DATA_DIR, PAIRS, Tenant, confirmed_subset, gold_pairs, load_tenants, targets
from ai_copilot.gl import COMBINER_FILE, FEATURES, Combiner, GlobalPrior, GLSuggester, Head, logit_margins, mode_of

FOLDS = 4
SEED = 7
C = 1.0
CALIBRATION_TOP = 3


@dataclass(frozen=True)
class Scenario:
    name: str
    prior: bool
    confirmed: float
    rejected: float  # share of the unconfirmed sources that reject their most name-like wrong target

    @property
    def mode(self) -> str:
        return mode_of(self.prior, self.confirmed > 0)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("cold", False, 0.0, 0.0),
    Scenario("cold+prior", True, 0.0, 0.0),
    Scenario("confirmed20", True, 0.2, 0.1),
    Scenario("confirmed20-noprior", False, 0.2, 0.1),
    Scenario("confirmed50", True, 0.5, 0.1),
)


@dataclass
class Block:
    """One tenant x chart pair x scenario: features and labels for its scored, unconfirmed sources."""

    tenant: str
    pair: str
    scenario: str
    mode: str
    x: np.ndarray        # (n, m, F)
    allowed: np.ndarray  # (n, m)
    y: np.ndarray        # (n, m) 1 where the target is acceptable


def fold_of(tenants: Sequence[Tenant]) -> dict[str, int]:
    """A fixed fold per tenant (sorted names, round robin): every variant lands in every fold."""
    return {name: i % FOLDS for i, name in enumerate(sorted(t.tenant for t in tenants))}


def out_of_fold_priors(tenants: Sequence[Tenant], pairs: Sequence[str]) -> dict[str, GlobalPrior]:
    """For each tenant, the global prior fitted on the tenants of the other folds."""
    folds = fold_of(tenants)
    priors = {}
    for fold in range(FOLDS):
        prior = GlobalPrior.fit(gold_pairs([t for t in tenants if folds[t.tenant] != fold], pairs))
        priors.update({t.tenant: prior for t in tenants if folds[t.tenant] == fold})
    return priors


def _rejections(tenant: Tenant, pair: str, confirmed: Mapping[str, str], share: float,
                prior: GlobalPrior | None, rng: random.Random) -> set[tuple[str, str]]:
    """Simulated rejections: the most name-like wrong target of a random share of the unconfirmed sources."""
    if share <= 0:
        return set()
    open_sources = [a for a in tenant.scored(pair) if a.code not in confirmed]
    chosen = rng.sample(open_sources, round(share * len(open_sources)))
    if not chosen:
        return set()
    probe = GLSuggester(targets(pair), confirmed=confirmed, sources=tenant.accounts, prior=prior)
    x, _allowed = probe.pair_features(chosen)
    out = set()
    for i, source in enumerate(chosen):
        gold = set(tenant.gold[pair][source.code])
        for j in np.argsort(-x[i, :, FEATURES.index("char_sim")], kind="stable"):
            if probe.targets[j].code not in gold:
                out.add((source.code, probe.targets[j].code))
                break
    return out


def block(tenant: Tenant, pair: str, scenario: Scenario, prior: GlobalPrior | None, seed: int = SEED) -> Block:
    """Features and labels for one tenant, chart pair and scenario."""
    confirmed = confirmed_subset(tenant, pair, scenario.confirmed, seed)
    prior = prior if scenario.prior else None
    rng = random.Random(f"{seed}:{tenant.tenant}:{pair}:{scenario.name}")
    rejected = _rejections(tenant, pair, confirmed, scenario.rejected, prior, rng)
    suggester = GLSuggester(targets(pair), confirmed=confirmed, rejected=rejected, sources=tenant.accounts,
                            prior=prior)
    sources = [a for a in tenant.scored(pair) if a.code not in confirmed]
    x, allowed = suggester.pair_features(sources)
    codes = [t.code for t in suggester.targets]
    y = np.array([[code in tenant.gold[pair][s.code] for code in codes] for s in sources], dtype=float)
    return Block(tenant.tenant, pair, scenario.name, scenario.mode, x, allowed, y.reshape(len(sources), len(codes)))


def build(tenants: Sequence[Tenant], pairs: Sequence[str], scenarios: Sequence[Scenario] = SCENARIOS,
          priors: Mapping[str, GlobalPrior] | None = None) -> list[Block]:
    priors = out_of_fold_priors(tenants, pairs) if priors is None else priors
    return [block(t, pair, s, priors.get(t.tenant)) for t in tenants for pair in pairs for s in scenarios]


def _flatten(blocks: Sequence[Block]) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([b.x[b.allowed] for b in blocks])
    y = np.concatenate([b.y[b.allowed] for b in blocks])
    return x, y


def _regression(blocks: Sequence[Block]) -> LogisticRegression:
    x, y = _flatten(blocks)
    return LogisticRegression(C=C, max_iter=5000, solver="lbfgs").fit(x, y)


def _block_logits(model: LogisticRegression, b: Block) -> np.ndarray:
    logits = b.x @ model.coef_[0] + model.intercept_[0]
    return np.where(b.allowed, logits, -np.inf)


def out_of_fold_logits(blocks: Sequence[Block], folds: Mapping[str, int]) -> list[np.ndarray]:
    """Each block's logits from its mode's regression fitted without its tenant."""
    out: list[np.ndarray | None] = [None] * len(blocks)
    for mode in dict.fromkeys(b.mode for b in blocks):
        for fold in range(FOLDS):
            model = _regression([b for b in blocks if b.mode == mode and folds[b.tenant] != fold])
            for i, b in enumerate(blocks):
                if b.mode == mode and folds[b.tenant] == fold:
                    out[i] = _block_logits(model, b)
    return [o for o in out if o is not None]


def _calibration_rows(blocks: Sequence[Block], logits: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for b, z in zip(blocks, logits, strict=True):
        margins = logit_margins(z)
        top = np.argsort(-z, axis=1, kind="stable")[:, :CALIBRATION_TOP]
        for i in range(z.shape[0]):
            for j in top[i]:
                if np.isfinite(z[i, j]):
                    rows.append((z[i, j], margins[i, j]))
                    labels.append(b.y[i, j])
    return np.array(rows), np.array(labels)


def fit_combiner(blocks: Sequence[Block], folds: Mapping[str, int], meta: Mapping | None = None) -> Combiner:
    """Per mode: the regression on that mode's blocks, calibrated on its out-of-fold logits."""
    logits = out_of_fold_logits(blocks, folds)
    heads = {}
    for mode in dict.fromkeys(b.mode for b in blocks):
        chosen = [i for i, b in enumerate(blocks) if b.mode == mode]
        model = _regression([blocks[i] for i in chosen])
        rows, labels = _calibration_rows([blocks[i] for i in chosen], [logits[i] for i in chosen])
        calibrator = LogisticRegression(C=1e4, max_iter=5000).fit(rows, labels)
        a, m = calibrator.coef_[0]
        if m < 0 or a + m <= 0:  # scores would not fall with rank: shown order and scores would disagree
            raise RuntimeError(f"calibration of mode {mode} is not monotone (logit {a:.3f}, margin {m:.3f})")
        heads[mode] = Head(tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0]),
                           (float(a), float(m), float(calibrator.intercept_[0])))
    return Combiner(FEATURES, heads, dict(meta or {}))


def ranking_figures(blocks: Sequence[Block], logits: Sequence[np.ndarray]) -> dict[str, dict[str, float]]:
    """Top-1 / top-3 / MRR per scenario from per-block logits (used for the cross-validated report)."""
    per: dict[str, list[float]] = {}
    for b, z in zip(blocks, logits, strict=True):
        order = np.argsort(-z, axis=1, kind="stable")
        for i in range(z.shape[0]):
            hits = np.nonzero(b.y[i, order[i]])[0]
            rank = int(hits[0]) + 1 if hits.size and np.isfinite(z[i, order[i][hits[0]]]) else 0
            per.setdefault(b.scenario, []).append(rank)
    out = {}
    for scenario, ranks in per.items():
        r = np.array(ranks)
        out[scenario] = {"n": int(r.size), "top1": float(np.mean(r == 1)),
                         "top3": float(np.mean((r >= 1) & (r <= 3))),
                         "mrr": float(np.mean(np.where(r > 0, 1.0 / np.maximum(r, 1), 0.0)))}
    return out


def train(pairs: Sequence[str] = tuple(PAIRS)) -> tuple[Combiner, list[Block], dict[str, int]]:
    """The combiner for ``pairs`` from the train tenants (deterministic)."""
    tenants = load_tenants("train")
    folds = fold_of(tenants)
    blocks = build(tenants, pairs)
    meta = {"trained_on": f"train split, chart pairs {', '.join(pairs)}",
            "tenants": len(tenants), "rows": int(sum(b.allowed.sum() for b in blocks)),
            "scenarios": [s.name for s in SCENARIOS], "sklearn": sklearn.__version__, "C": C, "seed": SEED}
    return fit_combiner(blocks, folds, meta), blocks, folds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--cv", action="store_true", help="print cross-validated figures on the train tenants")
    parser.add_argument("--out", default=str(COMBINER_FILE))
    args = parser.parse_args(argv)
    combiner, blocks, folds = train(tuple(args.pairs))
    if args.cv:
        logits = out_of_fold_logits(blocks, folds)
        for pair in args.pairs:
            chosen = [i for i, b in enumerate(blocks) if b.pair == pair]
            figures = ranking_figures([blocks[i] for i in chosen], [logits[i] for i in chosen])
            for scenario, f in figures.items():
                print(f"cv {pair:4} {scenario:20} n={f['n']:5} top1={f['top1']:.3f} top3={f['top3']:.3f} "
                      f"mrr={f['mrr']:.3f}")
        for mode, head in combiner.heads.items():
            print(mode, json.dumps(dict(zip(FEATURES, (round(c, 2) for c in head.coef), strict=True))))
        return
    with open(args.out, "w") as handle:
        json.dump(combiner.to_dict(), handle, indent=1)
        handle.write("\n")
    print(f"wrote {args.out} ({DATA_DIR.name}): heads {', '.join(combiner.heads)}")


if __name__ == "__main__":
    main()
