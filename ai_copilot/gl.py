"""GL-mapping suggestions: rank a target chart's accounts for each source account, with a calibrated score and a
one-line reason.

Why this shape (ARCHITECTURE §6): names alone fail across vocabularies ("Debtors" vs "Accounts Receivable"),
classes alone cannot pick among forty expense accounts, and codes only mean something once a tenant confirmed a
few mappings. So every (source, target) pair gets a handful of interpretable features, and a small logistic
regression learnt on the training tenants (``ai_copilot/data/gl_combiner.json``, made by
``python -m ai_copilot.data.train_combiner``) weighs them:

* names: TF-IDF cosine on character 2-4-grams of the normalised, synonym-expanded name, and on word/concept
  tokens (``ai_copilot.text``); each also relative to the best target for that source;
* class: compatibility of the inferred classes (``ai_copilot.accounts``); an explicitly typed income account is
  never offered an explicitly typed asset (no P&L / balance-sheet crossing between explicit types);
* a catch-all signal: "Miscellaneous expense" is the right answer when no name fits;
* the opt-in :class:`GlobalPrior`: word/class associations from many tenants' confirmed mappings;
* the tenant's own confirmations: code ranges and order (:class:`ai_copilot.accounts.CodeMap`), similar names
  already confirmed to a target (many-to-one is normal), and rejections, which are never offered again and make
  the rejected target less likely for similar names. A confirmed source always gets its target first, score 1.

Scores are calibrated on held-out training tenants (Platt scaling on the logit and its margin over the next
best target), so a score of 0.9 is right about nine times in ten.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from ai_copilot.accounts import (
    CLASSES,
    Account,
    ClassGuess,
    CodeMap,
    class_of,
    code_pattern,
    compatibility,
    guess_system,
)
from ai_copilot.text import DOMAIN_WORDS, Speller, concept_tokens, expanded, words

__all__ = ["FEATURES", "MODES", "Combiner", "GLSuggester", "GlobalPrior", "Head", "Suggestion", "default_combiner",
           "logit_margins", "mode_of"]

COMBINER_FILE = Path(__file__).resolve().parent / "data" / "gl_combiner.json"
SOURCE_SYSTEM = "kashflow"  # sources are Kashflow nominals: bare type numbers are Kashflow classifications

FEATURES: tuple[str, ...] = (
    "char_sim", "word_sim", "char_gap", "word_gap",
    "class_compat", "class_same", "class_unknown", "catchall_fallback",
    "prior", "prior_gap", "prior_on", "prior_unseen", "own_prior", "own_prior_gap",
    "range_support", "range_support2", "code_bracket", "code_neighbour", "code_on",
    "confirmed_sim", "target_used", "rejected_sim",
)
_F = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class Suggestion:
    """One proposed target: its code, the calibrated probability that it is right, and why."""

    target_code: str
    score: float
    reason: str


# --------------------------------------------------------------------------------------------- global prior

def _prior_tokens(account: Account, system: str | None, *, source: bool = False) -> list[str]:
    """Words of an account for the prior. A source word also comes paired with the source's class
    ("wage@liability" is net pay owed, "wage@expense" the cost), which the prior prefers when it knows it.
    Classes alone are not used: the class features already carry them, and a class says little about which
    of forty expense accounts is meant."""
    guess = class_of(account, system)
    tokens = list(concept_tokens(matching_name(account, guess)))
    paired = [f"{token}@{guess.cls}" for token in tokens] if source and guess.cls else []
    return [*tokens, *paired]


class GlobalPrior:
    """What many tenants' confirmed mappings say: for a source word (alone and paired with the source's class),
    how often each target word appeared in the target it was mapped to.

    Privacy: it holds counts over normalised single words and class labels only — no codes, no whole names —
    and drops every word and word pair seen in fewer than :attr:`MIN_SUPPORT` mappings, so no statistic
    stands for one account. (The service that builds it also requires several contributing tenants.)
    """

    MIN_SUPPORT = 3
    FLOOR = 1e-3  # probability given to a target word no source word was ever mapped to

    def __init__(self, source_counts: Mapping[str, int], target_counts: Mapping[str, int],
                 pair_counts: Mapping[str, Mapping[str, int]], pairs: int) -> None:
        self.source_counts = dict(source_counts)
        self.target_counts = dict(target_counts)
        self.pair_counts = {a: dict(b) for a, b in pair_counts.items()}
        self.pairs = pairs
        self._source_index = {a: i for i, a in enumerate(sorted(self.source_counts))}
        self._target_index = {b: i for i, b in enumerate(sorted(self.target_counts))}
        table = np.zeros((len(self._source_index), len(self._target_index)))
        for a, row in self.pair_counts.items():
            for b, count in row.items():
                if a in self._source_index and b in self._target_index:
                    table[self._source_index[a], self._target_index[b]] = count / self.source_counts[a]
        self._table = table

    @classmethod
    def fit(cls, pairs: Iterable[tuple[Account, Account]]) -> GlobalPrior:
        """Count word and class co-occurrences over confirmed (source, target) pairs."""
        source_counts: Counter[str] = Counter()
        target_counts: Counter[str] = Counter()
        pair_counts: dict[str, Counter[str]] = defaultdict(Counter)
        n = 0
        for source, target in pairs:
            left = set(_prior_tokens(source, SOURCE_SYSTEM, source=True))
            right = set(_prior_tokens(target, guess_system([target])))
            n += 1
            source_counts.update(left)
            target_counts.update(right)
            for a in left:
                pair_counts[a].update(right)
        keep_a = {a: c for a, c in source_counts.items() if c >= cls.MIN_SUPPORT}
        keep_b = {b: c for b, c in target_counts.items() if c >= cls.MIN_SUPPORT}
        kept = {a: {b: c for b, c in row.items() if c >= cls.MIN_SUPPORT and b in keep_b}
                for a, row in pair_counts.items() if a in keep_a}
        return cls(keep_a, keep_b, {a: row for a, row in kept.items() if row}, n)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (what the portal stores)."""
        return {"version": 1, "min_support": self.MIN_SUPPORT, "pairs": self.pairs,
                "source_counts": dict(sorted(self.source_counts.items())),
                "target_counts": dict(sorted(self.target_counts.items())),
                "pair_counts": {a: dict(sorted(row.items())) for a, row in sorted(self.pair_counts.items())}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GlobalPrior:
        if d.get("version") != 1:
            raise ValueError(f"unknown global prior version {d.get('version')!r}")
        return cls({str(k): int(v) for k, v in d["source_counts"].items()},
                   {str(k): int(v) for k, v in d["target_counts"].items()},
                   {str(a): {str(b): int(c) for b, c in row.items()} for a, row in d["pair_counts"].items()},
                   int(d["pairs"]))

    def __bool__(self) -> bool:
        return bool(self.pair_counts)

    def _indicator(self, token_lists: Sequence[Sequence[str]], index: Mapping[str, int]) -> sparse.csr_matrix:
        rows, cols = [], []
        for r, tokens in enumerate(token_lists):
            known = sorted({index[t] for t in tokens if t in index})
            rows += [r] * len(known)
            cols += known
        matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(token_lists), len(index)))
        counts = np.asarray(matrix.sum(axis=1)).ravel()
        return sparse.diags(1.0 / np.maximum(counts, 1)) @ matrix

    def _evidence(self, tokens: Sequence[str]) -> list[str]:
        """The source's known words, each in its class-paired form when known, else bare."""
        paired = {t.split("@", 1)[0]: t for t in tokens if "@" in t}
        known = []
        for token in tokens:
            if "@" in token:
                continue
            if paired.get(token) in self._source_index:
                known.append(paired[token])
            elif token in self._source_index:
                known.append(token)
        return known

    def unseen_share(self, target_tokens: Sequence[Sequence[str]]) -> tuple[np.ndarray, float]:
        """Per target, the share of its words no confirmed mapping ever led to (a region of the chart nobody
        maps to, e.g. a regional sub-account next to the company-wide one); and the prior's coverage of the
        chart's words, which says how much that is worth (a prior learnt on other charts knows few words)."""
        chart_words = {t for tokens in target_tokens for t in tokens}
        coverage = sum(t in self._target_index for t in chart_words) / len(chart_words) if chart_words else 0.0
        shares = [sum(t not in self._target_index for t in tokens) / len(tokens) if tokens else 0.0
                  for tokens in target_tokens]
        return np.array(shares), coverage

    def score_matrix(self, source_tokens: Sequence[Sequence[str]],
                     target_tokens: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """(scores, known) for every source x target. A score is the mean over the target's known words of
        log P(word | the source's known words), scaled to 0..1 (0 for a target without a known word);
        ``known`` says the source had a known word (else its row says nothing)."""
        source = self._indicator([self._evidence(tokens) for tokens in source_tokens], self._source_index)
        target = self._indicator(target_tokens, self._target_index)
        word_given_source = np.asarray(source @ self._table)
        log_scores = np.log(self.FLOOR + word_given_source) @ target.T.toarray()
        has_target_words = np.asarray(target.sum(axis=1)).ravel() > 0
        floor = math.log(self.FLOOR)
        scaled = np.where(has_target_words[None, :], (log_scores - floor) / -floor, 0.0)
        known = np.asarray(source.sum(axis=1)).ravel() > 0
        return np.clip(scaled, 0.0, 1.0), known


class _OwnPrior(GlobalPrior):
    """The same statistics over one tenant's own confirmations: private to it, so every count is kept."""

    MIN_SUPPORT = 1


# -------------------------------------------------------------------------------------------------- combiner

MODES: tuple[str, ...] = ("cold", "prior", "confirmed", "prior+confirmed")


def mode_of(prior: bool, confirmed: bool) -> str:
    """Which evidence a suggester has: the combiner keeps one regression per mode, because a weight learnt
    where a feature is absent (no prior, no confirmations) is not the weight it deserves where it is present."""
    return {(False, False): "cold", (True, False): "prior", (False, True): "confirmed",
            (True, True): "prior+confirmed"}[(prior, confirmed)]


@dataclass(frozen=True)
class Head:
    """One mode's logistic regression over :data:`FEATURES` and its calibration (Platt scaling on the logit
    and on the margin over the next-best target)."""

    coef: tuple[float, ...]
    intercept: float
    calibration: tuple[float, float, float]  # (weight of logit, weight of margin, bias)

    def logits(self, x: np.ndarray) -> np.ndarray:
        return x @ np.asarray(self.coef) + self.intercept

    def probability(self, logits: np.ndarray, margins: np.ndarray) -> np.ndarray:
        a, m, b = self.calibration
        return 1.0 / (1.0 + np.exp(-(a * logits + m * margins + b)))


@dataclass(frozen=True)
class Combiner:
    """The learnt weights, one :class:`Head` per mode (see :func:`mode_of`)."""

    features: tuple[str, ...]
    heads: Mapping[str, Head]
    meta: Mapping[str, Any] = field(default_factory=dict)

    def head(self, mode: str) -> Head:
        """The head for ``mode``; a combiner trained without it falls back to the nearest mode it has."""
        for candidate in (mode, *{"prior+confirmed": ("confirmed", "prior"), "confirmed": ("cold",),
                                  "prior": ("cold",)}.get(mode, ()), "cold"):
            if candidate in self.heads:
                return self.heads[candidate]
        return next(iter(self.heads.values()))

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features),
                "heads": {mode: {"coef": [round(c, 6) for c in h.coef], "intercept": round(h.intercept, 6),
                                 "calibration": [round(c, 6) for c in h.calibration]}
                          for mode, h in self.heads.items()},
                "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Combiner:
        features = tuple(d["features"])
        if features != FEATURES:
            raise ValueError("the combiner was trained on other features; retrain it "
                             "(python -m ai_copilot.data.train_combiner)")
        heads = {str(mode): Head(tuple(float(c) for c in h["coef"]), float(h["intercept"]),
                                 tuple(float(c) for c in h["calibration"])) for mode, h in d["heads"].items()}
        if not heads:
            raise ValueError("the combiner has no weights")
        return cls(features, heads, dict(d.get("meta", {})))


