"""Public SQuAD-format reading-comprehension sets (CMRC 2018, DRCD) run open-domain through the normal evaluator.

Every paragraph becomes a document of its own. A fraction of the paragraphs is withheld from the corpus, chosen
with `random.Random(seed)`, so the set also measures abstention:
- a question of a kept paragraph is answerable: `answers` = its SQuAD answer texts (deduplicated), `evidence` =
  the sentence of its paragraph that holds the first answer. The evaluator counts a retrieval hit when a chunk
  holds an evidence quote whole, so hit@k reads "the chunk of the answer paragraph that holds the answer is in
  the top k"; the bare answer text (`1998年`) would match chunks of unrelated paragraphs.
- a question of a withheld paragraph becomes unanswerable (`answers` = []) only when no kept paragraph contains
  any of its answer texts (whitespace deleted). Otherwise it is dropped: the corpus may well answer it, but from
  a paragraph nobody checked, so it is neither a fair answerable item nor an unanswerable one. The count is in
  `OpenDomainSet.stats["dropped_answer_elsewhere"]`.
Everything is converted to simplified Chinese with OpenCC `t2s` first (DRCD is traditional; on simplified text
`t2s` changes about one character in 10,000, and only traditional leftovers such as 舖), so questions, documents
and answers share one script with jieba and the shipped reports.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ingest.zh import strip_ws

from .dataset import EvalItem

# The type of an answerable open-domain question: its answer type (entity, number, ...) is not labelled.
OPEN_TYPE = "open"
UNANSWERABLE_TYPE = "unanswerable"
# The first line of a document file in the `neutral` title mode. It was the default while `reportqa ingest` took a
# plain .txt's first line as its title and indexed no chunk for it (issue 11, item 6); ingest now keeps a first
# line that does not look like a title as body text (ingest.zh.titles), so the default is `none`: the paragraph
# alone, as a plain document is found in the wild. The neutral line carries no information either way.
NEUTRAL_TITLE = "资料段落"
TITLE_MODES = ("neutral", "article", "none")  # first line: NEUTRAL_TITLE, the SQuAD article title, or nothing
_SENTENCE_END = "。！？!?\n"
# An evidence sentence longer than this is cut to a window around the answer, so that one chunk holds it whole.
MAX_EVIDENCE_CHARS = 200


class PublicQAError(ValueError):
    """A file that is not a readable SQuAD-format set; the message says what is wrong and where."""


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]  # deduplicated answer texts, in file order
    answer_start: int  # offset of the first answer in the (converted) context, -1 when not found


@dataclass(frozen=True)
class SquadParagraph:
    doc_name: str  # file stem of the document: `<set>-p0001`
    title: str  # the SQuAD article title
    context: str
    questions: tuple[SquadQuestion, ...]


@dataclass
class OpenDomainSet:
    paragraphs: list[SquadParagraph]
    withheld: set[str]  # doc_names left out of the corpus
    items: list[EvalItem]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def kept(self) -> list[SquadParagraph]:
        return [p for p in self.paragraphs if p.doc_name not in self.withheld]


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """`text` in simplified characters (OpenCC t2s; the length never changes for these sets)."""
    return _t2s().convert(text)


def _require(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise PublicQAError(f"{where}: {what} (expected SQuAD format: data[].paragraphs[].context/qas[])")


def read_squad_json(path: Path) -> dict[str, Any]:
    """The parsed file, or PublicQAError for a missing, unreadable or non-JSON file."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PublicQAError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PublicQAError(f"{path}: a folder, not a SQuAD JSON file") from None
    except UnicodeDecodeError:
        raise PublicQAError(f"{path}: not UTF-8 text") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise PublicQAError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    _require(isinstance(data, dict) and isinstance(data.get("data"), list), str(path), "no top-level `data` list")
    return data


