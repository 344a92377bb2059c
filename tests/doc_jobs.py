"""Helpers for the document-job tests: a small base index, uploads, and polling a job to its end."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from pathlib import Path

import docx
import httpx

from ingest.index_build import build_index
from qa_service.config import Settings
from tiny_index import tiny_corpus

FINISHED = ("done", "failed")


def build_gazette_index(index_dir: Path) -> Path:
    """The tiny corpus with both documents split from one source file, `gazette.txt` (lexical arms only)."""
    corpus = tiny_corpus()
    corpus.documents = [dataclasses.replace(d, source_file="gazette.txt") for d in corpus.documents]
    build_index(corpus, Settings(index=index_dir).build_config(embed_model="none"))
    return index_dir


def txt_file(name: str, text: str) -> tuple[str, tuple[str, bytes, str]]:
    return ("files", (name, text.encode("utf-8"), "text/plain"))


def docx_file(name: str) -> tuple[str, tuple[str, bytes, str]]:
    d = docx.Document()
    d.add_heading("青浦区2023年财政预算执行情况报告", 0)
    d.add_paragraph("一、收入情况")
    d.add_paragraph("全区一般公共预算收入完成情况良好，税收收入稳步增长，具体情况见下表。")
    table = d.add_table(rows=2, cols=3)
    for r, values in enumerate([["项目", "2022年", "2023年"], ["税收收入（亿元）", "9.5", "10.2"]]):
        for c, value in enumerate(values):
            table.cell(r, c).text = value
    buf = io.BytesIO()
    d.save(buf)
    return ("files", (name, buf.getvalue(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))


async def wait_job(client: httpx.AsyncClient, job_id: str, seconds: float = 180) -> dict:
    """Poll GET /v1/jobs/{id} until the job has finished (bounded)."""
    for _ in range(int(seconds / 0.1)):
        r = await client.get(f"/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        if r.json()["status"] in FINISHED:
            return r.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {seconds} s")
