"""SIGKILL during an index build: the previous index stays loadable, whatever the moment of the kill.

The child process builds with a progress callback that blocks at a chosen stage (or sleeps at every report
for random-moment kills); the test kills it there and loads the index.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ingest.index_build import build_index
from ingest.index_reader import load_index
from ingest.publish import PUBLISH_STAGE
from test_index_store import ROOT, _fast_offline_model, build_config, corpus  # noqa: F401  (fixtures)

_CHILD = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
from test_index_store import build_config, make_corpus, shipped_files
from ingest.index_build import build_index

def progress(stage, done, total):
    time.sleep({delay!r})
    if (stage, done) == {pause_at!r}:
        Path({marker!r}).write_text(stage, encoding="utf-8")
        time.sleep(60)

build_index(make_corpus(shipped_files(extra="\n第九，新版本。\n")), build_config({ix!r}), progress)
print("done")
"""


def _run_child(ix_dir: Path, tmp_path: Path, pause_at: tuple[str, int] | None, kill_after: float | None = None) -> bool:
    """Run a build in a real subprocess and SIGKILL it; True if it was killed (False: it finished first)."""
    marker = tmp_path / f"paused-{pause_at}"
    delay = 0.0 if pause_at else 0.15  # ~2.5 s of build after ~1 s of imports
    code = _CHILD.format(root=str(ROOT), tests=str(ROOT / "tests"), ix=str(ix_dir), delay=delay, pause_at=pause_at,
                         marker=str(marker))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        if pause_at:
            while not marker.exists():
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline
                time.sleep(0.02)
        else:
            time.sleep(kill_after or 0)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode in (0, -signal.SIGKILL), proc.stderr.read().decode()
    assert pause_at is None or proc.returncode == -signal.SIGKILL
    return proc.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_sigkill_during_build_keeps_old_index(tmp_path, corpus):
    ix_dir = tmp_path / "ix"
    m0 = build_index(corpus, build_config(ix_dir)).manifest
    q = "全镇共封闭管理多少个居村出入通道"
    # killed while indexing; after the new build folder was renamed into place but before the manifest; at random
    # moments
    rng = np.random.default_rng()
    cases = [(("bm25_word", 0), None), ((PUBLISH_STAGE, 1), None)] + [(None, float(t)) for t in rng.uniform(0.3, 3.0, 2)]
    for pause_at, kill_after in cases:
        killed = _run_child(ix_dir, tmp_path, pause_at, kill_after)
        ix = load_index(ix_dir)
        assert ix.rank_word(ix.tokenizer.tokenize(q), 3)
        if killed:
            assert json.loads((ix_dir / "manifest.json").read_text(encoding="utf-8")) == m0.to_dict()
            assert ix.manifest.build_id == m0.build_id and len(ix.chunks) == m0.counts["chunks"]
        else:  # the build won the race: the new index is the complete one
            m0 = ix.manifest
    # the next build succeeds and sweeps the leftovers of the killed ones
    m1 = build_index(corpus, build_config(ix_dir)).manifest
    assert m1.build_id != m0.build_id and m1.previous_build == m0.build_id
    assert sorted(p.name for p in (ix_dir / "builds").iterdir()) == sorted([m0.build_id, m1.build_id])
    assert load_index(ix_dir).manifest == m1


# ----- streaming BM25 build, parallel tokenisation, offline model given by path ----------------------------------
