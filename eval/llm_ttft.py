"""Time to first token of streamed LLM answers, against the scripted LLM server.

    python -m eval.llm_ttft --index index --requests 20 --token-delay 0.05 --out ttft.json

The service runs in this process behind uvicorn on loopback (warmed up first); the scripted LLM (eval/scripted_llm.py)
streams a ~40-character cited answer a few characters per event, `--token-delay` seconds apart (0.05 s: a model
writing ~60 characters a second). Each request is `POST /v1/chat/completions` with `stream: true, mode: "llm"`; the
client records the time to the first content delta (TTFT) and to the final chunk. Before real streaming the first
byte came after the whole answer, so `full` is also what TTFT used to be. The result is printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from eval.scripted_llm import FakeLLMServer, Reply, passage_number
from qa_service.app import create_app
from qa_service.config import Settings

log = logging.getLogger(__name__)

QUESTION = "川沙新镇1-7月财政总收入是多少？"
REWRITES = "川沙新镇财政总收入完成情况\n川沙新镇一般公共预算收入"


def _answer(prompt: str) -> str:
    n = passage_number(prompt, "12.42")
    return f"川沙新镇1-7月财政总收入为12.42亿元[{n}]，同比下降13.2%[{n}]。"


def _serve(app: Any, port: int) -> tuple[Any, threading.Thread]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread


def _one(client: httpx.Client, question: str) -> tuple[float, float, dict]:
    body = {"model": "reportqa", "stream": True, "mode": "llm", "messages": [{"role": "user", "content": question}]}
    started = time.perf_counter()
    first = None
    final: dict = {}
    with client.stream("POST", "/v1/chat/completions", json=body) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data:") or line.endswith("[DONE]"):
                continue
            chunk = json.loads(line[5:])
            if first is None and chunk["choices"][0]["delta"].get("content"):
                first = time.perf_counter() - started
            if "citations" in chunk:
                final = chunk
    return first if first is not None else float("nan"), time.perf_counter() - started, final


def _summary(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 1), "p95_ms": round(float(np.percentile(a, 95)), 1), "mean_ms": round(float(a.mean()), 1)}


def run(index: Path, requests: int, token_delay: float, token_chars: int, port: int) -> dict[str, Any]:
    with FakeLLMServer() as llm:
        llm.script(rewrite=REWRITES, answer=Reply(_answer, token_chars=token_chars, token_delay=token_delay))
        app = create_app(Settings(index=index, llm_base_url=llm.url, llm_model="scripted", llm_timeout=30))
        app.state.service.warm_up()
        server, thread = _serve(app, port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                _one(client, QUESTION)  # the first LLM request opens the client's connections
                runs = [_one(client, QUESTION) for _ in range(requests)]
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    modes = {r[2].get("mode") for r in runs}
    return {
        "requests": requests,
        "token_delay_s": token_delay,
        "token_chars": token_chars,
        "answer_chars": len(_answer("<<资料 [1] #0>>\n12.42\n<</资料 [1] #0>>")),
        "modes": sorted(m or "none" for m in modes),
        "ttft": _summary([r[0] for r in runs]),
        "full": _summary([r[1] for r in runs]),
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--index", type=Path, default=Settings().index)
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--token-delay", type=float, default=0.05, help="seconds between the scripted LLM's events")
    p.add_argument("--token-chars", type=int, default=3, help="characters per event")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.index, args.requests, args.token_delay, args.token_chars, args.port)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
