"""The answer pipeline (qa_service/pipeline.py) and its steps, on a two-report corpus held in memory.

No index is built: a small stand-in gives the Retriever the ranking API it calls (word and character
overlap instead of BM25), so the query analysis, the answerers, the fallback field and the claim that a
baseline differs from reportqa only in its retriever are tested in well under a second each.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from eval.baselines import ablated, bm25_only
from eval.systems import ChunkRankingSystem, RankerRetriever, ReportQASystem
from ingest.lookups import ChunkLookups, DocumentMentions
from ingest.models import Chunk, Document
from ingest.tokenize import Tokenizer
from ingest.zh import match_key
from qa_service.analysis import QueryAnalyzer
from qa_service.answerers import AnswerContext, DocumentDateAnswerer, LLMAnswerer, ReporterAnswerer
from qa_service.claims import Claim, DraftAnswer
from qa_service.config import ExtractiveConfig, RetrieverConfig, Settings
from qa_service.extractive import ExtractiveAnswerer
from qa_service.llm import LLMSession, LLMUnavailable
from qa_service.pipeline import AnswerPipeline, PipelineRequest, build_pipeline, fuse_queries
from qa_service.retriever import RetrievalQuery, RetrievalResult, RetrievedPassage, Retriever
from qa_service.scope import ScopeDetector

TOWN = "川沙新镇人民政府关于2020年1-7月工作情况的报告"
COURT = "青浦区人民法院2020年上半年工作报告"
DOCS = {
    "d1": Document(doc_id="d1", title=TOWN, source_file="town.txt", reporter="镇长 张三", date="2020年8月18日",
                   text=f"{TOWN}\n──2020年8月18日在川沙新镇人民代表大会上\n镇长 张三\n1-7月，财政总收入12.42亿元，同比下降13.2%。"),
    "d2": Document(doc_id="d2", title=COURT, source_file="court.txt", reporter="院长 李四",
                   text=f"{COURT}\n院长 李四\n上半年，共受理各类案件15234件，审结13876件，结案率91.1%。"),
}


def _chunk(cid: str, doc: str, text: str, start: int) -> Chunk:
    title = DOCS[doc].title
    return Chunk(id=cid, doc_id=doc, doc_title=title, heading_path=[title], kind="text", text=text, start=start, end=start + len(text))


OPENING = _chunk("t-0", "d1", f"{TOWN}\n──2020年8月18日在川沙新镇人民代表大会上\n镇长 张三", 0)
FINANCE = _chunk("t-1", "d1", "1-7月，财政总收入12.42亿元，同比下降13.2%。", 60)
COURT_OPENING = _chunk("c-0", "d2", f"{COURT}\n院长 李四", 0)
CASES = _chunk("c-1", "d2", "上半年，共受理各类案件15234件，审结13876件，结案率91.1%。", 30)
CHUNKS = [OPENING, FINANCE, COURT_OPENING, CASES]
FIGURE_QUESTION = "川沙新镇1-7月财政总收入是多少？"


class OverlapIndex:
    """The part of IndexReader the Retriever and the scope detector call, ranking by shared word / character
    tokens; the lookups are the reader's own (ingest.lookups)."""

    arms = ("word", "char")
    manifest = {"build_id": "in-memory"}

    def __init__(self, chunks: list[Chunk], tokenizer: Tokenizer):
        self.chunks, self.tokenizer, self.documents = chunks, tokenizer, DOCS
        self.glossary: list = []
        self.mentions = DocumentMentions(DOCS.values())
        self._lookups = ChunkLookups(chunks)
        self._words = [set(tokenizer.tokenize(c.text)) for c in chunks]
        self._chars = [set(tokenizer.char_tokens(c.text)) for c in chunks]

    def first_chunk(self, doc_id: str) -> Chunk | None:
        return self._lookups.first_chunk.get(doc_id)

    def heading_mask(self, prefix: str) -> np.ndarray:
        return self._lookups.heading_mask(prefix)

    def rank_word(self, tokens, depth, mask=None):
        return self._rank(self._words, tokens, depth, mask)

    def rank_char(self, tokens, depth, mask=None):
        return self._rank(self._chars, tokens, depth, mask)

    def _rank(self, sets, tokens, depth, mask):
        scores = np.array([len(s & set(tokens)) for s in sets], dtype=float)
        if mask is not None:
            scores[~mask] = 0
        return [int(i) for i in np.argsort(-scores, kind="stable")[:depth] if scores[i] > 0]