def _locate(context: str, answer: str, hint: int) -> int:
    """Offset of the occurrence of `answer` in `context` nearest to `hint` (SQuAD offsets are sometimes off)."""
    found = [m.start() for m in re.finditer(re.escape(answer), context)] if answer else []
    return min(found, key=lambda s: abs(s - hint)) if found else -1


def _parse_question(qa: Any, context: str, where: str) -> SquadQuestion:
    _require(isinstance(qa, dict), where, "a question entry is not an object")
    question, answers = qa.get("question"), qa.get("answers")
    _require(isinstance(question, str), where, "`question` must be a string")
    _require(isinstance(answers, list), where, "`answers` must be a list")
    texts: list[str] = []
    start = -1
    for a in answers:
        _require(isinstance(a, dict) and isinstance(a.get("text"), str), where, "an answer needs a string `text`")
        text = to_simplified(a["text"]).strip()
        if text and text not in texts:
            if not texts:
                hint = a.get("answer_start")
                start = _locate(context, text, hint if isinstance(hint, int) else 0)
            texts.append(text)
    return SquadQuestion(str(qa.get("id", "")), to_simplified(question).strip(), tuple(texts), start)


def load_squad(path: str | Path) -> list[SquadParagraph]:
    """Every paragraph of a SQuAD-format file, converted to simplified Chinese, named `<file stem>-pNNNN`."""
    path = Path(path)
    data = read_squad_json(path)
    paragraphs: list[SquadParagraph] = []
    for ai, article in enumerate(data["data"]):
        where = f"{path}: data[{ai}]"
        _require(isinstance(article, dict) and isinstance(article.get("paragraphs"), list), where, "no `paragraphs` list")
        title = to_simplified(str(article.get("title") or "")).strip()
        for pi, para in enumerate(article["paragraphs"]):
            pwhere = f"{where}.paragraphs[{pi}]"
            _require(isinstance(para, dict) and isinstance(para.get("context"), str), pwhere, "no string `context`")
            _require(isinstance(para.get("qas", []), list), pwhere, "`qas` must be a list")
            context = to_simplified(para["context"]).strip()
            if not context:
                continue
            questions = tuple(_parse_question(qa, context, pwhere) for qa in para.get("qas", []))
            paragraphs.append(SquadParagraph(f"{path.stem}-p{len(paragraphs):04d}", title, context, questions))
    if not paragraphs:
        raise PublicQAError(f"{path}: no paragraph with a non-empty `context`")
    return paragraphs


