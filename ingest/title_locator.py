"""Locate each contents title in the body of a compilation, in contents order.

Tolerant matching (difflib on whitespace-free, width-folded text): stray spaces, wrapped lines, and
`审计工作报告` in the contents for `审计报告` in the body all still match.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from ingest.contents import MAX_TITLE_LINES, ContentsEntry
from ingest.zh import Line, fold_width, strip_ws
from ingest.zh.time import DATE_LINE_START_RE, REPORT_DATE_RE

# How alike a body line must be to a contents title (difflib ratio on whitespace-free, width-folded
# text); `…审计工作报告` vs `…审计报告` scores ~0.97, `履职报告` vs `辞职报告` 0.75.
_MATCH_THRESHOLD = 0.8
# Small tie-breakers: the entry's reporter named just below the title; a date line just below it.
_NAME_BONUS = 0.05
_HEADER_BONUS = 0.02


@dataclass
class TitleMatch:
    entry: int
    first_line: int
    last_line: int
    score: float


def title_key(text: str) -> str:
    """Comparison key: no whitespace, full-width ASCII folded, Markdown `#` dropped."""
    return fold_width(strip_ws(text)).lstrip("#")


def locate_titles(lines: list[Line], first_body_line: int, entries: list[ContentsEntry]) -> list[TitleMatch]:
    """Find each entry's title in the body, in contents order; entries not found are left out."""
    keys = [title_key(line.text) if "\t" not in line.text else "" for line in lines]
    candidates: list[TitleMatch] = []
    for entry_index, entry in enumerate(entries):
        candidates.extend(_candidates_for(lines, keys, first_body_line, entry_index, entry))
    return _best_ordered_chain(candidates)


def _candidates_for(
    lines: list[Line], keys: list[str], first_body_line: int, entry_index: int, entry: ContentsEntry
) -> list[TitleMatch]:
    """Body positions whose 1–3 consecutive non-blank short lines read like the entry's title.

    `keys[i]` is line i's comparison key ("" for blank lines and table rows, which are never titles).
    """
    key = title_key(entry.title)
    if not key:
        return []
    max_len = int(len(key) * 1.5) + 4
    found: list[TitleMatch] = []
    for start in range(first_body_line, len(lines)):
        if not keys[start] or len(keys[start]) > max_len:
            continue
        joined = ""
        best: TitleMatch | None = None
        for end in following_nonblank(lines, start, MAX_TITLE_LINES):
            joined += keys[end]
            if not keys[end] or len(joined) > max_len:
                break
            score = _similarity(key, joined)
            if score >= _MATCH_THRESHOLD and (best is None or score > best.score):
                best = TitleMatch(entry_index, start, end, score)
        if best is not None:
            best.score += _bonus(lines, best.last_line, entry)
            found.append(best)
    return found


def following_nonblank(lines: list[Line], start: int, count: int) -> list[int]:
    """`start` and the next non-blank lines after it, `count` lines in all (blank lines skipped)."""
    indices = [start]
    index = start + 1
    while index < len(lines) and len(indices) < count:
        if lines[index].text.strip():
            indices.append(index)
        index += 1
    return indices


def _similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    shorter, longer = sorted((len(a), len(b)))
    if 2 * shorter / (shorter + longer) < _MATCH_THRESHOLD:
        return 0.0  # the ratio can never reach the threshold: skip the expensive comparison
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    if matcher.quick_ratio() < _MATCH_THRESHOLD:
        return 0.0
    return matcher.ratio()


def _bonus(lines: list[Line], last_title_line: int, entry: ContentsEntry) -> float:
    """Tie-breakers between equally good title lines: the entry's reporter or a date line just below."""
    below = [lines[i].text for i in following_nonblank(lines, last_title_line, 5)[1:]]
    bonus = 0.0
    if entry.name and any(strip_ws(entry.name) in strip_ws(line) for line in below):
        bonus += _NAME_BONUS
    if any(DATE_LINE_START_RE.match(line.strip()) and REPORT_DATE_RE.search(line) for line in below[:3]):
        bonus += _HEADER_BONUS
    return bonus


def _best_ordered_chain(candidates: list[TitleMatch]) -> list[TitleMatch]:
    """The highest-scoring chain of candidates increasing in both entry number and body position.

    Titles must come out in contents order: `…任免名单（一）` also scores 0.95 against the body line
    `…任免名单（二）`, and only the order tells them apart (so do the two `履职报告`).
    """
    candidates = sorted(candidates, key=lambda m: (m.first_line, m.entry))
    best: list[float] = []
    previous: list[int | None] = []
    for i, match in enumerate(candidates):
        best.append(match.score)
        previous.append(None)
        for j in range(i):
            earlier = candidates[j]
            follows = earlier.entry < match.entry and earlier.last_line < match.first_line
            if follows and best[j] + match.score > best[i]:
                best[i] = best[j] + match.score
                previous[i] = j
    if not candidates:
        return []
    index: int | None = max(range(len(candidates)), key=lambda i: best[i])
    chain: list[TitleMatch] = []
    while index is not None:
        chain.append(candidates[index])
        index = previous[index]
    return chain[::-1]