class FakeLLM:
    """LLMClient's three calls, scripted; every call is recorded."""

    model = "fake"

    def __init__(self, answer: str = "", fail_on: str | None = None):
        self.reply, self.fail_on, self.calls = answer, fail_on, []

    def _call(self, name: str, result):
        self.calls.append(name)
        if name == self.fail_on:
            raise LLMUnavailable("llm_error")
        return result

    def rewrite(self, question):
        return self._call("rewrite", [question])

    def condense(self, question, history):
        return self._call("condense", question)

    def answer(self, question, passages):
        return self._call("answer", self.reply)


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="module")
def index(tokenizer) -> OverlapIndex:
    return OverlapIndex(CHUNKS, tokenizer)


def _place_docs(place: str) -> set[str]:
    return {d.doc_id for d in DOCS.values() if match_key(place) in match_key(d.text)}


def _scope_detector(settings: Settings) -> ScopeDetector:
    return ScopeDetector.for_index(SimpleNamespace(documents=DOCS, mentions=DocumentMentions(DOCS.values())), settings.scope_config())


# Two documents give little scope evidence: the minimum is lowered as a setting, never in the component.
SMALL_CORPUS = Settings(scope_min_score=2.0)


def _pipeline(index: OverlapIndex, settings: Settings = SMALL_CORPUS, llm=None) -> AnswerPipeline:
    return build_pipeline(
        settings,
        retriever=Retriever(index, settings.retriever_config()),
        tokenize=index.tokenizer.tokenize,
        scope_detector=_scope_detector(settings),
        documents=DOCS,
        place_docs=_place_docs,
        llm=llm,
    )


def _context(pipeline: AnswerPipeline, question: str, llm: LLMSession | None = None) -> AnswerContext:
    analysis = pipeline.analyzer.analyze(question)
    retrieved = pipeline.retriever.retrieve(RetrievalQuery(query=question, top_k=10), analysis)
    top = [p.chunk for p in retrieved.passages[:5]]
    return AnswerContext(analysis, top, retrieved, pipeline.retriever, llm or LLMSession(None, wanted=False))


# -- QueryAnalysis ------------------------------------------------------------------------------------------


def test_query_analysis_holds_intent_figures_places_and_scope(tokenizer):
    analyzer = QueryAnalyzer(tokenizer.tokenize, None, _scope_detector(SMALL_CORPUS))
    a = analyzer.analyze(FIGURE_QUESTION)
    assert a.text == FIGURE_QUESTION
    assert a.question.wants_figure and not a.question.wants_reporter
    assert a.question.places == ["川沙新镇"]
    assert a.question.time_scopes == ["1-7月"] and a.cues.times == frozenset({"1-7月"})
    assert a.cues.numbers == ()  # single digits are not figures worth a boost
    assert a.scope.doc_ids == ["d1"]


def test_query_analysis_has_no_scope_when_the_request_names_documents(tokenizer):
    analyzer = QueryAnalyzer(tokenizer.tokenize, None, _scope_detector(SMALL_CORPUS))
    assert analyzer.analyze(FIGURE_QUESTION, doc_ids=["d2"]).scope.doc_ids == []
    assert QueryAnalyzer(tokenizer.tokenize, None, None).analyze(FIGURE_QUESTION).scope.doc_ids == []


def test_retrieval_cues_keep_the_retrievers_own_patterns(tokenizer):
    a = QueryAnalyzer(tokenizer.tokenize, None, None).analyze("今年上半年受理案件15234件吗？")
    assert "今年" in a.question.time_scopes and "今年" not in a.cues.times
    assert a.cues.numbers == ("15234",)


