"""Abstention at several thresholds, from one eval run that never abstained.

Run `reportqa eval` with `REPORTQA_ANSWER_ABSTAIN_AT=1.0` (the abstainer still writes `abstain_probability` into
results.jsonl, but declines nothing), then score any threshold without re-running:

    python -m eval.abstain_sweep eval/runs/squad/DRCD_test-never --at 0.3915 0.6166

Per threshold: contains_gold over answerable items (an abstention counts 0), false abstention, and the recall /
precision of declining the unanswerable ones — the figures `reportqa eval` gives at that `REPORTQA_ANSWER_ABSTAIN_AT`
(the probability in results.jsonl is rounded to 3 decimals, so a threshold within 0.0005 of one may differ).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def sweep(rows: list[dict], at: float) -> dict[str, float]:
    """The answer and abstention figures of a never-abstaining run's rows, had it abstained from `at` on."""
    ans = [r for r in rows if r.get("answers")]
    una = [r for r in rows if not r.get("answers")]

    def declined(r: dict) -> bool:
        return bool(r.get("abstained")) or float(r.get("abstain_probability") or 0.0) >= at

    gold = [0.0 if declined(r) else float(r["metrics"].get("contains_gold") or 0.0) for r in ans]
    n_declined = sum(declined(r) for r in rows)
    return {
        "at": at,
        "contains_gold": round(sum(gold) / len(ans), 4) if ans else 0.0,
        "false_abstention": round(sum(declined(r) for r in ans) / len(ans), 4) if ans else 0.0,
        "declined_recall": round(sum(declined(r) for r in una) / len(una), 4) if una else 0.0,
        "declined_precision": round(sum(declined(r) for r in una) / n_declined, 4) if n_declined else 0.0,
        "answerable": len(ans), "unanswerable": len(una),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="eval output folders (their results.jsonl)")
    parser.add_argument("--at", nargs="+", type=float, required=True, help="thresholds P(unanswerable) to score")
    args = parser.parse_args(argv)
    for run in args.runs:
        lines = (run / "results.jsonl").read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        for at in args.at:
            print(json.dumps({"run": str(run), **sweep(rows, at)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
