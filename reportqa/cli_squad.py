"""`reportqa eval --squad FILE`: turn a public SQuAD-format set into dev items and an index of its paragraphs.

The corpus and its index are built once per (file, withholding, seed, first line, build settings) in a folder
named by a hash of those, and reused by later runs: the reportqa run and the baselines' runs of one set share one
index. The index is built by reportqa.indexing, the path `reportqa ingest` takes, with the settings in effect.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any, Optional

from reportqa.common import err, fail, load_settings

log = logging.getLogger(__name__)

KEY_FILE = "squad.json"
ITEMS_NAME = "squad_items.jsonl"


def default_cache_root(out_dir: Path) -> Path:
    """Beside the run folder, so the runs of one set (reportqa, each baseline) share their index."""
    return out_dir.parent / "squad-cache"


def prepare_squad(
    squad: Path, withhold: float, seed: int, limit: Optional[int], cache_root: Path, out_dir: Path
) -> tuple[list, Path, dict[str, Any]]:
    """The dev items, the index folder, and what the run's summary records about the set."""
    from eval.public_qa import PublicQAError, build_open_domain, corpus_key, load_squad, write_items

    title_mode = "none"  # the paragraph alone: ingest keeps a first line that is no title as text
    settings = load_settings()
    build = {"chunk_size": settings.chunk_size, "overlap": settings.chunk_overlap, "embed_model": settings.embed_model,
             "search_with_heading": settings.search_with_heading}
    try:
        dataset = build_open_domain(load_squad(squad), withhold, seed)
        key = corpus_key(squad, withhold, seed, title_mode, build)
    except PublicQAError as exc:
        fail(str(exc))
    items = dataset.items[:limit] if limit else dataset.items
    if not items:
        fail(f"{squad}: no question left to evaluate")
    folder = cache_root / key
    index_dir = folder / "index"
    if _built(folder, key):
        err.print(f"squad: reusing the index in {folder}", highlight=False, soft_wrap=True)
    else:
        _build(dataset, folder, key, title_mode, settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_items(items, out_dir / ITEMS_NAME)
    stats = dataset.stats
    err.print(
        f"squad: {stats['paragraphs']} paragraphs, {stats['withheld_paragraphs']} withheld; "
        f"{stats['answerable']} answerable, {stats['unanswerable']} unanswerable questions, "
        f"{stats['dropped_answer_elsewhere']} dropped (a withheld question whose answer text a kept paragraph holds)"
        + (f"; evaluating the first {len(items)}" if limit and limit < len(dataset.items) else ""),
        highlight=False, soft_wrap=True,
    )
    record = {"file": str(squad), "withhold": withhold, "seed": seed, "limit": limit, "title": title_mode,
              "key": key, "index": str(index_dir), "items": str(out_dir / ITEMS_NAME), **stats}
    return items, index_dir, record


def _built(folder: Path, key: str) -> bool:
    try:
        meta = json.loads((folder / KEY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("key") == key and (folder / "index" / "manifest.json").exists()


def _build(dataset: Any, folder: Path, key: str, title_mode: str, settings: Any) -> None:
    """Write the kept paragraphs as .txt files and index them; KEY_FILE is written last, when all is done."""
    from eval.public_qa import write_corpus

    from reportqa.indexing import build_parsed, parse_inputs
    from reportqa.progress import stage_progress

    (folder / KEY_FILE).unlink(missing_ok=True)
    shutil.rmtree(folder / "index", ignore_errors=True)
    corpus_dir = folder / "corpus"
    paths = write_corpus(dataset, corpus_dir, title_mode)
    err.print(f"squad: indexing {len(paths)} paragraphs into {folder}", highlight=False, soft_wrap=True)
    with stage_progress(err) as progress:
        parsed = parse_inputs([corpus_dir], settings, progress)
        if parsed.corpus.skipped:
            fail(f"{len(parsed.corpus.skipped)} paragraph files could not be read, e.g. {parsed.corpus.skipped[0].reason}")
        build_parsed(parsed, folder / "index", settings, None, False, progress)
    meta = {"key": key, "withheld": sorted(dataset.withheld), **dataset.stats}
    (folder / KEY_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
