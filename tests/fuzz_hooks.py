"""Schemathesis hooks for the fuzz run (loaded with SCHEMATHESIS_HOOKS=fuzz_hooks).

One rule of the chat endpoint spans messages and cannot be written in JSON Schema: the last user or
assistant message must be the user's question (not blank, at most 2,000 characters). Schema-valid
("positive") chat cases get such a message appended, so that positive_data_acceptance tests what the
schema can promise. Negative cases are left as generated: they must still be rejected.

A rule of /v1/ask spans fields too: a follow-up question is made standalone from the earlier user turns, and
that standalone question must keep the 2,000-character limit (InvalidQuestion, 422). Schema-valid ask cases
get their user history turns shortened so that they and the question fit in the limit together.

Negative /v1/search cases that are valid on the wire are dropped: a scalar, or a list holding non-strings,
in place of the array of strings `doc_ids` (`5`, `[5]` and `["5"]` are all `?doc_ids=5`), and a non-string
or a one-element list in place of the string `heading_prefix` (`[true]` is `?heading_prefix=true`). No
server can reject them; schemathesis allows for this only when no array parameter is mutated too.

Negative POST /v1/documents cases whose `files` is a non-empty list are dropped too: each item goes out as a
file part (the schema's items are binary), and any bytes are a valid file, so whatever the mutated items
were, the server receives one or more files. Missing, empty or non-list `files` stay: they must be rejected.
"""

from __future__ import annotations

from types import SimpleNamespace

import schemathesis

from qa_service.conversation import condense
from qa_service.schemas import MAX_QUERY_CHARS

CHAT_PATH = "/v1/chat/completions"
UPLOAD_PATH = "/v1/documents"
QUESTION = {"role": "user", "content": "财政收入是多少？"}
MAX_MESSAGES = 100  # ChatRequest.messages' limit
ASK_PATH = "/v1/ask"


def _fit_ask_history(case):
    """Shorten the user history turns until the question made standalone (as the server does it) fits."""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("history"), list) or not isinstance(body.get("question"), str):
        return case
    history = body["history"]
    share = max((len(t.get("content", "")) for t in history if _is_user_turn(t)), default=0)
    while share > 1 and len(condense(body["question"], [SimpleNamespace(**t) for t in history])) > MAX_QUERY_CHARS:
        share //= 2
        history = [{**t, "content": t["content"][:share]} if _is_user_turn(t) else t for t in history]
    case.body = {**body, "history": history}
    return case


def _is_user_turn(turn) -> bool:
    return isinstance(turn, dict) and turn.get("role") == "user" and isinstance(turn.get("content"), str)


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    if case.operation.path == ASK_PATH:
        return _fit_ask_history(case)
    if case.operation.path != CHAT_PATH:
        return case
    if isinstance(case.body, dict) and isinstance(case.body.get("messages"), list):
        case.body = {**case.body, "messages": [*case.body["messages"][: MAX_MESSAGES - 1], dict(QUESTION)]}
    return case


@schemathesis.hook
def filter_case(context, case):
    meta = case.meta
    if meta is None or meta.generation.mode.is_positive:
        return True
    if case.operation.path == UPLOAD_PATH and case.operation.method.upper() == "POST":
        files = case.body.get("files") if isinstance(case.body, dict) else None
        return not (isinstance(files, list) and files)
    if case.operation.path != "/v1/search":
        return True
    query = case.query if isinstance(case.query, dict) else {}
    doc_ids, prefix = query.get("doc_ids"), query.get("heading_prefix")
    doc_ids_as_sent = doc_ids is None or (isinstance(doc_ids, list) and all(isinstance(x, str) for x in doc_ids))
    prefix_as_sent = prefix is None or isinstance(prefix, str) or (isinstance(prefix, list) and len(prefix) > 1)
    return doc_ids_as_sent and prefix_as_sent
