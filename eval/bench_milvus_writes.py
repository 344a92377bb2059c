"""Measure what safe writes cost on the Milvus store (issue 14): the write lease and the uploaded files kept in Milvus.

    python -m eval.bench_milvus_writes --source INDEX --out eval/runs/milvus-writes.json [--rounds 30] [--uri URI]

It starts a `milvus-lite server` on loopback (or measures `--uri`), then times:
* the lease, uncontended: acquire and release (ingest.milvus_lease), `rounds` times;
* a hand-over: a second writer waiting while the first holds it, from the first's release to the second's hold;
* the shipped report files stored in P_sources (put), listed, and downloaded into an empty folder;
* INDEX published, then what a document job now reads before it edits, under the lease: the build in service's
  corpus and its stored uploads (`MilvusStore.published()`, the replica's cache already holding that build).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .bench_load import latency_summary
from .bench_milvus import start_lite_server


def _settings(uri: str, cache: Path) -> Any:
    from qa_service.config import Settings

    return Settings(index=cache, store="milvus", milvus_uri=uri, milvus_collection="bench_writes")


def _lease(config: Any, rounds: int) -> dict[str, Any]:
    from ingest.milvus_lease import WriteLease, ensure_lease_collection
    from ingest.milvus_store import client_for

    ensure_lease_collection(client_for(config), config)
    acquire, release = [], []
    for _ in range(rounds):
        lease = WriteLease(config, "bench")
        t = time.perf_counter()
        lease.acquire(60)
        acquire.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        lease.release()
        release.append((time.perf_counter() - t) * 1000)
    return {"acquire_ms": latency_summary(acquire), "release_ms": latency_summary(release),
            "hand_over_ms": latency_summary([_hand_over(config) for _ in range(max(3, rounds // 5))])}


def _hand_over(config: Any) -> float:
    from ingest.milvus_lease import WriteLease

    first, second = WriteLease(config, "first"), WriteLease(config, "second")
    first.acquire(60)
    got: list[float] = []
    waiter = threading.Thread(target=lambda: (second.acquire(60), got.append(time.perf_counter())))
    waiter.start()
    time.sleep(0.5)  # the second writer is waiting
    released = time.perf_counter()
    first.release()
    waiter.join()
    second.release()
    return (got[0] - released) * 1000


def _sources(config: Any, files: list[Path], scratch: Path) -> dict[str, Any]:
    from ingest.milvus_sources import download, put_source, stored_sources
    from ingest.milvus_store import client_for

    client = client_for(config)
    raw = sum(p.stat().st_size for p in files)
    t = time.perf_counter()
    for p in files:
        put_source(client, config, p)
    put_s = time.perf_counter() - t
    t = time.perf_counter()
    stored = stored_sources(client, config)
    list_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    for s in stored:
        download(client, config, s, scratch / "sources")
    return {"files": len(files), "raw_bytes": raw, "stored_parts": sum(s.parts for s in stored),
            "stored_data_bytes": sum(4 * ((len(b) + 2) // 3) for p in files for b in _parts(p.read_bytes())),
            "put_seconds": round(put_s, 3), "list_ms": round(list_ms, 2),
            "download_seconds": round(time.perf_counter() - t, 3)}


def _parts(data: bytes) -> list[bytes]:
    from ingest.milvus_store import FILE_PART_BYTES

    return [data[i:i + FILE_PART_BYTES] for i in range(0, max(len(data), 1), FILE_PART_BYTES)]


def _job_read(uri: str, source: Path, scratch: Path, rounds: int) -> dict[str, Any]:
    from ingest.manifest import read_manifest
    from ingest.milvus_publish import publish_to_milvus
    from qa_service.store import MilvusStore

    settings = _settings(uri, scratch / "cache")
    t = time.perf_counter()
    publish_to_milvus(settings.milvus_config(), source, read_manifest(source))
    publish_s = time.perf_counter() - t
    store = MilvusStore(settings)
    t = time.perf_counter()
    first = store.published()  # downloads the build into the empty cache
    first_s = time.perf_counter() - t
    warm = []
    for _ in range(rounds):
        t = time.perf_counter()
        store.published()
        warm.append((time.perf_counter() - t) * 1000)
    return {"chunks": len(first.corpus.chunks), "publish_seconds": round(publish_s, 2),
            "first_read_seconds": round(first_s, 2), "read_ms_with_cache": latency_summary(warm)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True, help="a built index (e.g. eval/runs/index)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--uri", default=None, help="an existing Milvus (default: a milvus-lite server started here)")
    args = parser.parse_args()
    from ingest.pipeline import shipped_reports_dir

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        proc, uri = (None, args.uri) if args.uri else start_lite_server(scratch / "milvus")
        try:
            config = _settings(uri, scratch / "cache").milvus_config()
            files = sorted(p for p in shipped_reports_dir().iterdir() if p.is_file())
            out = {"uri": "milvus-lite server (loopback)" if proc else uri, "lease": _lease(config, args.rounds),
                   "sources": _sources(config, files, scratch), "job_read": _job_read(uri, args.source, scratch, args.rounds)}
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
