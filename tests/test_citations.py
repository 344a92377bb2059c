"""Citation parsing and verification (qa_service/citations.py) on hand-made passages, plus rendering."""

from __future__ import annotations

import pytest

from ingest.models import Chunk
from ingest.tokenize import Tokenizer
from ingest.zh import bare_numbers
from qa_service.citations import _context, best_quote, parse_marked_text, verify
from qa_service.claims import Claim, DraftAnswer, render
from qa_service.config import Settings

FINANCE = Chunk(
    id="p-fin", doc_id="d1", doc_title="川沙新镇2020年1-7月工作情况", heading_path=["川沙新镇2020年1-7月工作情况", "一、经济运行"],
    kind="text", start=0, end=0,
    text="今年以来，全镇经济运行总体平稳。1-7月，财政总收入12.42亿元，同比下降13.2%，一般公共预算收入3.23亿元。招商引资持续推进。",
)
COURT = Chunk(
    id="p-court", doc_id="d2", doc_title="青浦区人民法院2020年上半年工作报告", heading_path=["青浦区人民法院2020年上半年工作报告", "一、审判执行"],
    kind="text", start=0, end=0,
    text="上半年，共受理各类案件15234件，审结13876件，结案率91.1%。",
)
SIXES = Chunk(
    id="p-six", doc_id="d1", doc_title="川沙新镇2020年1-7月工作情况", heading_path=["川沙新镇2020年1-7月工作情况", "名词解释"],
    kind="definition", start=0, end=0,
    text="六保：保居民就业、保基本民生、保市场主体、保粮食能源安全、保产业链供应链稳定、保基层运转。",
)
PASSAGES = [COURT, FINANCE, SIXES]
MIN_SUPPORT = Settings().citation_min_support


@pytest.fixture(scope="module")
def tokenize():
    return Tokenizer().tokenize


def test_parse_markers_in_many_forms():
    claims = parse_marked_text("财政总收入12.42亿元[2]。受理案件15234件【1】。六保含保居民就业[1, 3]。结案率91.1%[1-2]", PASSAGES)
    assert [c.text for c in claims] == ["财政总收入12.42亿元。", "受理案件15234件。", "六保含保居民就业。", "结案率91.1%"]
    assert [[s.id for s in c.sources] for c in claims] == [["p-fin"], ["p-court"], ["p-court", "p-six"], ["p-court", "p-fin"]]


def test_marker_to_no_passage_is_dropped_from_text_and_sources():
    claims = parse_marked_text("财政总收入12.42亿元[9]。受理案件15234件[0][1]。", PASSAGES)
    assert claims[0].text == "财政总收入12.42亿元。" and claims[0].sources == []
    assert [s.id for s in claims[1].sources] == ["p-court"]
    assert all("[" not in c.text for c in claims)


def test_marker_after_the_stop_belongs_to_the_sentence_before():
    claims = parse_marked_text("财政总收入12.42亿元。[2]同比下降13.2%。\n[2]", PASSAGES)
    assert [c.text for c in claims] == ["财政总收入12.42亿元。", "同比下降13.2%。"]
    assert all([s.id for s in c.sources] == ["p-fin"] for c in claims)


def test_best_quote_is_a_narrow_exact_substring():
    quote = best_quote("川沙新镇1-7月财政总收入为12.42亿元", FINANCE.text)
    assert quote in FINANCE.text
    assert quote == "1-7月，财政总收入12.42亿元"
    # Without figures the best sentence is kept whole.
    assert best_quote("全镇经济运行总体平稳", FINANCE.text) == "今年以来，全镇经济运行总体平稳。"


def test_verify_keeps_recites_and_reports(tokenize):
    draft = DraftAnswer(claims=parse_marked_text(
        "川沙新镇1-7月财政总收入12.42亿元[2]。"  # right
        "财政总收入同比下降13.2%[1]。"  # wrong passage: 13.2 is only in FINANCE -> re-cited
        "全年财政总收入预计98.76亿元[2]。",  # 98.76 is nowhere -> unsupported
        PASSAGES,
    ))
    out = verify(draft, PASSAGES, tokenize, MIN_SUPPORT)
    assert [[s.id for s in c.sources] for c in out.claims] == [["p-fin"], ["p-fin"], []]
    assert out.unsupported == ["全年财政总收入预计98.76亿元。"]
    for claim in out.claims:
        for chunk, quote in zip(claim.sources, claim.quotes):
            assert quote and quote in chunk.text
    # One passage, one rendered quote: it covers both sentences that cite it.
    text, cites = render(out, {})
    assert [c.n for c in cites] == [1]
    assert "12.42" in cites[0].quote and "13.2" in cites[0].quote and cites[0].quote in FINANCE.text
    assert text.count("[1]") == 2 and "98.76" in text


def test_verify_uses_the_document_title_as_context(tokenize):
    # `2020年` is only in the title of the court report: the sentence is still supported by it.
    draft = DraftAnswer(claims=[Claim("2020年上半年青浦区人民法院受理案件15234件", [COURT], [""])])
    out = verify(draft, PASSAGES, tokenize, MIN_SUPPORT)
    assert [s.id for s in out.claims[0].sources] == ["p-court"] and not out.unsupported
    assert out.claims[0].quotes[0] in COURT.text and "15234" in out.claims[0].quotes[0]


def test_recite_prefers_the_higher_ranked_passage_on_a_tie(tokenize):
    twin = Chunk(**{**FINANCE.to_dict(), "id": "p-fin-2"})
    draft = DraftAnswer(claims=[Claim("财政总收入12.42亿元", [], [])])
    out = verify(draft, [COURT, FINANCE, twin], tokenize, MIN_SUPPORT)
    assert [s.id for s in out.claims[0].sources] == ["p-fin"]


def test_render_numbers_in_order_of_first_use(tokenize):
    draft = DraftAnswer(claims=parse_marked_text("六保含保居民就业[3]。受理案件15234件[1]。财政总收入12.42亿元[2][3]。", PASSAGES))
    out = verify(draft, PASSAGES, tokenize, MIN_SUPPORT)
    text, cites = render(out, {})
    assert [(c.n, c.chunk.id) for c in cites] == [(1, "p-six"), (2, "p-court"), (3, "p-fin")]
    assert text.index("[1]") < text.index("[2]") < text.index("[3]")


def test_abstained_draft_passes_through(tokenize):
    draft = DraftAnswer(claims=[], abstained=True, abstain_text="资料中未找到相关信息。")
    assert verify(draft, PASSAGES, tokenize, MIN_SUPPORT) is draft
    assert render(draft, {}) == ("资料中未找到相关信息。", [])


def test_a_title_ending_in_a_digit_does_not_run_into_the_passage_figures():
    # A plain document named `DRCD_test-p0002` whose text opens with `19世纪`: the evidence holds 19, not 000219.
    chunk = Chunk(id="p2.t1", doc_id="p2", doc_title="DRCD_test-p0002", heading_path=["DRCD_test-p0002"],
                  kind="text", text="19世纪时，该城人口约20万。", start=0, end=15)
    assert {"19", "20"} <= set(bare_numbers(_context(chunk)))
    assert "000219" not in bare_numbers(_context(chunk))
