"""Tokenising a build's chunks for Milvus on a Ray cluster: `reportqa ingest --ray ADDRESS` (REPORTQA_STORE=milvus).

Tokenising is the upload's bottleneck (jieba is pure Python: about 2 ms per chunk per core). With an address,
ingest.milvus_publish hands its rows to Ray Data: `map_batches` cuts and encodes each batch's word and character
tokens in Ray workers (each re-creates the tokenizer from the build's user words, shipped with the task, so
workers on other machines need no shared disk), and the driver writes the batches to Milvus as they come back.
The vectors are the build's own (embedded by the build, reused across builds), sent along with the rows.

It pays on real nodes: on this 2-core machine a Ray cluster only adds its start-up and serialisation to the same
two cores (README, Store). `address` is a Ray address (`ray://host:10001`, `auto`), or `local` for a Ray
started in this process (the tests).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

RAY_BATCH = 256  # chunks per Ray task: large enough to amortise a task, small enough to spread


class _TokeniseBatch:
    """A Ray Data callable class: one tokenizer per worker, built once from the build's user words."""

    def __init__(self, user_words: list[str], hmm: bool) -> None:
        from ingest.tokenize import Tokenizer

        self.tokenizer = Tokenizer(user_words, hmm=hmm)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from ingest.milvus_store import encode_tokens

        texts = list(batch.pop("text"))
        batch["word"] = [encode_tokens(self.tokenizer.tokenize(t)) for t in texts]
        batch["char"] = [encode_tokens(self.tokenizer.char_tokens(t)) for t in texts]
        return batch


def tokenised_rows(rows: list[dict[str, Any]], user_words: list[str], hmm: bool, address: str,
                   workers: int | None = None) -> Iterator[list[dict[str, Any]]]:
    """`rows` (each with a `text`) back with `word` and `char` filled by Ray workers, in batches."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False,
                 ignore_reinit_error=True)
    try:
        ds = ray.data.from_items(rows)
        ds = ds.map_batches(_TokeniseBatch, fn_constructor_kwargs={"user_words": user_words, "hmm": hmm},
                            batch_size=RAY_BATCH, batch_format="numpy",
                            concurrency=workers or max(1, int(ray.cluster_resources().get("CPU", 1))))
        for batch in ds.iter_batches(batch_size=RAY_BATCH, batch_format="numpy"):
            keys = list(batch)
            n = len(batch[keys[0]])
            yield [{k: _plain(batch[k][i]) for k in keys} for i in range(n)]
    finally:
        if started:
            ray.shutdown()


def _plain(value: Any) -> Any:
    """numpy scalars and arrays back to what pymilvus accepts (int, str, list of float)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
