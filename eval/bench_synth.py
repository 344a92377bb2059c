"""Synthetic corpora for the growth benchmark: N chunks made by perturbing the shipped chunks, deterministically.

Each synthetic chunk i copies real chunk ``i % len(base)`` (round robin, so every real chunk is represented about
equally) and perturbs it with a per-chunk ``random.Random(seed, i)`` stream:

* digits are mapped through a random permutation of 0-9 (figures change, their shape — 12.42亿元, 1-7月 — stays);
* two of its sentences are swapped (when it has at least two);
* place and person names from the shipped reports are replaced by others of the same kind (a district by a
  district, a town by a town), consistently within the chunk.

The result keeps the real vocabulary, sentence lengths and number shapes, so the lexical arms see realistic
posting-list lengths and the dev-set questions still find plausible (perturbed) matches at every size.
The synthetic chunks belong to the real documents (a few Documents), so the document payload stays small.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Sequence
from dataclasses import replace

from ingest.models import Chunk, Document, GlossaryEntry, ParsedCorpus

log = logging.getLogger(__name__)

# Names that occur in the shipped reports, by kind (the suffix decides the kind of the substitute).
SOURCE_PLACES: tuple[str, ...] = (
    "青浦区", "浦东新区", "川沙新镇", "朱家角镇", "练塘镇", "金泽镇", "赵巷镇", "徐泾镇", "华新镇", "重固镇",
    "白鹤镇", "夏阳街道", "盈浦街道", "香花桥街道", "上海市",
)
SOURCE_PERSONS: tuple[str, ...] = ("朱明福", "朱要武", "王毅荣", "王金荣", "余旭峰", "张国兴", "宦勇")
TARGET_BY_SUFFIX: dict[str, tuple[str, ...]] = {
    "新区": ("临港新区", "滨江新区", "南汇新区", "东部新区"),
    "区": ("嘉定区", "松江区", "奉贤区", "金山区", "闵行区", "宝山区", "崇明区", "静安区", "徐汇区", "长宁区",
           "普陀区", "虹口区", "杨浦区", "黄浦区"),
    "镇": ("七宝镇", "泗泾镇", "南翔镇", "安亭镇", "枫泾镇", "亭林镇", "高桥镇", "惠南镇", "周浦镇", "罗店镇",
           "江桥镇", "马桥镇", "庄行镇", "新场镇"),
    "街道": ("虹桥街道", "曹家渡街道", "江宁路街道", "田林街道", "龙华街道", "天平街道"),
    "市": ("苏州市", "杭州市", "南京市", "宁波市", "无锡市"),
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌宇浩凯健俊峰"

_NAME_RE = re.compile("|".join(re.escape(n) for n in sorted(SOURCE_PLACES + SOURCE_PERSONS, key=len, reverse=True)))
_SENTENCE_RE = re.compile(r"[^。！？；\n]+[。！？；\n]?|\n")
_DIGITS = "0123456789"


def _suffix_kind(name: str) -> str | None:
    for suffix in ("新区", "街道", "区", "镇", "市"):  # longest suffixes first: 浦东新区 is a 新区, not a 区
        if name.endswith(suffix):
            return suffix
    return None


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2))))


def _substitute_names(text: str, rng: random.Random, mapping: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        src = m.group(0)
        if src not in mapping:
            kind = _suffix_kind(src) if src in SOURCE_PLACES else None
            mapping[src] = rng.choice(TARGET_BY_SUFFIX[kind]) if kind else _person_name(rng)
        return mapping[src]

    return _NAME_RE.sub(sub, text)


def _swap_sentences(text: str, rng: random.Random) -> str:
    parts = _SENTENCE_RE.findall(text)
    idx = [i for i, p in enumerate(parts) if p.strip()]
    if len(idx) < 2:
        return text
    a, b = rng.sample(idx, 2)
    parts[a], parts[b] = parts[b], parts[a]
    return "".join(parts)


def perturb_text(text: str, rng: random.Random, mapping: dict[str, str] | None = None) -> str:
    """One synthetic variant of `text` (see the module docstring); `mapping` keeps name substitutions consistent."""
    mapping = {} if mapping is None else mapping
    digits = list(_DIGITS)
    rng.shuffle(digits)
    text = text.translate(str.maketrans(_DIGITS, "".join(digits)))
    text = _swap_sentences(text, rng)
    return _substitute_names(text, rng, mapping)


def synthetic_chunks(base: Sequence[Chunk], n: int, seed: int = 0) -> list[Chunk]:
    """`n` perturbed copies of the `base` chunks, ids ``syn-0000000``…, deterministic for (base, n, seed)."""
    if not base:
        raise ValueError("synthetic_chunks: no base chunks to vary")
    out: list[Chunk] = []
    for i in range(n):
        src = base[i % len(base)]
        rng = random.Random(seed * 1_000_003 + i)  # one stream per chunk: chunk i is the same for every n
        mapping: dict[str, str] = {}
        out.append(
            replace(
                src,
                id=f"syn-{i:07d}",
                text=perturb_text(src.text, rng, mapping),
                heading_path=[_substitute_names(h, rng, mapping) for h in src.heading_path],
                # links to neighbours, parent tables and sections would point at real chunks: drop them
                prev_id=None,
                next_id=None,
                parent_id=None,
                section_id=None,
            )
        )
    return out


def synthetic_corpus(
    base: Sequence[Chunk],
    documents: Sequence[Document],
    n: int,
    seed: int = 0,
    glossary: Sequence[GlossaryEntry] = (),
) -> ParsedCorpus:
    """A ParsedCorpus of `n` synthetic chunks that belong to the given (real) documents; no files, no sections."""
    chunks = synthetic_chunks(base, n, seed)
    log.info("synthetic corpus: %d chunks from %d base chunks (seed %d)", n, len(base), seed)
    return ParsedCorpus(
        documents=list(documents),
        sections=[],
        chunks=chunks,
        glossary=[replace(g, chunk_id=None) for g in glossary],
        files=[],
    )
