"""The dev-set format: one JSON object per line.

Fields: `id`, `question`, `answers` (list; `[]` = the reports do not answer; missing = unlabelled, counts
only for retrieval), `evidence` (verbatim quotes, compared after deleting whitespace), `type`,
`derivation` (non-empty when the answer is computed), `split` (`tune` | `report`; missing = both), `style`
(the phrasing style a question was written in, e.g. `year`, `near_miss`; summaries break down by it), `history`
(for a follow-up: the earlier turns, `[{"role": "user"|"assistant", "content": "…"}]`, which the system is
given as conversation history). Unknown fields are kept in `extra` and passed through to per-item results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# "open": an answerable question of a public reading-comprehension set (eval.public_qa), answer type unlabelled.
TYPES = ("numeric", "table", "definition", "entity", "list", "paraphrase", "multi_hop", "comparison", "open", "unanswerable")
SPLITS = ("tune", "report", "all")
_KNOWN = {"id", "question", "answers", "evidence", "type", "derivation", "split", "style", "history"}
ROLES = ("user", "assistant", "system")
PACKAGED_DIR = Path(__file__).resolve().parent / "datasets"


class DatasetError(ValueError):
    """A malformed dataset line; the message names the file and line number."""


@dataclass
class EvalItem:
    id: str
    question: str
    answers: list[str] | None
    evidence: list[str]
    type: str
    derivation: str = ""
    split: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    line: int = 0
    style: str | None = None
    history: tuple[dict[str, str], ...] = ()  # earlier turns of a follow-up: {"role", "content"}

    @property
    def labelled(self) -> bool:
        return self.answers is not None

    @property
    def answerable(self) -> bool:
        """Retrieval counts every item that is not known to be unanswerable and has evidence."""
        return self.answers != [] and bool(self.evidence)

    def in_split(self, split: str) -> bool:
        return split == "all" or self.split is None or self.split == split


def _parse_line(raw: str, lineno: int, path: Path) -> EvalItem:
    where = f"{path}:{lineno}"
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise DatasetError(f"{where}: expected a JSON object")
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{where}: `question` must be a non-empty string")
    answers = obj.get("answers")
    if answers is not None and not (isinstance(answers, list) and all(isinstance(a, str) for a in answers)):
        raise DatasetError(f"{where}: `answers` must be a list of strings")
    evidence = obj.get("evidence", [])
    if not (isinstance(evidence, list) and all(isinstance(e, str) for e in evidence)):
        raise DatasetError(f"{where}: `evidence` must be a list of strings")
    split = obj.get("split")
    if split is not None and split not in ("tune", "report"):
        raise DatasetError(f"{where}: `split` must be 'tune' or 'report', got {split!r}")
    item_type = obj.get("type", "unknown")
    if not isinstance(item_type, str):
        raise DatasetError(f"{where}: `type` must be a string")
    derivation = obj.get("derivation", "") or ""
    if not isinstance(derivation, str):
        raise DatasetError(f"{where}: `derivation` must be a string")
    style = obj.get("style")
    if style is not None and not isinstance(style, str):
        raise DatasetError(f"{where}: `style` must be a string")
    return EvalItem(
        id=str(obj.get("id", f"line{lineno}")),
        question=question,
        answers=answers,
        evidence=evidence,
        type=item_type,
        derivation=derivation,
        split=split,
        extra={k: v for k, v in obj.items() if k not in _KNOWN},
        line=lineno,
        style=style,
        history=_parse_history(obj.get("history"), where),
    )


def _parse_history(value: Any, where: str) -> tuple[dict[str, str], ...]:
    """A follow-up's earlier turns, checked as /v1/ask checks them (a role and a string content each)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise DatasetError(f"{where}: `history` must be a list of {{role, content}} turns")
    turns = []
    for n, turn in enumerate(value, start=1):
        if not (isinstance(turn, dict) and turn.get("role") in ROLES and isinstance(turn.get("content"), str)):
            raise DatasetError(f"{where}: `history` turn {n} must be {{\"role\": {'|'.join(ROLES)}, \"content\": string}}")
        turns.append({"role": turn["role"], "content": turn["content"]})
    return tuple(turns)


def packaged_datasets() -> list[str]:
    """Names of the dev sets shipped inside the package (eval/datasets/NAME.jsonl), usable without a clone."""
    return sorted(p.stem for p in PACKAGED_DIR.glob("*.jsonl"))


def resolve_dataset(spec: str | Path) -> Path:
    """The dataset file `spec` names: the file itself when it exists, else the packaged dev set called `spec`
    (`reports_dev` or `reports_dev.jsonl`). A path with a folder in it is never swapped for a packaged file."""
    path = Path(spec)
    if path.exists() or path.parent != Path("."):
        return path
    name = path.name.removesuffix(".jsonl")
    if name in packaged_datasets():
        return PACKAGED_DIR / f"{name}.jsonl"
    raise DatasetError(f"{spec}: no such dataset file, nor a packaged dataset (packaged: {', '.join(packaged_datasets())})")


def load_dataset(path: str | Path, split: str = "all") -> list[EvalItem]:
    """Parse and validate every line before anything is evaluated; raise DatasetError on the first bad line.

    `path` is a file or the name of a packaged dev set (see resolve_dataset)."""
    if split not in SPLITS:
        raise DatasetError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
    path = resolve_dataset(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such dataset file (packaged datasets: {', '.join(packaged_datasets())})") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: a folder, not a dataset file") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text") from None
    items = [_parse_line(raw, n, path) for n, raw in enumerate(lines, start=1) if raw.strip()]
    ids = [i.id for i in items]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise DatasetError(f"{path}: duplicate ids {sorted(dupes)[:5]}")
    return [i for i in items if i.in_split(split)]
