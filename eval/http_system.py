"""reportqa over HTTP (`reportqa eval --url http://host:port`): the same metrics as in-process.

Answers come from POST /v1/ask, whose `retrieved` list (depth max(10, top_k), the ranking /v1/search gives) feeds
the retrieval metrics; passage texts come from GET /v1/passages/{id}, each fetched once. The retrieval metrics also
need every chunk's text (to know which evidence quotes some chunk holds whole): the passages of each document are
reached by walking `prev_id`/`next_id`/`parent_id` from one search hit per document. Table rows (not linked from
their table) are reached only through a hit; their table chunk holds the same cells, so the quotes held whole agree.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from .systems import CitedPassage, Ranked, SystemAnswer

log = logging.getLogger(__name__)


class HTTPSystemError(RuntimeError):
    """The server could not be reached or answered with an error."""


class HTTPSystem:
    name = "reportqa"

    def __init__(self, url: str, timeout: float = 120.0, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self.client = client or httpx.Client(base_url=self.url, timeout=timeout)
        self._passages: dict[str, dict[str, Any]] = {}
        self._all: list[str] | None = None

    def close(self) -> None:
        self.client.close()

    def _get(self, path: str, **params: Any) -> Any:
        try:
            r = self.client.get(path, params=params or None)
        except httpx.HTTPError as exc:
            raise HTTPSystemError(f"GET {self.url}{path}: {exc}") from None
        if r.status_code != 200:
            raise HTTPSystemError(f"GET {self.url}{path}: HTTP {r.status_code} {r.text[:200]}")
        return r.json()

    def passage(self, passage_id: str) -> dict[str, Any]:
        """GET /v1/passages/{id}, cached: a passage is fetched once per run."""
        if passage_id not in self._passages:
            self._passages[passage_id] = self._get(f"/v1/passages/{passage_id}")
        return self._passages[passage_id]

    def _ranked(self, passage_id: str, score: float) -> Ranked:
        p = self.passage(passage_id)
        return Ranked(passage_id, p["text"], p["kind"], score)

    def rank(self, question: str, depth: int) -> list[Ranked]:
        results = self._get("/v1/search", q=question, top_k=depth)["results"]
        for r in results:  # search results carry the text already: seed the cache
            self._passages.setdefault(r["passage_id"], {"passage_id": r["passage_id"], "text": r["text"], "kind": r["kind"]})
        return [Ranked(r["passage_id"], r["text"], r["kind"], r["score"]) for r in results]

    def answer(self, question: str, top_k: int, mode: str, history: Sequence[Mapping[str, str]] = ()) -> SystemAnswer:
        body: dict[str, Any] = {"question": question, "top_k": top_k, "mode": mode}
        if history:  # a follow-up is asked as one, with the earlier turns as /v1/ask's history
            body["history"] = [{"role": t["role"], "content": t["content"]} for t in history]
        try:
            r = self.client.post("/v1/ask", json=body)
        except httpx.HTTPError as exc:
            raise HTTPSystemError(f"POST {self.url}/v1/ask: {exc}") from None
        if r.status_code != 200:
            raise HTTPSystemError(f"POST {self.url}/v1/ask: HTTP {r.status_code} {r.text[:200]}")
        res = r.json()
        return SystemAnswer(
            answer=res["answer"],
            abstained=res["abstained"],
            abstain_probability=res.get("abstain_probability"),
            abstain_reason=res.get("abstain_reason"),
            citations=[CitedPassage(c["n"], c["passage_id"], c["text"], c["quote"]) for c in res["citations"]],
            retrieved=[self._ranked(ref["passage_id"], ref["score"]) for ref in res["retrieved"]],
            retrieve_ms=float(res["timings_ms"]["retrieve"]),
            fallback=res.get("fallback"),
            mode=res.get("mode", mode),
        )

    def context_k(self, top_k: int) -> int:
        return top_k

    def all_texts(self) -> list[str]:
        if self._all is None:
            t0 = time.perf_counter()
            self._all = [p["text"] for p in self._walk_all()]
            log.info("fetched %d passages over HTTP in %.1fs", len(self._all), time.perf_counter() - t0)
        return self._all

    def _walk_all(self) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        todo: list[str] = []
        for doc in self._get("/v1/documents"):
            hits = self._get("/v1/search", q=doc["title"] or doc["id"], top_k=1, doc_ids=doc["id"])["results"]
            todo.extend(h["passage_id"] for h in hits)
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            p = self._get(f"/v1/passages/{pid}")
            self._passages[pid] = p
            seen[pid] = p
            todo.extend(x for x in (p.get("prev_id"), p.get("next_id"), p.get("parent_id")) if x and x not in seen)
        return list(seen.values())

    def describe(self) -> dict[str, Any]:
        ready = self._get("/readyz")
        # the server does not publish its fusion weights; the index is described by /readyz
        return {"system": self.name, "url": self.url, "index": ready, "fusion_weights": None}
