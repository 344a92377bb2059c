"""Tab-separated tables in cleaned report text: detection, header merging, row grouping, row rendering.

Conversion (PDF/Word -> text) leaves each table row as one line of tab-separated cells, e.g. the gazette's

    表 1 2020 年上半年青浦区国民经济和社会发展主要目标完成情况
    序号	指标名称	年初预期目标	上半年完成
    			绝对数	增幅（%）	完成目标（%）
    6	合同外资	8 亿美元	8.8	5.9	110

Loaders that know a table's structure (docx, html) say which row is the header: they write a rule line of
`HEADER_RULE` cells under it (`---\t---\t---`, as Markdown tables do), and the row above the rule is the header
whatever its cells look like (`项目 2022年 2023年` would not pass the label test: `2022年` starts with a digit).

A row on its own ("6 合同外资 8 亿美元 8.8 5.9 110") is useless to a reader or to BM25, so each data row is
rendered with its column labels: `序号：6；指标名称：合同外资；年初预期目标：8 亿美元；上半年完成·绝对数：8.8；…`.
Cell text is kept verbatim (only the cell's outer whitespace is trimmed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .zh import Line, lines_with_offsets
from .zh.headings import TABLE_CAPTION_RE, UNIT_LINE_RE
from .zh.names import NAME_CELL_RE
from .zh.numbers import NUMERIC_CELL_RE
from .zh.text import PROSE_PUNCT_RE

logger = logging.getLogger(__name__)

LABEL_JOINER = "·"  # spanning header over sub-header: `上半年完成·绝对数`
HEADER_RULE = "---"  # a cell of the rule line a structured loader writes under a table's header row

_MAX_LABEL_LEN = 20
_MAX_BRIDGE_LEN = 40


@dataclass
class TableRow:
    """One physical data line of a table; `cells` has the group's leading cells filled in."""

    cells: list[str]
    raw_cells: list[str]
    start: int
    end: int
    continuation: bool = False  # first cells were empty: the line continues the group of the row above


@dataclass
class Table:
    """A run of tab-separated lines (plus its caption); offsets index the text it was found in."""

    start: int  # caption start if there is a caption, else first tab line start
    end: int  # end of the last tab line (no trailing newline)
    header: list[str] = field(default_factory=list)  # merged column labels; [] when the table has none
    rows: list[TableRow] = field(default_factory=list)
    caption: str | None = None
    caption_start: int | None = None
    caption_end: int | None = None
    is_grid: bool = False  # a grid of names (attendance list): no header, no meaningful rows
    line_spans: list[tuple[int, int]] = field(default_factory=list)  # every tab line, in order




def split_cells(line: str) -> list[str]:
    """Tab-split a row, trim each cell's outer whitespace, drop trailing empty cells (`覃远辉\t\t\t\t`)."""
    cells = [c.strip() for c in line.split("\t")]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def is_header_rule(cells: list[str]) -> bool:
    """The rule line under a header row written by a loader that knows the table's structure."""
    return len(cells) >= 2 and all(c == HEADER_RULE for c in cells)


def header_rule(width: int) -> str:
    """The rule line for a header of `width` cells."""
    return "\t".join([HEADER_RULE] * max(width, 2))


def _is_tab_line(line: str) -> bool:
    return "\t" in line and bool(line.strip())


def _is_bridge_line(line: str) -> bool:
    """Page furniture left inside a table (`上海市青浦区人民代表大会常务委员会公报`, `2020 年公报第四号（总第 154 号）`):
    short, no prose punctuation.

    Cleaning normally removes running headers; this only keeps one that slipped through from cutting a
    table in two. A caption (`表3 …`) is never bridged: it starts the next table.
    """
    s = line.strip()
    return (
        0 < len(s) <= _MAX_BRIDGE_LEN
        and not PROSE_PUNCT_RE.search(s)
        and not TABLE_CAPTION_RE.match(s)
    )


def _is_label(cell: str) -> bool:
    return bool(cell) and len(cell) <= _MAX_LABEL_LEN and not NUMERIC_CELL_RE.match(cell)


def _looks_like_header(cells: list[str]) -> bool:
    """`序号 指标名称 年初预期目标 上半年完成`: ≥2 short non-numeric labels, first cell not empty."""
    filled = [c for c in cells if c]
    return bool(cells) and bool(cells[0]) and len(filled) >= 2 and all(_is_label(c) for c in filled)


def _is_sub_header(cells: list[str], header: list[str]) -> bool:
    """The second header line `\t\t\t绝对数\t增幅（%）\t完成目标（%）`: leading cells empty, labels under the
    columns that the first line left empty or spans (`上半年完成` over three columns)."""
    if not cells or cells[0]:
        return False
    filled = [c for c in cells if c]
    if not filled or not all(_is_label(c) for c in filled):
        return False
    # It must add labels where the first line had none (a spanning header leaves empty cells to its right).
    return len(cells) > len(header) or any(not header[i] for i in range(len(cells)) if i < len(header) and cells[i])


