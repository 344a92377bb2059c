"""Document management over HTTP: upload and delete documents as background jobs, and poll the jobs.

    POST   /v1/documents          multipart, field `files` (one or many txt/md/docx/pdf/html) -> 202 {"job_id"}
    DELETE /v1/documents/{doc_id} -> 202 {"job_id"}: the document's source file, with every document split from it
    GET    /v1/jobs/{job_id}      -> {"job_id", "kind", "status", "result": {"documents", "skipped"}, "error"}

Past `jobs_queue_max` waiting jobs both submissions answer 429; an upload larger than `upload_max_bytes` 413.
Every route needs the admin role (qa_service.auth.require_role): a query key gets 403, no key 401.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, File, UploadFile
from pydantic import BaseModel

from ingest.loaders import SUPPORTED_EXTENSIONS

from .auth import require_role
from .errors import BadRequest, NotFound, ServiceError
from .job_runner import JobRunner
from .jobs import Job, JobResult, JobStore, SkippedFile, now_ns, public_view
from .schemas import ErrorResponse
from .service import QAService

_ERRORS = {code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 413, 422, 429, 503)}
_CHUNK = 1 << 20
_MAX_NAME = 200
_BAD_NAME_RE = re.compile(r"[\x00-\x1f]")


class TooLarge(ServiceError):
    status = 413
    type = "payload_too_large"


class JobAccepted(BaseModel):
    job_id: str


class JobView(BaseModel):
    job_id: str
    kind: Literal["upload", "delete"]
    status: Literal["queued", "running", "done", "failed"]
    result: JobResult
    error: str | None = None



def install_document_jobs(app: FastAPI, service: QAService) -> JobRunner:
    """Add the document routes to `app`, with a job runner (`app.state.jobs`) started for jobs left queued."""
    settings = service.settings
    store = JobStore(settings.jobs_dir(), settings.jobs_queue_max, settings.jobs_keep)
    runner = JobRunner(service, store)
    app.state.jobs = runner
    if store.folder.is_dir():
        runner.kick()  # jobs left queued by a previous run (a worker restarted)
    app.include_router(documents_router(service, store, runner))
    return runner


def documents_router(service: QAService, store: JobStore, runner: JobRunner) -> APIRouter:
    router = APIRouter(dependencies=[Depends(require_role("admin"))], tags=["documents"], responses=_ERRORS)
    limit = service.settings.upload_max_bytes

    # min_length=1: the schema says `files` holds at least one file (minItems), as the server enforces (a
    # multipart body with no `files` part is 422); the items are binary (contentMediaType octet-stream).
    @router.post("/v1/documents", status_code=202, response_model=JobAccepted)
    def upload(
        files: Annotated[list[UploadFile], File(description="txt, md, docx, pdf or html files", min_length=1)],
    ) -> JobAccepted:
        store.check_room()
        job = Job(job_id=store.new_id(), kind="upload", status="queued", created_ns=now_ns())
        _stage(files, store.staging(job.job_id), job, limit)
        store.submit(job)
        runner.kick()
        return JobAccepted(job_id=job.job_id)

    @router.delete("/v1/documents/{doc_id}", status_code=202, response_model=JobAccepted)
    def delete(doc_id: str) -> JobAccepted:
        """Queue the document's deletion: 202 with a job (poll `GET /v1/jobs/{job_id}`). Asynchronous: the
        document stays readable (`GET /v1/documents/{doc_id}` 200) until the job is done."""
        if doc_id not in service.loaded().index.documents:
            raise NotFound(f"unknown doc_id: {doc_id!r}")
        job = store.submit(Job(job_id=store.new_id(), kind="delete", status="queued", created_ns=now_ns(),
                               doc_id=doc_id))
        runner.kick()
        return JobAccepted(job_id=job.job_id)

    @router.get("/v1/jobs/{job_id}", response_model=JobView)
    def job_status(job_id: str) -> JobView:
        job = store.get(job_id)
        if job is None:
            raise NotFound(f"unknown job_id: {job_id!r}")
        return JobView(**public_view(job))

    return router


def _stage(files: list[UploadFile], folder: Path, job: Job, limit: int) -> None:
    """Copy the uploads into the job's staging folder; unusable names are listed as skipped."""
    if not files:
        raise BadRequest("no file in the request (multipart field `files`)")
    total = 0
    try:
        for upload in files:
            name = safe_name(upload.filename or "")
            reason = _unusable(name, job.files)
            if reason:
                job.result.skipped.append(SkippedFile(path=name or "(no name)", reason=reason))
                continue
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / name, "wb") as out:
                while block := upload.file.read(_CHUNK):
                    total += len(block)
                    if total > limit:
                        raise TooLarge(f"the upload is larger than {limit} bytes (REPORTQA_UPLOAD_MAX_BYTES)")
                    out.write(block)
            job.files.append(name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def safe_name(filename: str) -> str:
    """The file's own name, whatever folder a client sent with it (`../x.txt`, `C:\\a\\x.txt` -> `x.txt`)."""
    return PureWindowsPath(PurePosixPath(filename).name).name.strip()


def _unusable(name: str, taken: list[str]) -> str | None:
    if not name or name.startswith(".") or len(name) > _MAX_NAME or _BAD_NAME_RE.search(name):
        return "invalid file name"
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        return f"unsupported file type {suffix or '(no extension)'}"
    if name in taken:
        return "the same file name twice in one upload"
    return None
