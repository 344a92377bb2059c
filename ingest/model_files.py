"""Saved embedding-model folders: finding one on disk, hashing it, and recognising reportqa's offline model.

Shared by the loader (`ingest.embeddings`) and the trainer (`ingest.offline_model`); it imports neither, nor any
heavy library (huggingface_hub only inside `locate_model`, and only for a hub name).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import Iterator

OFFLINE_PREFIX = "offline:"
OFFLINE_INFO_FILE = "reportqa_offline.json"  # recipe + timings; not part of the model hash
# Files that never change what the model computes, left out of the model hash.
_HASH_SKIP = {"README.md", OFFLINE_INFO_FILE, ".gitattributes"}


def model_sha256(folder: str | Path) -> str:
    """Deterministic hash of a saved model: every file under the folder (symlinks followed) except the model card
    and reportqa's own info file, in sorted relative-path order, each contributing its path and its bytes' hash."""
    root = Path(folder)
    h = hashlib.sha256()
    files = sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.name not in _HASH_SKIP and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    for p in files:
        fh = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                fh.update(block)
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + fh.digest())
    return h.hexdigest()


def hub_offline() -> bool:
    """True when HF_HUB_OFFLINE forbids downloads."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def locate_model(spec: str) -> Path | None:
    """A local folder for `spec`: the path itself, or the Hugging Face cache snapshot (never touching the network)."""
    p = Path(spec).expanduser()
    if p.is_dir():
        return p.resolve()
    if spec.startswith((".", "/", "~")) or os.sep in spec and spec.count("/") != 1:
        return None
    try:
        from huggingface_hub import snapshot_download

        with quiet_libraries():
            return Path(snapshot_download(spec, local_files_only=True))
    except Exception:  # not cached (LocalEntryNotFoundError), bad repo id, ...
        return None


def is_offline_model_dir(folder: str | Path | None) -> bool:
    """True for a folder that `train_offline_model` wrote (its info file and a sentence-transformers layout)."""
    return folder is not None and (Path(folder) / OFFLINE_INFO_FILE).is_file() and (Path(folder) / "modules.json").is_file()


@contextlib.contextmanager
def quiet_libraries() -> Iterator[None]:
    """Silence library chatter (transformers/ST warnings, progress bars) for a block."""
    names = ("sentence_transformers", "transformers", "huggingface_hub", "torch")
    old = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for n, lvl in old.items():
            logging.getLogger(n).setLevel(lvl)
