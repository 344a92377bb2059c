"""bench.json as Markdown tables (bench.md and the command's stdout)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def mib(b: int | None) -> str:
    return "–" if b is None else f"{b / 2**20:,.0f} MiB"


def gib(b: int | float | None) -> str:
    return "–" if b is None else f"{b / 2**30:.1f} GiB"


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join("–" if c is None else str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def render_markdown(r: dict[str, Any]) -> str:
    m = r["machine"]
    out = [
        f"# reportqa bench{' (quick)' if r.get('quick') else ''}",
        "",
        f"Command: `{r['command']}`  ",
        f"Run at {r['created_at']}, {r.get('seconds', '–')} s in all.  ",
        f"Machine: {m['usable_cores']} usable cores ({m['logical_cores']} logical, {m['physical_cores']} physical), "
        f"{gib(m['memory_bytes'])} memory ({gib(m['memory_available_bytes'])} available at start), "
        f"{m['processor']}, Python {m['python']}, {m['platform']}.",
        "",
    ]
    out += _ingest_md(r.get("ingest") or {})
    out += _retrieval_md(r.get("retrieval") or {})
    out += _service_md(r.get("service") or {})
    out += _growth_md(r.get("growth") or [])
    out += _peer_md(r.get("peer") or [])
    return "\n".join(out).rstrip() + "\n"


def _ingest_md(ing: dict[str, Any]) -> list[str]:
    if not ing:
        return []
    first, re_ = ing["first_build"], ing["reingest"]
    stages = list(dict.fromkeys([*first["stage_seconds"], *re_["stage_seconds"]]))
    rows = [[s, first["stage_seconds"].get(s), re_["stage_seconds"].get(s)] for s in stages]
    rows.append(["**total (command)**", first["seconds"], re_["seconds"]])
    rows.append(["wall incl. interpreter start", first["wall_seconds"], re_["wall_seconds"]])
    return [
        f"## Ingest: shipped reports ({first['documents']} documents, {first['chunks']} chunks, "
        f"model {first['embedding_model']})",
        "",
        *_table(["stage", "first build (s)", "re-ingest (s)"], rows),
        f"Re-ingest reused the vectors of {re_['reused_files']} unchanged file(s).",
        "",
    ]


def _retrieval_md(ret: dict[str, Any]) -> list[str]:
    if not ret:
        return []
    rv, arms = ret["retrieval"], ret.get("arm_ms") or {}
    row = [rv["n"], _ms(rv["p50_ms"]), _ms(rv["p95_ms"]), _ms(rv["p99_ms"]),
           *(_ms((arms.get(a) or {}).get("p50_ms")) for a in ("word", "char", "dense")), mib(ret["rss_bytes"])]
    return [
        f"## Retrieval in-process (Retriever.retrieve, top_k 10, {ret['chunks']} chunks, arms {', '.join(ret['arms'])})",
        "",
        *_table(["questions", "p50 ms", "p95 ms", "p99 ms", "word arm p50", "char arm p50", "dense arm p50", "RSS"], [row]),
    ]


def _service_md(svc: dict[str, Any]) -> list[str]:
    if not svc:
        return []
    rows = [[f"/v1/{x['endpoint']}", x["concurrency"], x["requests"], _ms(x["p50_ms"]), _ms(x["p95_ms"]),
             _ms(x["p99_ms"]), x["rps"], x["errors"], mib(x["peak_rss_bytes"])] for x in svc["measurements"]]
    return [
        "## Service (`reportqa serve` on loopback; load generator in another process on the same cores)",
        "",
        *_table(["endpoint", "concurrency", "requests", "p50 ms", "p95 ms", "p99 ms", "req/s", "errors", "peak RSS"], rows),
        f"Server RSS: {mib(svc['rss_bytes_ready'])} ready, {mib(svc['rss_bytes_warm'])} after warm-up, "
        f"**peak {mib(svc['peak_rss_bytes'])}** during the load (process tree).",
        "",
    ]


def _growth_md(growth: list[dict[str, Any]]) -> list[str]:
    if not growth:
        return []
    rows, stage_rows, probe_lines = [], [], []
    stage_names: list[str] = []
    for g in growth:
        for s in ((g.get("build") or {}).get("stage_seconds") or {}):
            if s not in stage_names and s != "total_index":
                stage_names.append(s)
    for g in growth:
        label = f"{g['n']:,}" + (" (pilot)" if g.get("pilot") else "")
        if g["status"] != "ok":
            proj = g.get("projected") or {}
            note = f"{g['status']}: {g.get('reason', '')}".replace("\n", " ")[:300]
            rows.append([label, note, proj.get("build_seconds"), None, mib(proj.get("build_peak_rss_bytes")),
                         None, None, None, None, None, None, None])
            continue
        b, q = g["build"], g["query"]
        arms = q.get("arm_ms") or {}
        rows.append([label, (b.get("dense") or {}).get("index", "none"), b["build_seconds"], mib(b["index_bytes"]),
                     mib(b["build_peak_rss_bytes"]), _ms(q["retrieval"]["p50_ms"]), _ms(q["retrieval"]["p95_ms"]),
                     *(_arm_ms(arms.get(a)) for a in ("word", "char", "dense")), mib(q.get("rss_anon_bytes")),
                     mib(q["rss_bytes"])])
        stage_rows.append([label, b["generate_seconds"], *(b["stage_seconds"].get(s) for s in stage_names)])
        for p in q.get("dense_probe") or []:
            probe_lines.append([label, p["efSearch"], p["recall_at_10"], p.get("score_ratio"), f"{p['p50_ms']:.2f}"])
    out = [
        "## Growth: synthetic chunks (shipped chunks with digits, sentence order and names varied; seed 0)",
        "",
        *_table(["N", "dense index", "build s", "index size", "build peak RSS", "query p50 ms", "query p95 ms",
                 "word p50 / p95", "char p50 / p95", "dense p50 / p95", "query RssAnon", "query RSS"], rows),
        "query RssAnon: the process's anonymous memory (/proc/self/status) after the queries; query RSS adds the "
        "memory-mapped index pages the queries touched (page cache, shared, reclaimable).",
        "",
        "Build seconds per stage:",
        "",
        *_table(["N", "generate", *stage_names], stage_rows),
    ]
    parts = [(f"{g['n']:,}", g["build"].get("index_bytes_by_part") or {}) for g in growth if g["status"] == "ok"]
    names = list(dict.fromkeys(k for _, d in parts for k in d))
    if names:
        out += ["Index size by part:", "", *_table(["N", *names], [[n, *(mib(d.get(k)) for k in names)] for n, d in parts])]
    if probe_lines:
        out += ["HNSW efSearch probe against an exact scan of the same vectors (score ratio: exact scores of the "
                "returned top 10 / the exact top 10's; synthetic near-duplicates make id recall pessimistic):", "",
                *_table(["N", "efSearch", "recall@10", "score ratio", "search p50 ms"], probe_lines)]
    return out


def _arm_ms(arm: dict[str, Any] | None) -> str | None:
    if not arm:
        return None
    return f"{_ms(arm.get('p50_ms'))} / {_ms(arm.get('p95_ms'))}"


def _peer_md(peer: list[dict[str, Any]]) -> list[str]:
    if not peer:
        return []
    rows = [[f"{p['n']:,}" if isinstance(p["n"], int) else p["n"], p["chunks"], p["questions"], _ms(p["peer_p50_ms"]),
             _ms(p["reportqa_p50_ms"]), p["ratio_p50"], p["peer_build_seconds"]] for p in peer]
    return [
        "## Peer: llama-index default VectorStoreIndex retriever (same chunks, same embedding model, top 10)",
        "",
        *_table(["N", "chunks", "questions", "peer p50 ms", "reportqa p50 ms", "peer / reportqa", "peer build s"], rows),
        "reportqa's p50 is Retriever.retrieve on the same questions (all arms, scope, boosts); the peer is dense only.",
        "",
    ]


def write_outputs(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """bench.json (everything measured) and bench.md (the tables) in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "bench.json", out_dir / "bench.md"
    json_path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    md_path.write_text(render_markdown(result), encoding="utf-8")
    return json_path, md_path
