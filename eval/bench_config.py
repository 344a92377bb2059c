"""`reportqa bench` settings, limits and its error: what every part of the benchmark (eval.bench_*) shares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = 1
DEV_SET = Path(__file__).resolve().parent / "datasets" / "reports_dev.jsonl"
FULL_CONCURRENCY: tuple[int, ...] = (1, 8, 32, 64)
QUICK_CONCURRENCY: tuple[int, ...] = (1, 8)
ENDPOINTS: tuple[str, ...] = ("ask", "search")
PEER_MAX_N = 100_000  # SimpleVectorStore rebuilds a numpy array of every vector per query: 1M would take ~20 s/query
PILOT_N = 10_000  # built first (for the projection only) when the smallest requested size is larger than this
MEMORY_HEADROOM = 0.8  # a size is skipped when its projected peak RSS exceeds this share of available memory
RSS_SAMPLE_SECONDS = 0.05

Progress = Callable[[str], None]


class BenchError(RuntimeError):
    """A step of the benchmark could not run (a child process failed, the server did not start)."""


@dataclass
class BenchConfig:
    out_dir: Path
    command: str
    # The command line that runs `reportqa` (ingest, serve) in a child process, e.g. (python, "-m", "reportqa").
    # The CLI passes it in: eval sits below the CLI and does not name it.
    cli: tuple[str, ...]
    index: Path | None = None
    synthetic: list[int] = field(default_factory=list)
    quick: bool = False
    concurrency: tuple[int, ...] = FULL_CONCURRENCY
    requests: int = 256  # per (endpoint, concurrency)
    max_questions: int | None = None  # None = every dev-set question
    growth_questions: int = 100
    peer_questions: int = 30
    # A 1M-chunk build takes ~20 min on 2 cores (jieba is ~1 ms per chunk per core); sizes projected
    # past this budget are skipped with the projection recorded.
    max_build_seconds: float = 1800.0
    seed: int = 0
    keep: Path | None = None  # keep the synthetic indexes in KEEP/synthetic_N and reuse them when present
    growth_only: bool = False  # skip ingest, the shipped-index retrieval and the service (needs --index)

    @classmethod
    def make(cls, out_dir: Path, command: str, *, cli: Sequence[str], index: Path | None = None,
             synthetic: Sequence[int] = (), quick: bool = False, requests: int | None = None,
             keep: Path | None = None, growth_only: bool = False) -> "BenchConfig":
        """The full benchmark, or with `quick` a small version of every part (a smoke test)."""
        if quick:
            return cls(out_dir=out_dir, command=command, cli=tuple(cli), index=index, synthetic=list(synthetic) or [2000],
                       quick=True, concurrency=QUICK_CONCURRENCY, requests=requests or 16, max_questions=20,
                       growth_questions=10, peer_questions=5, max_build_seconds=300.0,
                       keep=keep, growth_only=growth_only)
        return cls(out_dir=out_dir, command=command, cli=tuple(cli), index=index, synthetic=list(synthetic),
                   requests=requests or 256, keep=keep, growth_only=growth_only)
