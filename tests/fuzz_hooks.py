"""Schemathesis hooks for the fuzz run (loaded with SCHEMATHESIS_HOOKS=fuzz_hooks).

One rule of the chat endpoint spans messages and cannot be written in JSON Schema: the last user or
assistant message must be the user's question (not blank, at most 2,000 characters). Schema-valid
("positive") chat cases get such a message appended, so that positive_data_acceptance tests what the
schema can promise. Negative cases are left as generated: they must still be rejected.
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
