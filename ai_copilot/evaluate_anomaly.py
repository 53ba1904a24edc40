"""Measure the anomaly scorer on the labelled benchmark (``ai_copilot/data/anomaly``).

Per tenant: fit on its 2025 history, score its January-June 2026 records as one batch, flag within the alert
budget (per tenant, as a tenant sets it), then pool the counts. Tune on ``dev`` only; ``test`` is for reporting.

    .venv/bin/python -m ai_copilot.evaluate_anomaly --split dev [--alert-rate 0.01] [--misses]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from ai_copilot.anomaly import AnomalyScorer, Score, flag
from ai_copilot.anomaly_data import ANOMALY_KINDS, APPROVAL_LIMIT, DATA_DIR
from ai_copilot.csvio import read_hard_negatives, read_labels, read_txns

PIPELINE_SAMPLE = 300  # records scored one at a time with score_one, as the pipeline does, per tenant


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _tenant(folder: Path, alert_rate: float) -> dict[str, Any]:
    history, records = read_txns(folder / "history.csv.gz"), read_txns(folder / "records.csv.gz")
    labels, hard = read_labels(folder / "labels.csv"), read_hard_negatives(folder / "hard_negatives.csv")
    started = time.perf_counter()
    scorer = AnomalyScorer(approval_limit=APPROVAL_LIMIT).fit(history)
    fitted = time.perf_counter()
    scores = scorer.score(records)
    scored = time.perf_counter()
    sample = records[:PIPELINE_SAMPLE]
    for i, record in enumerate(sample):  # the pipeline's way: one record, with what was posted before it
        scorer.score_one(record, sample[:i])
    one_by_one = time.perf_counter() - scored
    return {"tenant": folder.name, "history": len(history), "records": len(records), "labels": labels,
            "hard": hard, "scores": scores, "flagged": flag(scores, alert_rate), "fit_seconds": fitted - started,
            "score_seconds": scored - fitted, "score_one_seconds": one_by_one, "score_one_records": len(sample)}


def evaluate(split: str = "test", alert_rate: float = 0.01, *, data_dir: Path = DATA_DIR,
             details: bool = False) -> dict[str, Any]:
    """Recall, precision and alert rate overall and per anomaly kind, false alarms on hard negatives, and
    timings (fit per tenant, batch score and one-at-a-time score per record). ``details`` adds the missed
    anomalies and the false alarms with their reasons."""
    tenants = [_tenant(folder, alert_rate) for folder in sorted((data_dir / split).iterdir()) if folder.is_dir()]
    if not tenants:
        raise FileNotFoundError(f"no tenants under {data_dir / split}")
    by_kind: dict[str, Counter] = defaultdict(Counter)
    by_pattern: dict[str, Counter] = defaultdict(Counter)
    primary: dict[str, Counter] = defaultdict(Counter)
    missed, false_alarms = [], []
    for t in tenants:
        for score in t["scores"]:
            kind, flagged = t["labels"].get(score.id), score.id in t["flagged"]
            top = score.reasons[0].code if score.reasons else ""
            if kind:
                by_kind[kind]["rows"] += 1
                by_kind[kind]["caught"] += flagged
                by_kind[kind]["right_reason"] += flagged and any(r.code == kind for r in score.reasons)
                if not flagged:
                    missed.append(_brief(t["tenant"], score, kind))
            if flagged:
                primary[top]["flagged"] += 1
                primary[top]["true"] += bool(kind)
                if not kind:
                    false_alarms.append(_brief(t["tenant"], score, t["hard"].get(score.id, "")))
            if score.id in t["hard"] and not kind:
                pattern = t["hard"][score.id]
                by_pattern[pattern]["rows"] += 1
                by_pattern[pattern]["flagged"] += flagged
    records = sum(t["records"] for t in tenants)
    anomalies = sum(c["rows"] for c in by_kind.values())
    caught = sum(c["caught"] for c in by_kind.values())
    flagged_total = sum(len(t["flagged"]) for t in tenants)
    result: dict[str, Any] = {
        "split": split, "alert_budget": alert_rate, "records": records, "anomalies": anomalies,
        "flagged": flagged_total, "caught": caught, "recall": _ratio(caught, anomalies),
        "precision": _ratio(caught, flagged_total), "alert_rate": _ratio(flagged_total, records),
        "per_kind": {kind: {"rows": by_kind[kind]["rows"], "caught": by_kind[kind]["caught"],
                            "recall": _ratio(by_kind[kind]["caught"], by_kind[kind]["rows"]),
                            "caught_with_its_reason": by_kind[kind]["right_reason"],
                            "precision": _ratio(primary[kind]["true"], primary[kind]["flagged"]),
                            "flagged_as_primary_reason": primary[kind]["flagged"]}
                     for kind in ANOMALY_KINDS},
        "isolation_primary": {"flagged": primary["isolation"]["flagged"], "true": primary["isolation"]["true"]},
        "hard_negatives": {p: {"rows": c["rows"], "flagged": c["flagged"]} for p, c in sorted(by_pattern.items())},
        "tenants": [{"tenant": t["tenant"], "history": t["history"], "records": t["records"],
                     "anomalies": len(t["labels"]), "flagged": len(t["flagged"]),
                     "caught": sum(1 for i in t["flagged"] if i in t["labels"]),
                     "fit_seconds": round(t["fit_seconds"], 3)} for t in tenants],
        "fit_seconds_max": round(max(t["fit_seconds"] for t in tenants), 3),
        "fit_rows_max": max(t["history"] for t in tenants),
        "score_ms_per_record": round(1000 * sum(t["score_seconds"] for t in tenants) / records, 4),
        "score_one_ms_per_record": round(1000 * sum(t["score_one_seconds"] for t in tenants)
                                         / sum(t["score_one_records"] for t in tenants), 4),
    }
    if details:
        result["missed"] = missed
        result["false_alarms"] = false_alarms
    return result


def _brief(tenant: str, score: Score, tag: str) -> dict[str, Any]:
    return {"tenant": tenant, "id": score.id, "tag": tag, "score": round(score.score, 3),
            "reasons": [f"{r.code} {r.weight:.2f}: {r.text}" for r in score.reasons]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="dev", choices=("dev", "test"))
    parser.add_argument("--alert-rate", type=float, default=0.01)
    parser.add_argument("--details", action="store_true", help="list missed anomalies and false alarms")
    args = parser.parse_args()
    print(json.dumps(evaluate(args.split, args.alert_rate, details=args.details), indent=2, default=str))


if __name__ == "__main__":
    main()

