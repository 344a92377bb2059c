import os

os.environ["HF_HUB_OFFLINE"] = "1"

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from ingest.models import Chunk, Document, GlossaryEntry, ParsedCorpus, RawFile, Section
from ingest.tokenize import Tokenizer, corpus_terms

REPORT = Path(__file__).resolve().parents[1] / "ingest" / "data" / "reports" / "004_1aa96ab411d029c6.txt"


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer()


def test_width_folding_and_lowercase(tok):
    assert tok.tokenize("１２．４２亿元") == tok.tokenize("12.42亿元")
    assert "12.42" in tok.tokenize("１２．４２亿元")
    assert "gdp" in tok.tokenize("ＧＤＰ增长")


def test_ranges_unified(tok):
    a = tok.tokenize("1—7月完成财政收入")
    assert a == tok.tokenize("1至7月完成财政收入") == tok.tokenize("１－７月完成财政收入")
    assert "1-7月" in a


def test_decimals_percentages_and_units_survive(tok):
    toks = tok.tokenize("区级财政收入12.42亿元，同比增长13.2％，共12 748人")
    for t in ("12.42", "12.42亿元", "亿元", "13.2", "13.2%", "12748"):
        assert t in toks, t
    assert "12" not in toks and "42" not in toks


def test_punctuation_and_whitespace_dropped(tok):
    toks = tok.tokenize("各位代表、同志们：\n  “六稳”！ ")
    assert toks and all(t.strip() and t not in "、：“”！" for t in toks)
    assert tok.tokenize("  \n ") == [] and tok.tokenize("") == []


def test_user_words_respected_and_private_dictionary():
    import jieba

    t = Tokenizer()
    assert "青浦区人民法院" not in t.tokenize("青浦区人民法院2020年工作报告")
    assert t.add_words(["青浦区人民法院", "“六稳”", "六稳", " "]) == 2
    toks = t.tokenize("青浦区人民法院2020年工作报告，做好“六稳”工作")
    assert "青浦区人民法院" in toks and "人民法院" in toks and "六稳" in toks
    # the global jieba dictionary is never touched
    assert not jieba.dt.FREQ.get("青浦区人民法院")


def test_save_load_round_trip(tmp_path):
    text = REPORT.read_text(encoding="utf-8")[:6000]
    t = Tokenizer(["川沙新镇", "五大倍增行动", "三问三登记"])
    t.save(tmp_path / "tok")
    t2 = Tokenizer.load(tmp_path / "tok")
    assert t2.user_words == t.user_words and t2.sha256 == t.sha256
    assert t2.tokenize(text) == t.tokenize(text)
    assert "三问三登记" in t2.tokenize(text)


def test_char_tokens(tok):
    grams = tok.char_tokens("六稳，工作")
    assert grams[:4] == ["六", "稳", "工", "作"]
    assert "六稳" in grams and "工作" in grams and "，" not in grams
    assert tok.char_tokens("１—７月") == tok.char_tokens("1至7月")


def test_corpus_terms():
    text = "青浦区人民法院和青浦区人民检察院报告工作。"
    doc = Document(doc_id="d1", title="政府工作报告", source_file="a.txt", text=text)
    sec = Section(section_id="s1", doc_id="d1", heading="一、上半年经济社会发展情况", level=1, family="cn_num", start=0, end=5)
    chunk = Chunk(id="c1", doc_id="d1", doc_title="政府工作报告", heading_path=["一、上半年经济社会发展情况"],
                  kind="text", text=text, start=0, end=len(text))
    g = GlossaryEntry(term="“六稳”", definition="稳就业、稳金融", doc_id="d1", source="footnote")
    g2 = GlossaryEntry(term="三个覆盖”“三个一律", definition="……", doc_id="d1", source="名词解释")
    text2 = "我代表川沙新镇人民政府报告工作，推进区人民代表大会建设。"
    doc2 = Document(doc_id="d2", title="政府上半年工作情况报告", source_file="b.txt", text=text2)
    corpus = ParsedCorpus([doc, doc2], [sec], [chunk], [g, g2], [RawFile("a.txt", text, "txt", "utf-8")])
    terms = corpus_terms(corpus)
    for t in ("六稳", "三个覆盖", "三个一律", "政府工作报告", "上半年经济社会发展情况", "青浦区人民法院",
              "青浦区人民检察院", "川沙新镇", "川沙新镇人民政府"):
        assert t in terms, t
    assert "推进区" not in terms and not any("”" in t for t in terms)
    assert len(terms) == len(set(terms))


def _tokens_in_child(tokenizer_dir: str, texts: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    t = Tokenizer.load(tokenizer_dir)
    return [t.tokenize(x) for x in texts], [t.char_tokens(x) for x in texts]


def test_saved_tokenizer_gives_the_same_tokens_in_a_spawned_process(tmp_path):
    """What the parallel BM25 build relies on: a worker re-created from the saved folder cuts exactly alike."""
    text = REPORT.read_text(encoding="utf-8")
    texts = [p for p in text.split("\n") if p.strip()][:80]
    t = Tokenizer(["川沙新镇", "五大倍增行动", "三问三登记", "六稳"])
    t.save(tmp_path / "tok")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        words, chars = pool.submit(_tokens_in_child, str(tmp_path / "tok"), texts).result()
    assert words == [t.tokenize(x) for x in texts] and chars == [t.char_tokens(x) for x in texts]
    assert any("三问三登记" in w for w in words)


def test_remembered_tokens_are_a_fresh_list_and_forgotten_when_the_dictionary_grows():
    t = Tokenizer()
    q = "川沙新镇财政总收入是多少"
    first = t.tokenize(q)
    first.append("changed")
    assert t.tokenize(q) == Tokenizer().tokenize(q)  # a caller's change does not leak into the next call
    t.add_words(["镇财政总"])
    assert t.tokenize(q) == Tokenizer(["镇财政总"]).tokenize(q)
