"""What a near-miss question changes: its year, its period, its month range (eval.near_miss).

A near miss asks the question of an answerable one about another time, place or indicator, which the corpus
does not state: SQuAD 2.0's unanswerable questions made by rule. The periods that exclude each other are a tag
of `data/time_scopes.txt` ("period"); places come from `places.question_places`.
"""

from __future__ import annotations

import re
from functools import cache

from .lexicon import alternation, rows, tagged
from .time import YEAR_RE

__all__ = ["MONTH_RANGE_RE", "YEAR_RE", "period_re", "period_words", "same_periods"]
# A month range from January (normalised text), group 1 the last month: `1-7月` -> 7.
MONTH_RANGE_RE = re.compile(r"(?<!\d)1-(\d{1,2})(?=月)")


@cache
def period_re() -> re.Pattern[str]:
    """Periods of a year that exclude each other (`上半年`, `全年`, `三季度`), to swap one for another."""
    return re.compile(alternation(period_words()))


@cache
def period_words() -> tuple[str, ...]:
    return tagged("time_scopes", "period")


@cache
def same_periods(scope: str) -> tuple[str, ...]:
    """A scope and the scopes naming the same months (`data/time_equivalents.txt`): `上半年` -> 上半年, 1-6月."""
    for row in rows("time_equivalents"):
        if scope in row:
            return tuple(row)
    return (scope,)