def merge_header(top: list[str], sub: list[str]) -> list[str]:
    """Merge a two-line header: a top label spans the empty columns to its right that have a sub-label.

    top `序号 指标名称 年初预期目标 上半年完成 '' ''` + sub `'' '' '' 绝对数 增幅（%） 完成目标（%）`
    -> `序号 指标名称 年初预期目标 上半年完成·绝对数 上半年完成·增幅（%） 上半年完成·完成目标（%）`.
    """
    width = max(len(top), len(sub))
    top = top + [""] * (width - len(top))
    sub = sub + [""] * (width - len(sub))
    labels: list[str] = []
    span = ""  # the last top label, carried right over empty top cells that have a sub-label
    for t, s in zip(top, sub):
        if t:
            span = t
        parent = t or (span if s else "")
        if parent and s:
            labels.append(f"{parent}{LABEL_JOINER}{s}")
        else:
            labels.append(parent or s)
    return labels


def _is_name_grid(rows: list[list[str]]) -> bool:
    """Attendance lists: every cell a 2-4 character personal name, several per line, no header."""
    cells = [c for r in rows for c in r if c]
    return len(cells) >= 4 and all(NAME_CELL_RE.match(c) for c in cells)


def _find_caption(lines: list[Line], first: int) -> tuple[int, str, int] | None:
    """The caption line above the table at line index `first` (blank lines and a `单位：` line may sit between).

    Returns (line index, caption text, caption start offset).
    """
    i = first - 1
    seen_unit = False
    while i >= 0 and first - i <= 4:
        s = lines[i].text.strip()
        if not s:
            i -= 1
            continue
        if UNIT_LINE_RE.match(s) and not seen_unit:
            seen_unit = True
            i -= 1
            continue
        if TABLE_CAPTION_RE.match(s) and "\t" not in s and len(s) <= 80:
            lead = len(lines[i].text) - len(lines[i].text.lstrip())
            return i, s, lines[i].start + lead
        return None
    return None


def _group_runs(lines: list[Line]) -> list[list[int]]:
    """Line indices of each run of ≥2 tab lines; blank lines and one stray furniture line may sit inside."""
    runs: list[list[int]] = []
    cur: list[int] = []
    i = 0
    n = len(lines)
    while i < n:
        text = lines[i].text
        if _is_tab_line(text):
            cur.append(i)
            i += 1
            continue
        if cur:
            # Look past blank lines and at most one furniture line for the next tab line.
            j = i
            bridged = 0
            while j < n and not _is_tab_line(lines[j].text):
                if lines[j].text.strip():
                    if bridged or not _is_bridge_line(lines[j].text):
                        break
                    bridged += 1
                j += 1
            if j < n and _is_tab_line(lines[j].text) and j - i <= 4:
                i = j
                continue
            if len(cur) >= 2:
                runs.append(cur)
            cur = []
        i += 1
    if len(cur) >= 2:
        runs.append(cur)
    return runs


def _build_table(lines: list[Line], idxs: list[int]) -> Table:
    cell_rows = [split_cells(lines[i].text) for i in idxs]
    spans = [(lines[i].start, lines[i].end) for i in idxs]
    table = Table(start=spans[0][0], end=spans[-1][1], line_spans=spans)
    cap = _find_caption(lines, idxs[0])
    if cap is not None:
        _, table.caption, table.caption_start = cap
        table.caption_end = table.caption_start + len(table.caption)
        table.start = table.caption_start
    if _is_name_grid(cell_rows):
        table.is_grid = True
        return table
    body_from = 0
    if len(cell_rows) > 1 and is_header_rule(cell_rows[1]):
        table.header = list(cell_rows[0])
        body_from = 2
    elif _looks_like_header(cell_rows[0]):
        table.header = list(cell_rows[0])
        body_from = 1
        if len(cell_rows) > 1 and _is_sub_header(cell_rows[1], cell_rows[0]):
            table.header = merge_header(cell_rows[0], cell_rows[1])
            body_from = 2
    anchor: list[str] | None = None  # the group's first row (non-empty first cell)
    for cells, (s, e) in zip(cell_rows[body_from:], spans[body_from:]):
        if not any(cells):
            continue
        lead = 0
        while lead < len(cells) and not cells[lead]:
            lead += 1
        if lead and anchor is not None:
            # Continuation row (table 2: `\t\t新增老年人日间服务中心 6 家\t政府采购`): carry the group's
            # `序号`/`项目名称` so the row reads on its own.
            filled = [anchor[k] if k < len(anchor) else "" for k in range(lead)] + cells[lead:]
            table.rows.append(TableRow(filled, cells, s, e, continuation=True))
        else:
            anchor = cells
            table.rows.append(TableRow(list(cells), cells, s, e))
    return table


def detect_tables(text: str) -> list[Table]:
    """Find every table (runs of ≥2 tab-separated lines) in `text`, in order, grids of names included."""
    lines = lines_with_offsets(text)
    tables = [_build_table(lines, run) for run in _group_runs(lines)]
    logger.debug("detected %d tables (%d name grids)", len(tables), sum(t.is_grid for t in tables))
    return tables


def render_row(header: list[str], cells: list[str]) -> str:
    """`label：cell` pairs joined by `；`, skipping empty cells; cells beyond the header go unlabelled.

    render_row(["序号", "指标名称", "年初预期目标"], ["6", "合同外资", "8 亿美元"])
    -> `序号：6；指标名称：合同外资；年初预期目标：8 亿美元`
    """
    parts: list[str] = []
    for i, cell in enumerate(cells):
        if not cell:
            continue
        label = header[i] if i < len(header) else ""
        parts.append(f"{label}：{cell}" if label else cell)
    return "；".join(parts)
