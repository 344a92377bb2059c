"""Document jobs on disk: one JSON file per job in <index>/jobs, so every worker process sees the same jobs.

A job is `queued` when submitted, `running` while the one runner (qa_service.job_runner) builds it, then `done`
or `failed`. Files are replaced atomically (temp + rename), so a reader never sees half a record. Two flocks
in the folder serialise what must not interleave across processes: `.submit.lock` (counting the queue and
adding to it, so the cap holds) and `.runner.lock` (one job build at a time).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ingest.publish import write_json_atomic

from .errors import ServiceError

JobStatus = Literal["queued", "running", "done", "failed"]
JobKind = Literal["upload", "delete"]
_JOB_ID_RE = re.compile(r"^[0-9a-f]{32}$")
SUBMIT_LOCK = ".submit.lock"
RUNNER_LOCK = ".runner.lock"


class QueueFull(ServiceError):
    status = 429
    type = "too_many_jobs"


class SkippedFile(BaseModel):
    path: str  # the file's name as uploaded (never a server path)
    reason: str


class JobResult(BaseModel):
    documents: list[str] = Field(default_factory=list)  # the documents the job added or removed
    skipped: list[SkippedFile] = Field(default_factory=list)


class Job(BaseModel):
    job_id: str
    kind: JobKind
    status: JobStatus
    created_ns: int
    files: list[str] = Field(default_factory=list)  # upload: file names staged in <job_id>.files/
    doc_id: str | None = None  # delete: the document named in the request
    result: JobResult = Field(default_factory=JobResult)
    error: str | None = None


class JobStore:
    def __init__(self, folder: Path, queue_max: int, keep: int) -> None:
        self.folder = folder
        self.queue_max = queue_max
        self.keep = keep

    # -- submission ----------------------------------------------------------------------------------------
    def new_id(self) -> str:
        return uuid.uuid4().hex

    def staging(self, job_id: str) -> Path:
        """Where an upload's files wait until its job runs."""
        return self.folder / f"{job_id}.files"

    def check_room(self) -> None:
        """QueueFull when `queue_max` jobs are waiting (checked again, under the lock, by `submit`)."""
        if len(self.waiting()) >= self.queue_max:
            raise QueueFull(f"{self.queue_max} document jobs are waiting already; try again when one has finished")

    def submit(self, job: Job) -> Job:
        """Record a queued job; QueueFull (and its staged files removed) when the queue is full."""
        with self._flock(SUBMIT_LOCK, blocking=True):
            try:
                self.check_room()
            except QueueFull:
                shutil.rmtree(self.staging(job.job_id), ignore_errors=True)
                raise
            self.save(job)
        return job

    # -- records -------------------------------------------------------------------------------------------
    def save(self, job: Job) -> None:
        write_json_atomic(self.folder / f"{job.job_id}.json", job.model_dump(mode="json"))

    def get(self, job_id: str) -> Job | None:
        if not _JOB_ID_RE.match(job_id):
            return None
        return self._read(self.folder / f"{job_id}.json")

    def all(self) -> list[Job]:
        """Every job on record, oldest first."""
        if not self.folder.is_dir():
            return []
        jobs = [j for p in self.folder.glob("*.json") if (j := self._read(p)) is not None]
        return sorted(jobs, key=lambda j: (j.created_ns, j.job_id))

    def waiting(self) -> list[Job]:
        return [j for j in self.all() if j.status == "queued"]

    def finish(self, job: Job, status: JobStatus, error: str | None = None) -> None:
        job.status, job.error = status, error
        self.save(job)
        shutil.rmtree(self.staging(job.job_id), ignore_errors=True)

    def prune(self) -> None:
        """Delete the oldest finished jobs beyond `keep`."""
        finished = [j for j in self.all() if j.status in ("done", "failed")]
        for job in finished[: max(0, len(finished) - self.keep)]:
            with contextlib.suppress(FileNotFoundError):
                (self.folder / f"{job.job_id}.json").unlink()

    @staticmethod
    def _read(path: Path) -> Job | None:
        try:
            return Job.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    # -- locks ---------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def runner_lock(self) -> Iterator[bool]:
        """Yields whether this process holds the runner lock (another process running jobs: False)."""
        with self._flock(RUNNER_LOCK, blocking=False) as held:
            yield held

    @contextlib.contextmanager
    def _flock(self, name: str, blocking: bool) -> Iterator[bool]:
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / name, "a+") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True  # closing the file releases the lock (a killed process releases it too)


def now_ns() -> int:
    return time.time_ns()


def public_view(job: Job) -> dict[str, Any]:
    """What GET /v1/jobs/{id} shows."""
    return {"job_id": job.job_id, "kind": job.kind, "status": job.status,
            "result": job.result.model_dump(mode="json"), "error": job.error}