# -- answerers: each answers or passes ---------------------------------------------------------------------


def test_llm_answerer_passes_unless_the_session_is_live(index):
    pipeline = _pipeline(index)
    assert LLMAnswerer().answer(_context(pipeline, FIGURE_QUESTION)) is None
    session = LLMSession(None, wanted=True)
    assert LLMAnswerer().answer(_context(pipeline, FIGURE_QUESTION, session)) is None
    assert session.fallback == "llm_not_configured"


def test_llm_answerer_answers_with_markers_or_abstains(index):
    pipeline = _pipeline(index)
    ctx = _context(pipeline, FIGURE_QUESTION, LLMSession(FakeLLM("财政总收入12.42亿元[1]。"), wanted=True))
    draft = LLMAnswerer().answer(ctx)
    assert [c.text for c in draft.claims] == ["财政总收入12.42亿元。"]
    assert draft.claims[0].sources == [ctx.passages[0]]
    not_found = _context(pipeline, FIGURE_QUESTION, LLMSession(FakeLLM("资料中未找到相关信息。"), wanted=True))
    assert LLMAnswerer().answer(not_found).abstained


def test_reporter_answerer_answers_only_reporter_questions(index):
    pipeline = _pipeline(index)
    answerer = ReporterAnswerer(DOCS)
    assert answerer.answer(_context(pipeline, FIGURE_QUESTION)) is None
    draft = answerer.answer(_context(pipeline, f"{TOWN}是由谁作的？"))
    assert [c.text for c in draft.claims] == ["镇长 张三"]
    assert draft.claims[0].sources == [OPENING] and draft.claims[0].quotes == ["镇长 张三"]


def test_reporter_answerer_reads_the_document_whose_header_the_question_names(index):
    pipeline = _pipeline(index)
    answerer = ReporterAnswerer(DOCS)
    # `作…报告的…是谁`: a reporter question; the header (meeting line, reporter's office) names the document
    town = answerer.answer(_context(pipeline, "在川沙新镇人民代表大会上作工作情况报告的镇长是谁？"))
    assert [c.text for c in town.claims] == ["镇长 张三"]
    court = answerer.answer(_context(pipeline, "青浦区人民法院作上半年工作报告的院长是谁？"))
    assert [c.text for c in court.claims] == ["院长 李四"] and court.claims[0].sources == [COURT_OPENING]


def test_header_answers_read_the_named_document_not_an_agenda_or_a_kind_of_report(tokenizer):
    from types import SimpleNamespace

    from qa_service.question import analyze

    def doc(doc_id: str, title: str, reporter: str | None, opening: str) -> tuple[Document, Chunk]:
        d = Document(doc_id=doc_id, title=title, source_file="g.txt", reporter=reporter, date="2020年7月15日", text=opening)
        return d, Chunk(id=f"{doc_id}-0", doc_id=doc_id, doc_title=title, heading_path=[title], kind="text", start=0,
                        end=len(opening), text=opening)

    agenda = doc("agenda", "第三十六次会议议题", None, "第三十六次会议议题\n（2020年7月15日第三十六次会议通过）\n听取区经委主任、区市场监管局局长履职情况的报告")
    econ = doc("econ", "履职报告", "青浦区经济委员会主任 朱要武", "履职报告\n——2020年7月15日在第三十六次会议上\n青浦区经济委员会主任 朱要武")
    market = doc("market", "履职报告", "区市场监管局局长 王毅荣", "履职报告\n——2020年7月15日在第三十六次会议上\n区市场监管局局长 王毅荣")
    docs = {d.doc_id: d for d, _ in (agenda, econ, market)}
    openings = {c.doc_id: c for _, c in (agenda, econ, market)}

    def ask(answerer, question: str):
        q = analyze(question, tokenizer.tokenize)
        ranked = [RetrievedPassage(chunk=openings[i], score=1.0) for i in ("agenda", "econ", "market")]
        ctx = SimpleNamespace(analysis=SimpleNamespace(question=q, scope=SimpleNamespace(doc_ids=[])),
                              retrieved=RetrievalResult(passages=ranked), corpus=SimpleNamespace(opening=openings.get))
        draft = answerer.answer(ctx)
        return None if draft is None else draft.claims[0].text

    reporter = ReporterAnswerer(docs)
    # the agenda ranks first and holds the question's words, but states no reporter; two reports share a title
    assert ask(reporter, "在第三十六次会议上作履职报告的区市场监管局局长是谁？") == "区市场监管局局长 王毅荣"
    assert ask(reporter, "在第三十六次会议上作履职报告的青浦区经济委员会主任是谁？") == "青浦区经济委员会主任 朱要武"
    # a document named by its whole title is the one asked about, even when its header states no reporter
    assert ask(reporter, "第三十六次会议议题是由谁作的？") is None
    assert ask(DocumentDateAnswerer(docs), "第三十六次会议议题是哪天通过的？") == "2020年7月15日"