def answer_sentence(context: str, answer: str, start: int) -> str:
    """The sentence of `context` that holds `answer` at `start` (the answer itself when it spans sentences),
    cut to a window of MAX_EVIDENCE_CHARS around the answer when longer."""
    if start < 0:
        return answer
    end = start + len(answer)
    left = max((context.rfind(ch, 0, start) for ch in _SENTENCE_END), default=-1) + 1
    right_ends = [i for ch in _SENTENCE_END if (i := context.find(ch, end)) >= 0]
    right = min(right_ends) + 1 if right_ends else len(context)
    if any(ch in context[start:end] for ch in _SENTENCE_END):
        return answer
    if right - left > MAX_EVIDENCE_CHARS:
        pad = max(0, (MAX_EVIDENCE_CHARS - len(answer)) // 2)
        left, right = max(left, start - pad), min(right, end + pad)
    return context[left:right].strip()


def choose_withheld(paragraphs: list[SquadParagraph], withhold: float, seed: int) -> set[str]:
    """The doc_names of round(withhold * n) paragraphs drawn with random.Random(seed): the same for the same input."""
    if not 0.0 <= withhold < 1.0:
        raise PublicQAError(f"withhold must be in [0, 1), got {withhold}")
    names = [p.doc_name for p in paragraphs]
    return set(random.Random(seed).sample(names, round(withhold * len(names))))


def make_items(paragraphs: list[SquadParagraph], withheld: set[str]) -> OpenDomainSet:
    """Every question as an EvalItem: answerable when its paragraph is kept, unanswerable when it is withheld and no
    kept paragraph holds an answer text, else dropped (see the module docstring)."""
    # one string of every kept paragraph: "is this answer text anywhere in the corpus" is a substring test
    kept_text = "\x00".join(strip_ws(p.context) for p in paragraphs if p.doc_name not in withheld)
    items: list[EvalItem] = []
    stats = {"paragraphs": len(paragraphs), "withheld_paragraphs": len(withheld), "skipped_questions": 0,
             "dropped_answer_elsewhere": 0}
    seen_ids: set[str] = set()
    for p in paragraphs:
        for q in p.questions:
            if not q.answers or not q.question:  # SQuAD 2.0-style impossible questions, or blank ones (CMRC has 2)
                stats["skipped_questions"] += 1
                continue
            qid = q.id or f"{p.doc_name}-q{len(items)}"
            while qid in seen_ids:
                qid += "+"
            seen_ids.add(qid)
            extra = {"paragraph": p.doc_name, "withheld": p.doc_name in withheld, "gold": list(q.answers)}
            if p.doc_name not in withheld:
                evidence = answer_sentence(p.context, q.answers[0], q.answer_start)
                items.append(EvalItem(qid, q.question, list(q.answers), [evidence], OPEN_TYPE, extra=extra))
            elif any(strip_ws(a) in kept_text for a in q.answers):
                stats["dropped_answer_elsewhere"] += 1
            else:
                items.append(EvalItem(qid, q.question, [], [], UNANSWERABLE_TYPE, extra=extra))
    stats["answerable"] = sum(1 for i in items if i.answers)
    stats["unanswerable"] = sum(1 for i in items if not i.answers)
    return OpenDomainSet(paragraphs, set(withheld), items, stats)


def build_open_domain(paragraphs: list[SquadParagraph], withhold: float = 0.3, seed: int = 0) -> OpenDomainSet:
    """Withhold round(withhold * n) paragraphs (random.Random(seed)) and turn every question into an EvalItem."""
    return make_items(paragraphs, choose_withheld(paragraphs, withhold, seed))


def document_text(p: SquadParagraph, title_mode: str = "none") -> str:
    """The text of a paragraph's .txt file: the paragraph, after a first line chosen by `title_mode`."""
    if title_mode not in TITLE_MODES:
        raise PublicQAError(f"title mode must be one of {', '.join(TITLE_MODES)}, got {title_mode!r}")
    first = {"neutral": NEUTRAL_TITLE, "article": p.title, "none": ""}[title_mode]
    return f"{first}\n{p.context}\n" if first else f"{p.context}\n"


def write_corpus(dataset: OpenDomainSet, folder: Path, title_mode: str = "none") -> list[Path]:
    """One UTF-8 .txt file per kept paragraph in `folder` (created; other .txt files there are removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.txt"):
        old.unlink()
    paths = []
    for p in dataset.kept:
        path = folder / f"{p.doc_name}.txt"
        path.write_text(document_text(p, title_mode), encoding="utf-8")
        paths.append(path)
    return paths


def corpus_key(path: Path, withhold: float, seed: int, title_mode: str, build: dict[str, Any]) -> str:
    """A short hash naming one built corpus: the file's bytes, the withholding, the first line, the build settings."""
    h = hashlib.sha256(Path(path).read_bytes())
    h.update(json.dumps({"withhold": withhold, "seed": seed, "title": title_mode, **build}, sort_keys=True).encode())
    return h.hexdigest()[:16]


def write_items(items: list[EvalItem], path: Path) -> None:
    """The items as a dev-set JSONL (eval.dataset's format), so a run can be repeated with --dataset."""
    with path.open("w", encoding="utf-8") as f:
        for i in items:
            row = {"id": i.id, "question": i.question, "answers": i.answers, "evidence": i.evidence, "type": i.type}
            f.write(json.dumps(row | i.extra, ensure_ascii=False) + "\n")
