"""In-process latency of `QAService.ask` over the questions of both dev sets (issue 11's answer-layer budget).

    python -m eval.bench_answer --index eval/runs/index [--warmup 20]
    REPORTQA_ANSWERER=rules python -m eval.bench_answer --index eval/runs/index   # the rule-based answerer

Prints p50/p95 of the whole call and of its answer step (everything after retrieval: answerers, citation
check, rendering) in milliseconds, as JSON. A benchmark, not a test: the figures depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from qa_service.config import Settings
from qa_service.schemas import AskRequest
from qa_service.service import QAService

from .dataset import load_dataset

DATASETS = ("reports_dev", "reports_dev_v2")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=Path("index"))
    ap.add_argument("--warmup", type=int, default=20)
    args = ap.parse_args()
    settings = Settings()
    settings.index = args.index
    service = QAService(settings)
    questions = [item.question for ds in DATASETS for item in load_dataset(ds, "all")]
    for q in questions[: args.warmup]:
        service.ask(AskRequest(question=q))
    total, answer = [], []
    for q in questions:
        t0 = time.perf_counter()
        response = service.ask(AskRequest(question=q))
        total.append((time.perf_counter() - t0) * 1000)
        answer.append(response.timings_ms.answer)
    out = {"questions": len(questions), "answerer": settings.answerer, **_summary("ask", total), **_summary("answer_step", answer)}
    print(json.dumps(out))


def _summary(name: str, ms: list[float]) -> dict[str, float]:
    return {f"{name}_p50_ms": round(float(np.percentile(ms, 50)), 2), f"{name}_p95_ms": round(float(np.percentile(ms, 95)), 2)}


if __name__ == "__main__":
    main()