@lru_cache(maxsize=1)
def default_combiner() -> Combiner:
    """The shipped combiner (trained on the training tenants only)."""
    if not COMBINER_FILE.exists():
        raise RuntimeError(f"{COMBINER_FILE} is missing: run python -m ai_copilot.data.train_combiner")
    return Combiner.from_dict(json.loads(COMBINER_FILE.read_text()))


# ------------------------------------------------------------------------------------------------- suggester

def matching_name(account: Account, guess: ClassGuess) -> str:
    """The name used for matching. One class-dependent fact is added: a depreciation account on the balance
    sheet is the accumulated depreciation ("Office Equipment Depreciation" typed Fixed Asset in Kashflow)."""
    if guess.cls == "asset" and "depreciation" in concept_tokens(account.name) and \
            "accumulated" not in concept_tokens(account.name):
        return f"{account.name} accumulated"
    return account.name


def _concept_analyzer(name: str) -> list[str]:
    return list(concept_tokens(name))


def _row_gap(matrix: np.ndarray) -> np.ndarray:
    return matrix - matrix.max(axis=1, keepdims=True) if matrix.shape[1] else matrix


def _scatter_max(values: np.ndarray, columns: np.ndarray, width: int) -> np.ndarray:
    """For an (n, k) matrix whose k columns belong to target ``columns[j]``: the (n, width) per-target max."""
    out = np.zeros((values.shape[0], width))
    for j, column in enumerate(columns):
        np.maximum(out[:, column], values[:, j], out=out[:, column])
    return out


