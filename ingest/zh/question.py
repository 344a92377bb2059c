"""What a question asks and which scope it names: intent cues, stopwords, comparisons, follow-ups.

Cue words are data files (`data/*_cues.txt`, …); the structured cues (`几个`, `任命…为`) are regexes here.
Every pattern is searched in the question's normalised text unless its comment says otherwise.
"""

from __future__ import annotations

import re

from .lexicon import alternation, longest_first, tagged, word_set, words

# Question words and fillers that carry no content: matching them in a passage proves nothing.
STOPWORDS: frozenset[str] = word_set("stopwords")

# `多少`, `比例`, `几个/几家/几万`: the question wants a figure.
FIGURE_RE = re.compile(r"几[个家件项名人次户所条座台张万亿]?|" + alternation(words("figure_cues")))
# `是谁`, `哪位`, `任命…为`, `由…报告/作`: the question wants a person.
WHO_RE = re.compile(alternation(words("who_cues")) + r"|任命.*为|由.+(?:报告|作)")
# `“六稳”是什么？`, `是哪六个方面`: the question wants a definition.
DEFINITION_RE = re.compile(alternation(tagged("definition_cues", "question")) + r"|是哪[几六五四三]")
# The retriever's glossary boost fires on these (no `是哪几`: see data/definition_cues.txt).
RETRIEVAL_DEFINITION_RE = re.compile(alternation(tagged("definition_cues", "retrieval")))
# `有哪些`, `分别是`: the question wants a list.
LIST_RE = re.compile(alternation(words("list_cues")))
# `…的报告是由谁作的？` / `…是哪个部门提交的？`: asks for the document's reporter.
# `在…会议上作讲话的是谁？`, `…作履职报告的…主任是谁？`: who gave the speech or report a document is.
REPORTER_RE = re.compile(
    r"由谁|谁作|谁做|谁(?:提交|报告|宣读)|报告人|哪个部门(?:提交|作|报告)|(?:作|提交|作了)(?:该|这份|此)?报告的是"
    r"|(?:作|提交|宣读|发表)了?[^，,。？?；;]{0,12}?(?:报告|讲话|说明)的[^，,。？?；;]{0,16}?(?:是谁|是哪位|是哪个部门)"
)
# `…的决议是哪天通过的？`, `…的讲话是什么时候发表的？`: asks for the date of a document (its header's), not of
# something it reports.
DOCUMENT_DATE_RE = re.compile(
    f"(?:{longest_first(tagged('document_acts', 'noun'))})[^，,。？?；;]{{0,3}}?(?:{longest_first(words('when_cues'))})"
    f"[^，,。？?；;]{{0,2}}?(?:{longest_first(tagged('document_acts', 'act'))})"
)
# `什么时候`, `哪一天`: the question wants a date.
WHEN_RE = re.compile(alternation(words("when_cues")))
# The measure asked for (group 1): `多少家企业` -> 家, `多少户` -> 户, `几项` -> 项.
ASKED_UNIT_RE = re.compile(r"(?:多少|几)(" + alternation(words("asked_units")) + ")")
# A question asking for a rate or share, answered with `%`: `百分之几`, `百分之多少`, `占比`, `增长率`, `…率`.
ASKED_PERCENT_RE = re.compile(r"百分之(?:几|多少)|百分比|比例|比重|占比|[增降]幅|增长率|下降率|[^\d]率")


def asked_unit(norm: str) -> str | None:
    """The unit a normalised question asks for: `%` for rates, else the measure after 多少/几, else None."""
    if ASKED_PERCENT_RE.search(norm):
        return "%"
    m = ASKED_UNIT_RE.search(norm)
    return m.group(1) if m else None


# -- scope: which reports a question names --------------------------------------------------------------
# A question that names two scopes and asks to compare them gets one retrieval per scope.
COMPARE_RE = re.compile(alternation(words("compare_cues")) + r"|和.+(?:各|分别|都)")
# A comparison names its reports in separate phrases: `区政府工作报告和计划执行情况报告` (use with split).
MENTION_SPLIT_RE = re.compile(r"[，,、；;和与及跟同]|相比|比较|对比")
# A phrase naming a report: `…工作报告`, `…决算`, `…任免名单`.
REPORT_NOUN_RE = re.compile(alternation(words("report_nouns")))
# A glossary term's parts as the retriever matches them: `“六稳”“六保”` -> 六稳 / 六保 (use with split).
DEFINITION_TERM_SPLIT_RE = re.compile(r"[“”\"、]+")

# -- follow-ups: `那下半年呢？`, `它的同比增幅是多少？` ---------------------------------------------------
# How a follow-up leans on the previous question (match at the start; `.sub` removes it).
FOLLOW_UP_PRONOUN_RE = re.compile(r"^(?:" + alternation(words("follow_up_pronouns")) + ")")
# A follow-up ending in `呢`: `那检察院呢？` (raw question).
FOLLOW_UP_TAIL_RE = re.compile(r"呢[？?]?$")
# Trailing particles and marks: `下半年呢？` -> 下半年.
TRAILING_PARTICLES_RE = re.compile(r"[呢吗？?。！!\s]+$")
# End marks stripped from a question quoted in a reply: `…是多少？` -> `…是多少`.
QUESTION_END_MARKS = "？?。.！!"


def follow_up_question(subject: str, ask: str) -> str:
    """A follow-up's ask put after the previous question's subject: (`川沙新镇1-7月财政总收入`,
    `的同比增幅是多少`) -> `川沙新镇1-7月财政总收入的同比增幅是多少？`."""
    return f"{subject}的{ask.lstrip('的')}？"
