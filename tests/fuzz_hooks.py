"""Schemathesis hooks for the fuzz run (loaded with SCHEMATHESIS_HOOKS=fuzz_hooks).

One rule of the chat endpoint spans messages and cannot be written in JSON Schema: the last user or
assistant message must be the user's question (not blank, at most 2,000 characters). Schema-valid
("positive") chat cases get such a message appended, so that positive_data_acceptance tests what the
schema can promise. Negative cases are left as generated: they must still be rejected.

One kind of negative case is dropped: a scalar, or a list holding non-strings, in place of the array of
strings `doc_ids` of /v1/search. On the wire `5`, `[5]` and `["5"]` are all `?doc_ids=5`, so no server can
reject them; schemathesis allows for this with scalar parameters only.
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
    doc_ids = (case.query or {}).get("doc_ids") if isinstance(case.query, dict) else None
    return doc_ids is None or (isinstance(doc_ids, list) and all(isinstance(x, str) for x in doc_ids))
