"""An answer as a list of claims, each with the passages that support it; rendered with [n] markers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.models import Chunk
from ingest.zh.answer import CLAIM_END_PUNCT
from ingest.zh.comparison import Asked
from ingest.zh.text import COUNTED_LABEL_RE
from ingest.zh.time import YEAR_OR_DATE_RE

from .messages import ANSWER_END, CLAIM_SEPARATOR, UNSUPPORTED_MARK, agreement, computed_clause, computed_winner


def display_quote(quote: str) -> str:
    """Quotes shown in an answer: table tabs become spaces, line breaks are joined, and the Markdown
    bold of the gazette's glossary (`**“四早”**：…`) is dropped; the citation keeps the exact quote.
    A wrapped line joins the next with nothing; a line of a roll (a counted label, names split by tabs) and a
    date line of its own keep a space, so `请假：6 人` and `沈伯明 …`, `华琼` ending one line and `庄惠元` starting
    the next, or a signer and the date under it (`王金荣` / `2020年6月29日`) stay apart."""
    lines = [line.strip() for line in quote.replace("**", "").split("\n")]
    lines = [line for line in lines if line]
    shown = ""
    for i, line in enumerate(lines):
        if i:
            before = lines[i - 1]
            apart = "\t" in before or "\t" in line or COUNTED_LABEL_RE.search(before) or YEAR_OR_DATE_RE.fullmatch(line)
            shown += " " if apart else ""
        shown += line
    return re.sub(r"\t+", " ", shown).strip()


@dataclass(frozen=True)
class Verdict:
    """What a computed clause says of its two figures when the question asks which one (`哪个更多`) or whether they
    agree (`一样吗`); the verifier re-judges it from the operands (citations.computation_holds)."""

    asked: Asked
    names: tuple[str, str] = ("", "")  # the two mentions in the question's words
    signs: tuple[int, int] = (1, 1)  # change figures: -1 for a decline as its clause writes it (`同比下降17.7%`)
    winner: int | None = None  # which: the figure named
    agree: bool | None = None  # agree: whether the two state one quantity


def verdict_text(v: Verdict) -> str:
    """`上半年青浦检察院向法院提起公诉的案件数更多` / `两者一致` / `两者不一致`."""
    if v.asked.kind == "which":
        return computed_winner(v.names[v.winner or 0], v.asked.wording)
    return agreement(bool(v.agree))


@dataclass(frozen=True)
class Computation:
    """A figure computed from two cited figures: `op` ("difference" | "ratio" | "sum") of `operands`
    (bare values as the passages write them) gives `result` (ratio: a percentage)."""

    op: str
    operands: tuple[str, str]
    result: str
    scale: str = "1"  # takes the second operand into the first one's unit (万元 -> 亿元: 0.0001)
    verdict: Verdict | None = None  # which one, or whether they agree; `result` may then be "" (nothing computed)


@dataclass
class Claim:
    """One sentence of an answer and the passages it cites (with the exact quote from each)."""

    text: str
    sources: list[Chunk] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    prefix: str = ""  # e.g. "《青浦区人民法院2020年上半年工作报告》：" when documents disagree
    # Set on a computed clause: its sources are the passages of its operands, and it is rendered as
    # `（据[1][2]计算：…）` after the claim before it.
    computed: Computation | None = None
    flagged: bool = False  # a generated sentence the citation check could not support, kept with a mark


@dataclass
class DraftAnswer:
    claims: list[Claim]
    abstained: bool = False
    abstain_text: str = ""
    unsupported: list[str] = field(default_factory=list)
    # The answerability model's P(wrong or unanswerable) and, when it abstained, the evidence that weighed
    # most (qa_service.ranked); None from answerers without the model.
    abstain_probability: float | None = None
    abstain_reason: str | None = None


@dataclass
class RenderedCitation:
    n: int
    chunk: Chunk
    quote: str
    score: float


def render(draft: DraftAnswer, scores: dict[str, float]) -> tuple[str, list[RenderedCitation]]:
    """Join claims into the answer text; number citations in order of first use."""
    if draft.abstained:
        return draft.abstain_text, []
    numbers: dict[str, int] = {}
    citations: list[RenderedCitation] = []
    parts: list[str] = []
    for claim in draft.claims:
        markers = []
        for chunk, quote in zip(claim.sources, claim.quotes):
            if chunk.id not in numbers:
                numbers[chunk.id] = len(numbers) + 1
                citations.append(RenderedCitation(numbers[chunk.id], chunk, quote, scores.get(chunk.id, 0.0)))
            marker = f"[{numbers[chunk.id]}]"
            if marker not in markers:
                markers.append(marker)
        body = claim.text.rstrip(CLAIM_END_PUNCT)
        if claim.computed is not None and parts:
            parts[-1] += computed_clause("".join(markers), body)
            continue
        parts.append(f"{claim.prefix}{body}{''.join(markers)}{UNSUPPORTED_MARK if claim.flagged else ''}")
    text = CLAIM_SEPARATOR.join(parts)
    return (text + ANSWER_END) if text else text, citations
