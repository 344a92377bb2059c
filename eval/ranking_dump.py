"""Dump what retrieval and answering return for every dev question, to prove a refactor changes no result.

    python -m eval.ranking_dump --index DIR --out before.json   # on the old commit
    python -m eval.ranking_dump --index DIR --out after.json    # on the new one
    cmp before.json after.json                                  # identical files: identical results

Per question of reports_dev and reports_dev_v2: the top 50 of /v1/search's ranking (passage ids, scores to 12
digits, per-arm ranks); for every 7th question also the ranking under a two-document filter and under a heading
filter (the masked paths); and the /v1/ask answer with its cited passages and abstention.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa_service.config import Settings
from qa_service.retriever import RetrievalResult
from qa_service.schemas import AskRequest
from qa_service.service import QAService

DATASETS = ("reports_dev.jsonl", "reports_dev_v2.jsonl")
DEPTH = 50
FILTERED_EVERY = 7


def _ranking(result: RetrievalResult) -> list[Any]:
    return [(p.chunk.id, round(p.score, 12), p.ranks) for p in result.passages]


def dump(index: Path) -> dict[str, Any]:
    service = QAService(Settings(index=index))
    service.warm_up()
    folder = Path(__file__).parent / "datasets"
    questions = [
        json.loads(line)["question"] for name in DATASETS for line in (folder / name).read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    loaded = service.loaded().index
    docs = list(loaded.documents)
    heads = sorted({c.heading_path[1] for c in loaded.chunks if len(c.heading_path) > 1})[:5]
    out: dict[str, Any] = {}
    for n, q in enumerate(questions):
        out[f"search {n}"] = _ranking(service.retrieve(q, DEPTH))
        if n % FILTERED_EVERY == 0 and docs:
            out[f"docs {n}"] = _ranking(service.retrieve(q, 20, doc_ids=docs[n % len(docs) : n % len(docs) + 2]))
            if heads:
                out[f"heading {n}"] = _ranking(service.retrieve(q, 20, heading_prefix=heads[n % len(heads)]))
        ans = service.ask(AskRequest(question=q))
        out[f"ask {n}"] = [ans.answer, [c.passage_id for c in ans.citations], ans.abstained]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    result = dump(args.index)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=0), encoding="utf-8")
    print(f"{len(result)} results written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
