"""A report's header, between its title and its first paragraph: the date and the reporter.

`履 职 报 告` / `——2020年7月15日在…常务委员会` / `第三十六次会议上` / `青浦区经济委员会主任 朱要武` /
`主任、各位副主任、各位委员：` -> date `2020年7月15日`, reporter `青浦区经济委员会主任 朱要武`.
"""

from __future__ import annotations

from ingest.title_locator import following_nonblank
from ingest.zh import Line, strip_ws
from ingest.zh.headings import HEADER_STOP_HEADING_RE
from ingest.zh.names import INSTITUTION_RE, OFFICE_NAME_RE, PERSON_NAME_RE
from ingest.zh.time import DATE_LINE_ENDINGS, DATE_LINE_START_RE, REPORT_DATE_RE

_HEADER_MAX_LINES = 6
_HEADER_MAX_LEN = 80


def header_lines(lines: list[Line], last_title_line: int) -> list[str]:
    """The short lines between a title and the report's first paragraph, salutation or heading.

    In `履 职 报 告` / `——2020年7月15日在…常务委员会` / `第三十六次会议上` / `青浦区经济委员会主任 朱要武` /
    `主任、各位副主任、各位委员：` the header is the middle three lines.
    """
    header: list[str] = []
    for index in following_nonblank(lines, last_title_line, _HEADER_MAX_LINES + 1)[1:]:
        text = lines[index].text.strip()
        if _ends_header(text):
            break
        header.append(text)
    return header


def _ends_header(text: str) -> bool:
    """A paragraph, a table row, a salutation (`各位代表：`) or a heading is where the header stops."""
    return (
        len(text) > _HEADER_MAX_LEN
        or "\t" in text
        or text.endswith(("：", ":"))
        or bool(HEADER_STOP_HEADING_RE.match(text))
    )


def find_date(header: list[str]) -> str | None:
    """`——2020 年 7 月 16 日在…` -> "2020年7月16日" (as written, its stray spaces removed)."""
    for line in header:
        match = REPORT_DATE_RE.search(line)
        if match and (DATE_LINE_START_RE.match(line) or strip_ws(line) == strip_ws(match.group(0))):
            return strip_ws(match.group(0))
    return None


def find_reporter(header: list[str], contents_name: str | None) -> str | None:
    """Office and name from the header; else a bare name, the contents entry's name, or an institution."""
    people = [line for line in _non_date_lines(header) if OFFICE_NAME_RE.match(line)]
    if people:
        return people[0]
    names = [line for line in _non_date_lines(header) if PERSON_NAME_RE.match(line)]
    if names:
        return names[0]
    if contents_name:
        return contents_name
    institutions = [line for line in _non_date_lines(header) if INSTITUTION_RE.match(line)]
    return institutions[0] if institutions else None


def _non_date_lines(header: list[str]) -> list[str]:
    """The header without its date lines, including their wrapped second line (`第三十六次会议上`)."""
    kept: list[str] = []
    continues = False
    for line in header:
        if continues:
            continues = False
            continue
        if DATE_LINE_START_RE.match(line) and REPORT_DATE_RE.search(line):
            continues = not line.endswith(DATE_LINE_ENDINGS)
            continue
        kept.append(line)
    return kept