def logit_margins(logits: np.ndarray) -> np.ndarray:
    """Per row: the best target's lead over the runner-up, and every other target's (negative) distance to the
    best. Calibration uses it because a clear winner is more often right than one of two near-equals."""
    if logits.shape[1] == 0:
        return logits
    ordered = -np.sort(-logits, axis=1)
    best = ordered[:, :1]
    second = ordered[:, 1:2] if logits.shape[1] > 1 else best - 10.0
    second = np.where(np.isfinite(second), second, best - 10.0)
    with np.errstate(invalid="ignore"):
        margins = np.where(logits >= best, logits - second, logits - best)
    return np.where(np.isfinite(margins), margins, 0.0)


def _pair_compatibility(source: ClassGuess, target: ClassGuess) -> float:
    if source.cls and target.cls:
        return compatibility(source.cls, target.cls)
    left = {source.cls} if source.cls else set(source.allowed)
    right = {target.cls} if target.cls else set(target.allowed)
    if len(left) == len(CLASSES) or len(right) == len(CLASSES) or not left or not right:
        return compatibility(None, None)
    return 0.9 * max(compatibility(a, b) for a in left for b in right)


def _contradicts(source: ClassGuess, target: ClassGuess) -> bool:
    """True when both type labels were given and no class either allows may map to one the other allows (an
    income type never to an asset type, nothing across the balance sheet / P&L divide)."""
    if not source.typed or not target.typed:
        return False
    return all(compatibility(a, b) == 0.0 for a in source.allowed for b in target.allowed)


