"""Building an index the way `reportqa ingest` does, for every command that needs one (ingest, eval --squad).

One place, so an index built for an evaluation is built exactly as a user's would be: same parsing, chunking,
embedding model and search text, all from the settings in effect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from reportqa.common import fail


def parse_inputs(inputs: list[Path], settings: Any, progress: Any = None):
    """Load, clean, section and chunk every file (ingest.pipeline.ParseResult); unreadable files are listed."""
    from ingest.pipeline import parse_paths

    return parse_paths(inputs, settings.chunking_config(), progress=progress)


def build_parsed(parsed: Any, index_dir: Path, settings: Any, embed_model: Optional[str], rebuild: bool, progress: Any = None,
                 ray_address: Optional[str] = None):
    """Build (or update) the index in `index_dir` from a ParseResult; a CLI error when it cannot be built."""
    from ingest.embeddings import EmbedderUnavailable
    from ingest.index_build import build_index
    from ingest.index_reader import ModelMismatch
    from ingest.milvus_lease import LeaseBusy, LeaseLost
    from ingest.milvus_publish import PublishConflict
    from ingest.milvus_store import MilvusUnavailable
    from ingest.publish import IndexBusy

    corpus = parsed.corpus
    if not corpus.chunks:
        fail("the input has no text to index (every file was empty or only a title line)")
    try:
        from qa_service.store import open_store

        settings = settings.model_copy(update={"index": index_dir})
        store = open_store(settings)  # REPORTQA_STORE=milvus: the folder is a cache, synced before and uploaded after
        store.prepare()
        result = build_index(corpus, settings.build_config(embed_model=embed_model, rebuild=rebuild), progress=progress)
        store.publish(result, ray_address=ray_address) if ray_address else store.publish(result)
        return result
    except (EmbedderUnavailable, IndexBusy, ModelMismatch, MilvusUnavailable, LeaseBusy, LeaseLost,
            PublishConflict) as exc:
        fail(str(exc))
