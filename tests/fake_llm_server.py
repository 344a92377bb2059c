"""The scripted LLM server of the tests; it lives in eval/scripted_llm.py so that the TTFT bench (eval/llm_ttft.py)
streams from the same server."""

from eval.scripted_llm import FakeLLM, FakeLLMServer, Recorded, Reply, fences, numbered_passages, passage_number

__all__ = ["FakeLLM", "FakeLLMServer", "Recorded", "Reply", "fences", "numbered_passages", "passage_number"]
