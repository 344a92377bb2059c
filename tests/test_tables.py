"""Table detection on the gazette: two-line headers, continuation rows, captions, name grids."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ingest.tables import Table, detect_tables, merge_header, render_row

GAZETTE = Path(__file__).resolve().parents[1] / "ingest" / "data" / "reports" / "000_20d7c97a3767f276.txt"


@lru_cache(maxsize=1)
def _gazette() -> tuple[str, tuple[Table, ...]]:
    text = GAZETTE.read_text(encoding="utf-8")
    body_from = text.index("(132)")  # the contents page is itself a tab-separated list
    return text, tuple(t for t in detect_tables(text) if t.start > body_from)


def _table(caption_prefix: str) -> Table:
    _, tables = _gazette()
    return next(t for t in tables if t.caption and t.caption.replace(" ", "").startswith(caption_prefix))


def test_three_captioned_tables_and_name_grids() -> None:
    _, tables = _gazette()
    real = [t for t in tables if not t.is_grid]
    assert [t.caption.replace(" ", "")[:2] for t in real] == ["表1", "表2", "表3"]
    grids = [t for t in tables if t.is_grid]
    assert len(grids) == 2 and all(not t.header and not t.rows for t in grids)


def test_two_line_header_is_merged() -> None:
    t = _table("表1")
    assert t.header == [
        "序号", "指标名称", "年初预期目标", "上半年完成·绝对数", "上半年完成·增幅（%）", "上半年完成·完成目标（%）",
    ]
    assert len(t.rows) == 13


def test_contract_foreign_investment_row_renders_with_labels() -> None:
    t = _table("表1")
    row = next(r for r in t.rows if r.cells[1] == "合同外资")
    assert render_row(t.header, row.cells) == (
        "序号：6；指标名称：合同外资；年初预期目标：8 亿美元；上半年完成·绝对数：8.8；"
        "上半年完成·增幅（%）：5.9；上半年完成·完成目标（%）：110"
    )


def test_table_survives_leaked_page_header() -> None:
    # `上海市青浦区人民代表大会常务委员会公报` sits between rows 5 and 6 of 表 1 in the raw file.
    t = _table("表1")
    assert [r.cells[0] for r in t.rows] == [str(i) for i in range(1, 14)]


def test_caption_is_kept_and_spans_cover_it() -> None:
    text, _ = _gazette()
    t = _table("表2")
    assert t.caption == "表2 2020年度青浦区实事工程项目上半年完成情况"
    assert text[t.start:t.end].startswith(t.caption)
    assert text[t.start:t.end].endswith("驿站装修可研评审，青溪书院施工图已完成")


def test_continuation_rows_carry_the_group() -> None:
    text, _ = _gazette()
    t = _table("表2")
    assert t.header == ["序号", "项目名称", "项目内容及目标工程量", "上半年完成情况"]
    row = next(r for r in t.rows if "新增老年人日间服务中心" in r.cells[2])
    assert row.continuation and row.raw_cells[:2] == ["", ""]
    assert render_row(t.header, row.cells) == (
        "序号：1；项目名称：养老助残服务；项目内容及目标工程量：新增老年人日间服务中心 6 家；上半年完成情况：政府采购"
    )
    assert text[row.start:row.end] == "\t\t新增老年人日间服务中心 6 家\t政府采购"
    assert sum(1 for r in t.rows if r.cells[0] == "4") == 3


def test_render_row_skips_empty_cells_and_unlabelled_extras() -> None:
    assert render_row(["序号", "指标", "值"], ["1", "", "3", "extra"]) == "序号：1；值：3；extra"


def test_merge_header_spanning_label() -> None:
    assert merge_header(["项目", "2019年", "", "2020年"], ["", "预算", "决算"]) == [
        "项目", "2019年·预算", "2019年·决算", "2020年",
    ]


def test_synthetic_table_without_caption_and_single_tab_line() -> None:
    text = "正文。\n名称\t数量\n甲\t1\n乙\t2\n正文继续。\n孤行\t不是表\n结束。"
    tables = detect_tables(text)
    assert len(tables) == 1
    t = tables[0]
    assert t.caption is None and t.header == ["名称", "数量"]
    assert [render_row(t.header, r.cells) for r in t.rows] == ["名称：甲；数量：1", "名称：乙；数量：2"]
