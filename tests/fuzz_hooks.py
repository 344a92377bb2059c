"""Schemathesis hooks for the fuzz run (loaded with SCHEMATHESIS_HOOKS=fuzz_hooks).

One rule of the chat endpoint spans messages and cannot be written in JSON Schema: the last user or
assistant message must be the user's question (not blank, at most 2,000 characters). Schema-valid
("positive") chat cases get such a message appended, so that positive_data_acceptance tests what the
schema can promise. Negative cases are left as generated: they must still be rejected.

Negative /v1/search cases that are valid on the wire are dropped: a scalar, or a list holding non-strings,
in place of the array of strings `doc_ids` (`5`, `[5]` and `["5"]` are all `?doc_ids=5`), and a non-string
or a one-element list in place of the string `heading_prefix` (`[true]` is `?heading_prefix=true`). No
server can reject them; schemathesis allows for this only when no array parameter is mutated too.
"""

from __future__ import annotations

import schemathesis

CHAT_PATH = "/v1/chat/completions"
QUESTION = {"role": "user", "content": "财政收入是多少？"}
MAX_MESSAGES = 100  # ChatRequest.messages' limit


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if case.operation.path != CHAT_PATH or meta is None or not meta.generation.mode.is_positive:
        return case
    if isinstance(case.body, dict) and isinstance(case.body.get("messages"), list):
        case.body = {**case.body, "messages": [*case.body["messages"][: MAX_MESSAGES - 1], dict(QUESTION)]}
    return case


@schemathesis.hook
def filter_case(context, case):
    meta = case.meta
    if case.operation.path != "/v1/search" or meta is None or meta.generation.mode.is_positive:
        return True
    query = case.query if isinstance(case.query, dict) else {}
    doc_ids, prefix = query.get("doc_ids"), query.get("heading_prefix")
    doc_ids_as_sent = doc_ids is None or (isinstance(doc_ids, list) and all(isinstance(x, str) for x in doc_ids))
    prefix_as_sent = prefix is None or isinstance(prefix, str) or (isinstance(prefix, list) and len(prefix) > 1)
    return doc_ids_as_sent and prefix_as_sent
