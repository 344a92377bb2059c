"""Checks on the hand-written evaluation dev set `eval/datasets/reports_dev.jsonl`.

The dev set is the ground truth for evaluating the service, so every item must be
well-formed and every evidence quote must really occur in the shipped corpus.
Quotes and answers are compared after deleting all whitespace (the corpus has
tabs in tables and stray spaces inside numbers such as `207.19 亿元`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "eval" / "datasets" / "reports_dev.jsonl"
REPORTS = ROOT / "ingest" / "data" / "reports"

TYPES = {
    "numeric",
    "table",
    "definition",
    "entity",
    "list",
    "paraphrase",
    "multi_hop",
    "comparison",
    "unanswerable",
}
SPLITS = {"tune", "report"}
FIELDS = {
    "id": str,
    "question": str,
    "answers": list,
    "evidence": list,
    "type": str,
    "derivation": str,
    "split": str,
}
MIN_ITEMS = 200

_WS = re.compile(r"\s+")
# docx footnote markup in the town report: a reference `[footnoteRef:3]` and a definition opener `[3: 、`
_FOOTNOTE_MARKUP = re.compile(r"footnoteRef|\[\d+:")
# running page headers that leak into the gazette's tables
_PAGE_FURNITURE = ("上海市青浦区人民代表大会常务委员会公报", "2020年公报第四号")


def squash(text: str) -> str:
    """Delete all whitespace, the normal form in which quotes and answers are compared."""
    return _WS.sub("", text)


def _load_items() -> list[dict]:
    items = []
    for lineno, line in enumerate(DATASET.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"line {lineno} is blank"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - reported by the assertion
            pytest.fail(f"line {lineno} does not parse as JSON: {exc}")
        assert isinstance(item, dict), f"line {lineno} is not a JSON object"
        items.append(item)
    return items


@pytest.fixture(scope="module")
def items() -> list[dict]:
    assert DATASET.is_file(), f"missing {DATASET}"
    return _load_items()


@pytest.fixture(scope="module")
def corpus_lines() -> list[str]:
    files = sorted(REPORTS.glob("*.txt"))
    assert files, f"no corpus files under {REPORTS}"
    return [squash(line) for f in files for line in f.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def corpus(corpus_lines) -> str:
    return "\n".join(corpus_lines)


def test_every_line_parses_with_required_fields(items):
    for item in items:
        ident = item.get("id", item)
        for field, kind in FIELDS.items():
            assert field in item, f"{ident}: missing field {field!r}"
            assert isinstance(item[field], kind), f"{ident}: {field!r} should be {kind.__name__}"
        assert item["question"].strip(), f"{ident}: empty question"
        for value in item["answers"] + item["evidence"]:
            assert isinstance(value, str) and value.strip(), f"{ident}: answers/evidence must be non-empty strings"


def test_ids_are_unique(items):
    counts = Counter(item["id"] for item in items)
    duplicated = sorted(i for i, n in counts.items() if n > 1)
    assert not duplicated, f"duplicate ids: {duplicated}"


def test_types_and_splits_are_allowed(items):
    bad_types = sorted({item["type"] for item in items} - TYPES)
    bad_splits = sorted({item["split"] for item in items} - SPLITS)
    assert not bad_types, f"unknown types: {bad_types}"
    assert not bad_splits, f"unknown splits: {bad_splits}"


def test_size(items):
    assert len(items) >= MIN_ITEMS, f"only {len(items)} items, need at least {MIN_ITEMS}"


def test_unanswerable_share_and_shape(items):
    unanswerable = [item for item in items if item["type"] == "unanswerable"]
    assert len(unanswerable) >= 0.10 * len(items), f"only {len(unanswerable)} unanswerable items"
    for item in unanswerable:
        assert item["evidence"] == [], f"{item['id']}: unanswerable item must have empty evidence"
        assert item["answers"] == [], f"{item['id']}: unanswerable item must have no answers"


def test_answerable_items_have_answers_and_evidence(items):
    for item in items:
        if item["type"] == "unanswerable":
            continue
        assert item["answers"], f"{item['id']}: answerable item without answers"
        assert item["evidence"], f"{item['id']}: answerable item without evidence"


def test_paraphrase_share(items):
    paraphrase = [item for item in items if item["type"] == "paraphrase"]
    assert len(paraphrase) >= 0.10 * len(items), f"only {len(paraphrase)} paraphrase items"


def test_every_evidence_quote_is_in_the_corpus(items, corpus):
    missing = [
        (item["id"], quote)
        for item in items
        for quote in item["evidence"]
        if squash(quote) not in corpus
    ]
    assert not missing, f"quotes not found in the corpus: {missing}"


def test_evidence_quotes_are_clean_single_line_passages(items, corpus_lines):
    problems = []
    for item in items:
        for quote in item["evidence"]:
            q = squash(quote)
            if _FOOTNOTE_MARKUP.search(q):
                problems.append((item["id"], "footnote markup", quote))
            if any(squash(furniture) in q for furniture in _PAGE_FURNITURE):
                problems.append((item["id"], "page header", quote))
            if not any(q in line for line in corpus_lines):
                problems.append((item["id"], "spans more than one line", quote))
    assert not problems, f"bad evidence quotes: {problems}"


def test_answers_occur_in_evidence_unless_derived(items):
    missing = []
    for item in items:
        if item["type"] == "unanswerable" or item["derivation"].strip():
            continue
        quotes = [squash(q) for q in item["evidence"]]
        if not any(squash(answer) in quote for answer in item["answers"] for quote in quotes):
            missing.append((item["id"], item["answers"]))
    assert not missing, f"answers not found in their evidence (and no derivation given): {missing}"


def test_both_splits_cover_every_type(items):
    by_split = {split: {item["type"] for item in items if item["split"] == split} for split in SPLITS}
    for split, covered in by_split.items():
        assert covered == TYPES, f"split {split!r} lacks types {sorted(TYPES - covered)}"


def test_splits_are_roughly_balanced_per_type(items):
    counts = Counter((item["type"], item["split"]) for item in items)
    for kind in TYPES:
        tune, report = counts[(kind, "tune")], counts[(kind, "report")]
        assert abs(tune - report) <= max(2, (tune + report) // 5), f"{kind}: tune={tune} report={report}"