def test_document_date_answerer_answers_with_the_header_date(index):
    pipeline = _pipeline(index)
    answerer = DocumentDateAnswerer(DOCS)
    draft = answerer.answer(_context(pipeline, f"{TOWN}是哪天作的？"))
    assert [c.text for c in draft.claims] == ["2020年8月18日"]
    assert draft.claims[0].sources == [OPENING] and draft.claims[0].quotes == ["──2020年8月18日在川沙新镇人民代表大会上"]
    # a date of something the report tells, or a figure, is not the document's date
    assert answerer.answer(_context(pipeline, "川沙新镇人民代表大会是什么时候召开的？")) is None
    assert answerer.answer(_context(pipeline, FIGURE_QUESTION)) is None
    # a document whose header states no date is not answered from
    assert answerer.answer(_context(pipeline, f"{COURT}是哪天作的？")) is None


def test_extractive_answerer_answers_or_abstains(index):
    pipeline = _pipeline(index)
    answerer = ExtractiveAnswerer(SMALL_CORPUS.extractive_config(), _place_docs)
    draft = answerer.answer(_context(pipeline, FIGURE_QUESTION))
    assert not draft.abstained and "12.42亿元" in draft.claims[0].text and draft.claims[0].sources == [FINANCE]
    assert answerer.answer(_context(pipeline, "全区新建了多少座桥梁？")).abstained


def test_extractive_place_filter_keeps_answers_in_the_named_place(index):
    pipeline = _pipeline(index)
    ctx = _context(pipeline, "嘉定区1-7月财政总收入是多少？")  # no report mentions 嘉定区
    assert ExtractiveAnswerer(SMALL_CORPUS.extractive_config(), _place_docs).answer(ctx).abstained
    assert not ExtractiveAnswerer(SMALL_CORPUS.extractive_config(), None).answer(ctx).abstained


# -- the pipeline -------------------------------------------------------------------------------------------


def test_run_answers_with_numbered_citations_and_search_ranks_alike(index):
    pipeline = _pipeline(index)
    result = pipeline.run(PipelineRequest(question=FIGURE_QUESTION, top_k=5))
    assert result.mode == "extractive" and result.fallback is None and not result.abstained
    assert result.answer == "1-7月，财政总收入12.42亿元，同比下降13.2%[1]。"
    assert [c.chunk for c in result.citations] == [FINANCE]
    searched = pipeline.search(RetrievalQuery(query=FIGURE_QUESTION, top_k=10))
    assert [p.chunk.id for p in searched.passages] == [p.chunk.id for p in result.retrieved.passages]


class _SearchingAnswerer:
    """Cites the first passage of one more retrieval (as the comparison answerer does for a mention)."""

    mode = "extractive"
    free_text = False

    def answer(self, ctx):
        found = ctx.search("青浦区人民法院院长", 1, None).passages[0].chunk
        quote = "院长 李四"
        return DraftAnswer(claims=[Claim(text=quote, sources=[found], quotes=[quote])])