class GLSuggester:
    """Suggestions for one tenant's mapping of a source chart onto ``targets``; see the module doc."""

    def __init__(self, targets: Sequence[Account], *, confirmed: Mapping[str, str] = {},  # noqa: B006 - read only
                 rejected: Iterable[tuple[str, str]] = (), sources: Sequence[Account] = (),
                 prior: GlobalPrior | None = None) -> None:
        unique: dict[str, Account] = {}
        for target in targets:
            unique.setdefault(target.code, target)
        self.targets = list(unique.values())
        self.target_index = {t.code: i for i, t in enumerate(self.targets)}
        self.sources = {a.code: a for a in sources}
        self.confirmed = {str(s): str(t) for s, t in confirmed.items() if str(t) in self.target_index}
        self.rejected = {(str(s), str(t)) for s, t in rejected}
        self.prior = prior if prior else None
        self.combiner: Combiner | None = None  # None: the shipped one; evaluation may set another
        self.target_system = guess_system(self.targets)
        self.target_classes = [class_of(t, self.target_system) for t in self.targets]
        self.target_catchall = np.array(["misc" in concept_tokens(t.name) for t in self.targets], dtype=float)
        self.speller = Speller(DOMAIN_WORDS | {w for t in self.targets for w in words(t.name)})
        self._cleaned: dict[Account, Account] = {}
        self._fit_vectorisers()
        self.code_map = CodeMap(self.confirmed, [t.code for t in self.targets], list(self.sources))
        self._target_patterns = {level: [code_pattern(t.code, level) for t in self.targets]
                                 for level in CodeMap.LEVELS}
        self._remember_feedback()
        # The tenant's own confirmations, read the way the global prior reads everyone's: word associations.
        own = [(self.clean(self.sources[s]), self.targets[self.target_index[t]])
               for s, t in self.confirmed.items() if s in self.sources]
        self.own_prior = _OwnPrior.fit(own) if own else None

    # ---- fitting

    def _fit_vectorisers(self) -> None:
        self._target_names = [matching_name(t, g) for t, g in zip(self.targets, self.target_classes, strict=True)]
        names = self._target_names + [self._source_name(self.clean(a)) for a in self.sources.values()]
        self._char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=False)
        self._char.fit([expanded(n) for n in names] or ["-"])
        self._word = TfidfVectorizer(analyzer=_concept_analyzer, sublinear_tf=True, lowercase=False)
        try:
            self._word.fit(names)
            self._word_ok = True
        except ValueError:  # no word at all in either chart (codes only)
            self._word_ok = False
        self._target_char = self._char_matrix(self._target_names)
        self._target_word = self._word_matrix(self._target_names)
        self._target_prior_tokens = [_prior_tokens(t, self.target_system) for t in self.targets]

    def clean(self, source: Account) -> Account:
        """The source with its name normalised and typos corrected towards known words (memoised)."""
        if source not in self._cleaned:
            self._cleaned[source] = Account(source.code, self.speller.correct_name(source.name), source.type)
        return self._cleaned[source]

    def _source_name(self, source: Account) -> str:
        """The matching name of an already cleaned source."""
        return matching_name(source, class_of(source, SOURCE_SYSTEM))

    def _char_matrix(self, names: Sequence[str]) -> sparse.csr_matrix:
        return self._char.transform([expanded(n) for n in names])

    def _word_matrix(self, names: Sequence[str]) -> sparse.csr_matrix:
        if not self._word_ok:
            return sparse.csr_matrix((len(names), 1))
        return self._word.transform(names)

    def _remember_feedback(self) -> None:
        """Name vectors of confirmed and rejected sources, for "similar names went there" features."""
        def side(pairs: Iterable[tuple[str, str]]) -> tuple[list[str], sparse.csr_matrix | None, np.ndarray]:
            known = [(s, t) for s, t in pairs if s in self.sources and t in self.target_index]
            if not known:
                return [], None, np.zeros(0, dtype=int)
            matrix = self._char_matrix([self._source_name(self.clean(self.sources[s])) for s, _t in known])
            return [s for s, _t in known], matrix, np.array([self.target_index[t] for _s, t in known])

        self._confirmed_codes, self._confirmed_char, self._confirmed_cols = side(self.confirmed.items())
        _codes, self._rejected_char, self._rejected_cols = side(sorted(self.rejected))
        used = Counter(self.confirmed.values())
        self._target_used = np.array([math.log1p(used.get(t.code, 0)) for t in self.targets])

    # ---- features

    def pair_features(self, sources: Sequence[Account]) -> tuple[np.ndarray, np.ndarray]:
        """(features, allowed): an (n, m, len(FEATURES)) array for every source x target pair, and an (n, m)
        mask of pairs that may be suggested at all (not rejected, not an explicit class contradiction)."""
        sources = [self.clean(s) for s in sources]
        n, m = len(sources), len(self.targets)
        x = np.zeros((n, m, len(FEATURES)))
        if not n or not m:
            return x, np.zeros((n, m), dtype=bool)
        names = [self._source_name(s) for s in sources]
        source_char = self._char_matrix(names)
        char = (source_char @ self._target_char.T).toarray()
        word = (self._word_matrix(names) @ self._target_word.T).toarray()
        x[..., _F["char_sim"]], x[..., _F["word_sim"]] = char, word
        x[..., _F["char_gap"]], x[..., _F["word_gap"]] = _row_gap(char), _row_gap(word)
        allowed = self._class_features(sources, x)
        x[..., _F["catchall_fallback"]] = self.target_catchall[None, :] * (1.0 - word.max(axis=1, keepdims=True))
        self._prior_features(sources, x)
        self._own_prior_features(sources, x)
        self._code_features(sources, x)
        if self._confirmed_char is not None:
            sims = (source_char @ self._confirmed_char.T).toarray()
            x[..., _F["confirmed_sim"]] = _scatter_max(sims, self._confirmed_cols, m)
        x[..., _F["target_used"]] = self._target_used[None, :]
        if self._rejected_char is not None:
            sims = (source_char @ self._rejected_char.T).toarray()
            x[..., _F["rejected_sim"]] = _scatter_max(sims, self._rejected_cols, m)
        rows_by_code: dict[str, list[int]] = defaultdict(list)
        for i, source in enumerate(sources):
            rows_by_code[source.code].append(i)
        for source_code, target_code in self.rejected:
            if target_code in self.target_index:
                allowed[rows_by_code.get(source_code, []), self.target_index[target_code]] = False
        return x, allowed

    def _class_features(self, sources: Sequence[Account], x: np.ndarray) -> np.ndarray:
        guesses = [class_of(s, SOURCE_SYSTEM) for s in sources]
        unique_sources = list(dict.fromkeys(guesses))
        unique_targets = list(dict.fromkeys(self.target_classes))
        table = np.array([[_pair_compatibility(s, t) for t in unique_targets] for s in unique_sources])
        rows = np.array([unique_sources.index(g) for g in guesses])
        cols = np.array([unique_targets.index(g) for g in self.target_classes])
        compat = table[rows][:, cols]
        source_known = np.array([g.cls is not None for g in guesses])
        target_known = np.array([g.cls is not None for g in self.target_classes])
        same = np.array([[s.cls is not None and s.cls == t.cls for t in self.target_classes] for s in guesses])
        x[..., _F["class_compat"]] = compat
        x[..., _F["class_same"]] = same
        x[..., _F["class_unknown"]] = ~(source_known[:, None] & target_known[None, :])
        contradicts = np.array([[_contradicts(s, t) for t in unique_targets] for s in unique_sources])
        return ~contradicts[rows][:, cols]

    def _prior_features(self, sources: Sequence[Account], x: np.ndarray) -> None:
        if self.prior is None:
            return
        scores, known = self.prior.score_matrix([_prior_tokens(s, SOURCE_SYSTEM, source=True) for s in sources],
                                                self._target_prior_tokens)
        scores = scores * known[:, None]
        unseen, coverage = self.prior.unseen_share(self._target_prior_tokens)
        x[..., _F["prior_unseen"]] = coverage * unseen[None, :] * known[:, None]
        x[..., _F["prior"]] = scores
        x[..., _F["prior_gap"]] = _row_gap(scores)
        x[..., _F["prior_on"]] = known[:, None]

    def _own_prior_features(self, sources: Sequence[Account], x: np.ndarray) -> None:
        if not self.own_prior:
            return
        scores, known = self.own_prior.score_matrix(
            [_prior_tokens(s, SOURCE_SYSTEM, source=True) for s in sources], self._target_prior_tokens)
        scores = scores * known[:, None]
        x[..., _F["own_prior"]] = scores
        x[..., _F["own_prior_gap"]] = _row_gap(scores)

    def _code_features(self, sources: Sequence[Account], x: np.ndarray) -> None:
        if len(self.code_map) == 0:
            return
        m = len(self.targets)
        ranks = np.array([self.code_map.target_rank[t.code] for t in self.targets])
        x[..., _F["code_on"]] = 1.0
        by_pattern: dict[tuple[int, str], np.ndarray] = {}
        for i, source in enumerate(sources):
            for level, feature in ((1, "range_support"), (2, "range_support2")):
                key = (level, code_pattern(source.code, level))
                if key not in by_pattern:
                    support = self.code_map.support(source.code, level)
                    by_pattern[key] = np.array([support.get(p, 0.0) for p in self._target_patterns[level]])
                x[i, :, _F[feature]] = by_pattern[key]
            low, high = self.code_map.bracket(source.code) or (0, m - 1)
            distance = np.maximum(np.maximum(low - ranks, ranks - high), 0)
            x[i, :, _F["code_bracket"]] = np.exp(-distance / 3.0)
            for code, strength in self.code_map.neighbour_strength(source.code).items():
                x[i, self.target_index[code], _F["code_neighbour"]] = strength

    # ---- suggestions

    @property
    def mode(self) -> str:
        return mode_of(self.prior is not None, len(self.code_map) > 0)

    def _model(self) -> Head:
        return (self.combiner or default_combiner()).head(self.mode)

    def scores(self, sources: Sequence[Account]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(features, logits, calibrated probabilities) per source x target; disallowed pairs get -inf / 0."""
        x, allowed = self.pair_features(sources)
        model = self._model()
        logits = np.where(allowed, model.logits(x), -np.inf) if x.size else np.zeros(allowed.shape)
        if not logits.size:
            return x, logits, np.zeros(logits.shape)
        margins = logit_margins(logits)
        probabilities = np.where(allowed, model.probability(np.where(allowed, logits, 0.0),
                                                            np.where(allowed, margins, 0.0)), 0.0)
        return x, logits, probabilities

    def suggest(self, source: Account, top: int = 3) -> list[Suggestion]:
        """The ``top`` targets for one source account, best first."""
        return self.suggest_all([source], top=top)[0][1]

    def suggest_all(self, sources: Sequence[Account], top: int = 3) -> list[tuple[str, list[Suggestion]]]:
        """(source code, suggestions) for every source, in the given order."""
        if top <= 0 or not sources:
            return [(s.code, []) for s in sources]
        x, logits, probabilities = self.scores(sources)
        out = []
        for i, source in enumerate(sources):
            chosen: list[Suggestion] = []
            confirmed = self.confirmed.get(source.code)
            if confirmed is not None:
                chosen.append(Suggestion(confirmed, 1.0, "confirmed mapping"))
            order = np.argsort(-logits[i], kind="stable") if logits.shape[1] else []
            for j in order:
                if len(chosen) >= top or not np.isfinite(logits[i, j]):
                    break
                code = self.targets[j].code
                if code != confirmed:
                    chosen.append(Suggestion(code, round(float(probabilities[i, j]), 4),
                                             self._reason(source, j, x[i, j])))
            out.append((source.code, chosen))
        return out

    # ---- reasons

    def _reason(self, source: Account, j: int, f: np.ndarray) -> str:
        target = self.targets[j]
        parts = [f"name similarity {max(f[_F['char_sim']], f[_F['word_sim']]):.2f}"]
        source_class = class_of(self.clean(source), SOURCE_SYSTEM).cls
        target_class = self.target_classes[j].cls
        if f[_F["class_same"]]:
            parts.append(f"same class: {target_class}")
        elif source_class and target_class:
            parts.append(f"class {source_class} -> {target_class}")
        else:
            parts.append(f"class {source_class or 'unknown'} -> {target_class or 'unknown'}")
        rule = self.code_map.rule(source.code, target.code, 1) if len(self.code_map) else None
        if rule is not None and rule.count >= 2:
            parts.append(rule.describe())
        if f[_F["code_neighbour"]] >= 0.5:
            parts.append("next to an account confirmed to it")
        if f[_F["confirmed_sim"]] >= 0.5 and self._model().coef[_F["confirmed_sim"]] > 0:
            parts.append(f"like {self._closest_confirmed(source, j)} confirmed to it")
        if f[_F["prior_on"]] and f[_F["prior_gap"]] == 0.0 and f[_F["prior"]] >= 0.5:
            parts.append(f"most common for such names across companies (prior {f[_F['prior']]:.2f})")
        if f[_F["catchall_fallback"]] >= 0.6:
            parts.append("catch-all account: no closer name in the chart")
        if f[_F["rejected_sim"]] >= 0.5:
            parts.append("similar names were rejected here")
        return ", ".join(parts)

    def _closest_confirmed(self, source: Account, j: int) -> str:
        codes = [s for s, col in zip(self._confirmed_codes, self._confirmed_cols, strict=True) if col == j]
        if not codes:
            return "an account"
        names = [self._source_name(self.clean(self.sources[code])) for code in codes]
        sims = (self._char_matrix([self._source_name(self.clean(source))]) @ self._char_matrix(names).T).toarray()
        return repr(self.sources[codes[int(np.argmax(sims))]].name)
