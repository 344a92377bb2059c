"""The `best-sentence` baseline: its sentence choice on hand-made passages, and the system over a tiny real index
answered through reportqa's own pipeline objects."""

from __future__ import annotations

import dataclasses
import re

import pytest

from eval.baselines import BASELINES, build_baseline
from eval.best_sentence import BestSentenceAnswerer, best_sentence
from ingest.models import Chunk
from ingest.zh import char_bigrams, split_sentences
from qa_service.config import Settings
from qa_service.llm import LLMSession
from qa_service.pipeline import AnswerPipeline
from qa_service.schemas import Turn
from qa_service.service import QAService
from tiny_index import build_tiny_index


def _chunk(cid: str, text: str) -> Chunk:
    return Chunk(id=cid, doc_id="d", doc_title="报告", heading_path=["报告"], kind="text", text=text, start=0, end=len(text))


QUESTION = "上半年财政总收入是多少？"
P1 = _chunk("p1", "上半年经济平稳运行。全镇财政总收入12.42亿元，同比下降13.2%。")
P2 = _chunk("p2", "上半年财政总收入完成12.42亿元。新增就业岗位8452个。")
P3 = _chunk("p3", "财政支出保持稳定。")
P4 = _chunk("p4", "上半年财政总收入是多少？答案在这里。")  # a 4th passage: beyond the top 3 the baseline reads


def _shared(sentence: str) -> int:
    return len(char_bigrams(QUESTION) & char_bigrams(sentence))


def test_best_sentence_has_the_most_shared_bigrams():
    chunk, sentence = best_sentence(QUESTION, [P1, P2, P3])
    assert (chunk.id, sentence) == ("p2", "上半年财政总收入完成12.42亿元。")
    every = [s for p in (P1, P2, P3) for s in split_sentences(p.text)]
    assert _shared(sentence) == max(_shared(s) for s in every)
    assert _shared(sentence) > _shared("全镇财政总收入12.42亿元，同比下降13.2%。")


def test_best_sentence_ties_go_to_the_earlier_passage_then_the_earlier_sentence():
    twin = _chunk("p0", "上半年财政总收入完成12.42亿元。上半年财政总收入完成12.42亿元；")
    chunk, sentence = best_sentence(QUESTION, [twin, P2])
    assert chunk.id == "p0" and sentence.endswith("。")  # the first sentence of the first passage
    assert best_sentence(QUESTION, [P2, twin])[0].id == "p2"
    assert best_sentence(QUESTION, []) is None


def test_the_answerer_reads_only_the_top_passages():
    assert best_sentence(QUESTION, [P1, P2, P3, P4])[0].id == "p4"  # P4 would win if it were read...
    context = type("Ctx", (), {})()
    context.analysis = type("A", (), {"text": QUESTION, "question": None})()
    context.passages = [P1, P2, P3, P4]
    draft = BestSentenceAnswerer().answer(context)  # ...but the answerer reads the top 3 only
    assert not draft.abstained
    (claim,) = draft.claims
    assert claim.sources == [P2] and claim.quotes == [claim.text] == ["上半年财政总收入完成12.42亿元。"]


# -- the system over a real (tiny) index ------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> QAService:
    index_dir = build_tiny_index(tmp_path_factory.mktemp("tiny") / "ix")
    svc = QAService(Settings(index=index_dir))
    svc.loaded()
    return svc


def test_best_sentence_is_a_baseline_that_swaps_retriever_and_answerers_only(service):
    assert "best-sentence" in BASELINES
    live = service.pipeline()
    live_config = dataclasses.asdict(service.loaded().retriever.config)
    system = build_baseline("best-sentence", service, top_k=5)
    ours: AnswerPipeline = system.pipeline
    for f in dataclasses.fields(AnswerPipeline):
        if f.name not in ("retriever", "answerers"):
            assert getattr(ours, f.name) is getattr(live, f.name), f.name  # the same verifier, analyzer, condenser...
    assert [type(a) for a in ours.answerers] == [BestSentenceAnswerer]
    assert dict(ours.retriever.config.weights) == {"word": 1.0, "char": 0.0, "dense": 0.0}
    assert not ours.retriever.config.use_scope and not ours.retriever.config.use_boosts
    assert dataclasses.asdict(service.loaded().retriever.config) == live_config  # the live config is untouched
    assert system.context_k(10) == 3 and system.describe()["system"] == "best-sentence"


@pytest.mark.parametrize("question", ["全院共受理各类案件多少件？", "川沙新镇上半年财政总收入是多少？", "青浦区的财政总收入是多少？"])
def test_best_sentence_answers_whole_cited_sentences_and_never_abstains(service, question):
    system = build_baseline("best-sentence", service, top_k=5)
    ans = system.answer(question, top_k=5, mode="extractive")
    assert not ans.abstained  # the last one is not answered by the reports: the baseline answers anyway
    top3 = ans.retrieved[:3]
    sentences = [(r.passage_id, s.strip()) for r in top3 for s in split_sentences(r.text) if s.strip()]
    best = max(len(char_bigrams(question) & char_bigrams(s)) for _, s in sentences)
    (cited,) = ans.citations
    assert (cited.passage_id, cited.quote) in sentences
    assert len(char_bigrams(question) & char_bigrams(cited.quote)) == best
    assert ans.answer == cited.quote.rstrip("。；;，, ") + "[1]。"  # rendered by reportqa's renderer, cited whole
    assert re.search(r"\[1\]", ans.answer)


def test_follow_ups_are_asked_with_their_history(service):
    """The eval systems hand a dataset item's history to the pipeline: the follow-up is answered as reportqa's
    condenser makes it standalone, not as the bare fragment."""
    system = build_baseline("best-sentence", service, top_k=5)
    history = [{"role": "user", "content": "青浦区人民法院全院共受理各类案件多少件？"}, {"role": "assistant", "content": "一万余件。"}]
    turns = [Turn(**t) for t in history]
    standalone = system.pipeline.condenser.condense("审结率呢？", turns, LLMSession(None, wanted=False))
    assert standalone != "审结率呢？" and "审结率" in standalone
    followup = system.answer("审结率呢？", top_k=5, mode="extractive", history=history)
    alone = system.answer(standalone, top_k=5, mode="extractive")
    assert (followup.answer, [r.passage_id for r in followup.retrieved]) == (alone.answer, [r.passage_id for r in alone.retrieved])
    assert "审结率" in followup.answer