def test_a_passage_only_another_retrieval_found_is_cited_with_its_score(index):
    base = _pipeline(index)
    pipeline = dataclasses.replace(base, answerers=(_SearchingAnswerer(), *base.answerers))
    result = pipeline.run(PipelineRequest(question=FIGURE_QUESTION, top_k=1))
    # the request's ranking lacks the court's opening passage; the answerer's own retrieval found it
    assert COURT_OPENING.id not in {p.chunk.id for p in result.retrieved.passages}
    searched = pipeline.search(RetrievalQuery(query="青浦区人民法院院长", top_k=1))
    assert [(c.chunk.id, c.score) for c in result.citations] == [(COURT_OPENING.id, searched.passages[0].score)]
    assert result.citations[0].score > 0


def test_fallback_is_a_field_of_the_result(index):
    result = _pipeline(index).run(PipelineRequest(question=FIGURE_QUESTION, top_k=5, mode="llm"))
    assert result.fallback == "llm_not_configured" and result.mode == "extractive" and "12.42" in result.answer


def test_first_llm_failure_is_the_fallback_and_ends_llm_use(index):
    llm = FakeLLM("财政总收入12.42亿元[1]。", fail_on="rewrite")
    result = _pipeline(index, llm=llm).run(PipelineRequest(question=FIGURE_QUESTION, top_k=5, mode="llm"))
    assert llm.calls == ["rewrite"]  # the answer call is not attempted after the failure
    assert result.fallback == "llm_error" and result.mode == "extractive" and "12.42" in result.answer


def test_llm_answer_sets_mode(index):
    llm = FakeLLM("财政总收入12.42亿元[1]。")
    result = _pipeline(index, llm=llm).run(PipelineRequest(question=FIGURE_QUESTION, top_k=5, mode="llm"))
    assert llm.calls == ["rewrite", "answer"]
    assert result.mode == "llm" and result.fallback is None and result.answer == "财政总收入12.42亿元[1]。"


def test_uncited_llm_answer_becomes_an_abstention(index):
    result = _pipeline(index, llm=FakeLLM("全区新建桥梁30座。")).run(PipelineRequest(question=FIGURE_QUESTION, top_k=5, mode="llm"))
    assert result.abstained and result.mode == "llm" and result.draft.unsupported == ["全区新建桥梁30座。"]


def test_query_rewrites_are_fused_with_the_configured_rrf_k():
    a, b = [RetrievedPassage(c, 1.0) for c in (FINANCE, CASES)], [RetrievedPassage(c, 1.0) for c in (CASES, OPENING)]
    fused = fuse_queries([RetrievalResult(a), RetrievalResult(b)], depth=10, k=1)
    assert [p.chunk.id for p in fused.passages] == ["c-1", "t-1", "t-0"]
    assert fused.passages[1].score == pytest.approx((1 / 2) / (1 / 3 + 1 / 2))


# -- a baseline differs from reportqa only in its retriever ----------------------------------------------------


class FixedRetriever:
    """Returns one ranking whatever is asked: the same retrieval result fed to two pipelines."""

    def __init__(self, chunks: list[Chunk]):
        self.chunks = chunks

    def retrieve(self, query, analysis):
        return RetrievalResult([RetrievedPassage(c, 1.0 - 0.1 * i) for i, c in enumerate(self.chunks)])

    def opening(self, doc_id):
        return next((c for c in self.chunks if c.doc_id == doc_id), None)


def _service(index: OverlapIndex, settings: Settings = SMALL_CORPUS):
    loaded = SimpleNamespace(index=index, retriever=Retriever(index, settings.retriever_config()))
    pipeline = dataclasses.replace(_pipeline(index, settings), retriever=loaded.retriever)
    return SimpleNamespace(settings=settings, loaded=lambda: loaded, pipeline=lambda: pipeline)


def _same_except_retriever(a: AnswerPipeline, b: AnswerPipeline) -> None:
    for f in dataclasses.fields(AnswerPipeline):
        if f.name == "retriever":
            continue
        assert getattr(a, f.name) is getattr(b, f.name), f.name
    assert [type(x) for x in a.answerers] == [type(x) for x in b.answerers]


@pytest.mark.parametrize("question", [FIGURE_QUESTION, f"{TOWN}是由谁作的？", "嘉定区1-7月财政总收入是多少？"])
def test_bm25_only_differs_from_reportqa_only_in_its_retriever(index, question):
    service = _service(index)
    ours, baseline = ReportQASystem(service), bm25_only(service)
    _same_except_retriever(ours.pipeline, baseline.pipeline)
    assert ours.retriever.config != baseline.retriever.config
    assert dict(baseline.retriever.config.weights) == {"word": 1.0, "char": 0.0, "dense": 0.0}
    fixed = FixedRetriever([FINANCE, CASES, OPENING, COURT_OPENING])
    req = PipelineRequest(question=question, top_k=3)
    a, b = ours.pipeline.with_retriever(fixed).run(req), baseline.pipeline.with_retriever(fixed).run(req)
    assert (a.answer, a.abstained, a.citations) == (b.answer, b.abstained, b.citations)


def test_a_baseline_ranker_keeps_a_document_filter_and_refuses_a_heading_filter(index):
    def ranker(question, depth):  # every chunk, in corpus order
        return list(range(len(CHUNKS)))[:depth], [1.0 / (k + 1) for k in range(len(CHUNKS))][:depth]

    retriever = RankerRetriever(CHUNKS, ranker)
    analysis = _pipeline(index).analyzer.analyze(FIGURE_QUESTION)
    court = retriever.retrieve(RetrievalQuery(query=FIGURE_QUESTION, top_k=1, doc_ids=["d2"]), analysis)
    assert [p.chunk.id for p in court.passages] == [COURT_OPENING.id]
    both = retriever.retrieve(RetrievalQuery(query=FIGURE_QUESTION, top_k=10), analysis)
    assert [p.chunk.id for p in both.passages] == [c.id for c in CHUNKS]
    with pytest.raises(ValueError, match="heading_prefix"):
        retriever.retrieve(RetrievalQuery(query=FIGURE_QUESTION, top_k=1, heading_prefix=TOWN), analysis)


def test_chunk_ranking_baseline_reuses_every_other_step(index):
    service = _service(index)
    ranker = lambda q, depth: ([1, 3], [2.0, 1.0])  # noqa: E731 - a fixed ranking over the baseline's chunks
    system = ChunkRankingSystem("toy", CHUNKS, ranker, service.pipeline(), fixed_k=1)
    _same_except_retriever(service.pipeline(), system.pipeline)
    answer = system.answer(FIGURE_QUESTION, top_k=5, mode="extractive")
    assert [r.passage_id for r in answer.retrieved] == ["t-1", "c-1"] and "12.42" in answer.answer


def test_ablations_build_new_frozen_configs_and_leave_the_live_one_alone(index):
    service = _service(index)
    live = service.loaded().retriever.config
    before = dataclasses.asdict(live)
    ablation = ablated(service, weights={"char": 0.0}, use_scope=False)
    assert dataclasses.asdict(service.loaded().retriever.config) == before
    assert ablation.retriever.config.weights["char"] == 0.0 and not ablation.retriever.config.use_scope
    assert ablated(service).pipeline is service.pipeline()  # nothing changed: the live pipeline itself
    with pytest.raises(dataclasses.FrozenInstanceError):
        live.use_scope = False
    with pytest.raises(TypeError):
        live.weights["word"] = 0.0


# -- configs come from Settings ---------------------------------------------------------------------------------


def test_settings_build_the_component_configs_with_the_cli_values():
    s = Settings()
    assert s.extractive_config().abstain_below == 0.3
    assert (s.scope_config().min_score, s.scope_config().mention_min_score) == (12.0, 4.0)
    assert s.retriever_config().rrf_k == s.pipeline_config().rrf_k == 60
    assert Settings(rrf_k=30).pipeline_config().rrf_k == 30
    with pytest.raises(TypeError):
        RetrieverConfig()  # components have no defaults of their own
    with pytest.raises(TypeError):
        ExtractiveConfig()
