"""Running document jobs: the queued uploads and deletes become one new build, published atomically.

One job build runs at a time across every worker process (JobStore.runner_lock). The runner thread of a
worker starts when a job is submitted to it (or at start-up, for jobs left queued) and stops when the queue
is empty; while another process holds the lock it waits and looks again, so a queued job is never left behind.

A batch takes the waiting jobs in order (at most `jobs_batch_max`), applies them to the corpus of the build in
service (ingest.corpus_edit: the kept documents are not re-parsed, and their vectors are reused), builds and
publishes a new build, then moves uploaded files into the sources folder and removes deleted ones. Requests in
flight finish on the old build (each request holds the build it started with); the runner loads the new build
before it marks the jobs done, so a client that saw `done` asks the new build. The `ingest` rules hold: files
that cannot be read are listed under `skipped`, and a job where every file is skipped fails with the reasons.

With the Milvus store a batch runs under the write lease (qa_service.store `writing()`, across replicas) and
starts from the build the store has in service now, not this replica's load, which may be a poll behind: two
replicas taking uploads at the same moment run one after the other, the second on top of the first. Uploaded
files are stored in Milvus before the build is published and dropped from it after a build no longer has them.
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ingest.corpus_edit import add_parsed, corpus_of, remove_source, source_of
from ingest.index_build import build_index
from ingest.integrity import REBUILD_COMMAND
from ingest.manifest import Manifest
from ingest.milvus_lease import LeaseBusy, LeaseLost
from ingest.milvus_publish import PublishConflict
from ingest.models import ParsedCorpus
from ingest.pipeline import parse_paths
from ingest.publish import IndexBusy

from .errors import ServiceError
from .jobs import Job, JobResult, JobStore, SkippedFile
from .service import QAService

log = logging.getLogger(__name__)
_RETRY_SECONDS = 0.5


class JobFailed(Exception):
    """A job (or the whole batch) cannot be applied; the message is shown to the client as the job's error."""


@dataclass
class _Batch:
    corpus: ParsedCorpus
    base: Manifest | None
    # ("move", staged file, destination) or ("remove", source file), applied in order once the build is published
    actions: list[tuple[str, Path, Path | None]] = field(default_factory=list)
    changed: list[Job] = field(default_factory=list)
    uploads: set[str] = field(default_factory=set)  # paths of the corpus's files that are uploads kept in the store
    stage: dict[str, Path] = field(default_factory=dict)  # uploaded files to keep in the store: {name: staged file}


class JobRunner:
    def __init__(self, service: QAService, store: JobStore) -> None:
        self.service = service
        self.settings = service.settings
        self.store = store
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()  # never set: an interruptible sleep

    def kick(self) -> None:
        """Make sure a runner thread is looking at the queue."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="reportqa-jobs", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self.store.waiting():
                    self._thread = None
                    return
            try:
                ran = self.run_pending()
            except Exception:  # noqa: BLE001 - the thread must outlive one bad batch
                log.exception("document job runner failed")
                ran = False
            if not ran:
                self._idle.wait(_RETRY_SECONDS)

    def run_pending(self) -> bool:
        """Run one batch of waiting jobs; False when another process is running jobs."""
        with self.store.runner_lock() as held:
            if not held:
                return False
            for job in self.store.all():
                if job.status == "running":  # only the lock holder runs jobs: this one's process died
                    self.store.finish(job, "failed", "interrupted: the server stopped while the job ran; submit it again")
            jobs = self.store.waiting()[: self.settings.jobs_batch_max]
            if jobs:
                try:
                    self._run_batch(jobs)
                except LeaseBusy as exc:  # another replica writes: the jobs stay queued
                    log.info("document jobs wait: %s", exc)
                    return False
            self.store.prune()
        return True

    # -- one batch -----------------------------------------------------------------------------------------
    def _run_batch(self, jobs: list[Job]) -> None:
        """The batch under the store's write lease (LeaseBusy: not taken, the jobs are still queued)."""
        try:
            with self.service.store.writing():
                self._edit_and_build(jobs)
        except LeaseBusy:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. Milvus unreachable when taking the lease: the jobs say so
            log.exception("document jobs failed")
            for job in jobs:
                if job.status in ("queued", "running"):
                    self.store.finish(job, "failed", f"the job failed ({type(exc).__name__}); see the server log")

    def _edit_and_build(self, jobs: list[Job]) -> None:
        for job in jobs:
            job.status = "running"
            self.store.save(job)
        try:
            batch = self._base()
        except JobFailed as exc:
            for job in jobs:
                self.store.finish(job, "failed", str(exc))
            return
        for job in jobs:
            try:
                self._apply(job, batch)
            except JobFailed as exc:
                self.store.finish(job, "failed", str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - one job's bug must not strand the batch as "running"
                log.exception("document job %s failed", job.job_id)
                self.store.finish(job, "failed", f"the job failed ({type(exc).__name__}); see the server log")
                continue
            batch.changed.append(job)
        if batch.changed:
            self._build(batch)

    def _base(self) -> _Batch:
        """The corpus of the build in service (empty when there is no index yet)."""
        try:
            # Milvus: the build in service now, under the lease (this replica's load is used only if it is that one)
            published = self.service.store.published(self._loaded_index())
        except Exception as exc:  # noqa: BLE001 - Milvus unreachable or its build unreadable
            log.warning("the build in service could not be read: %s", exc)
            raise JobFailed(f"the build in service could not be read from the store ({type(exc).__name__})") from None
        if published is not None:
            return _Batch(published.corpus, published.manifest, uploads=published.uploads)
        try:
            missing = self.service.store.key() is None
        except ServiceError as exc:  # Milvus unreachable
            raise JobFailed(exc.message) from None
        if missing:
            return _Batch(ParsedCorpus(documents=[], sections=[], chunks=[], glossary=[], files=[]), None)
        try:
            index = self.service.loaded().index
        except ServiceError as exc:
            raise JobFailed(exc.message) from None
        return _Batch(corpus_of(index), index.manifest)

    def _loaded_index(self):
        try:
            return self.service.loaded().index
        except ServiceError:
            return None

    def _apply(self, job: Job, batch: _Batch) -> None:
        if job.kind == "delete":
            self._apply_delete(job, batch)
        else:
            self._apply_upload(job, batch)

    def _apply_delete(self, job: Job, batch: _Batch) -> None:
        source = source_of(batch.corpus, job.doc_id or "")
        if source is None:
            raise JobFailed(f"unknown doc_id: {job.doc_id!r}")
        job.result = JobResult(documents=remove_source(batch.corpus, source))
        path = Path(source)
        if _inside(path, self.settings.sources_dir()):  # files outside the sources folder are not ours to delete
            batch.actions.append(("remove", path, None))

    def _apply_upload(self, job: Job, batch: _Batch) -> None:
        staged = [self.store.staging(job.job_id) / name for name in job.files]
        parsed = parse_paths(staged, self.settings.chunking_config()).corpus if staged else None
        names = {str(p): p.name for p in staged}
        moves: dict[str, Path] = {}
        sources = self.settings.sources_dir().resolve()
        for raw in parsed.files if parsed else []:
            name = Path(raw.path).name
            # the same name uploaded through another replica (its own sources folder) is the same file: replaced
            final = next((p for p in batch.uploads if Path(p).name == name), str(sources / name))
            for doc in parsed.documents:
                if doc.source_file == raw.path:
                    doc.source_file = final
            names[final], moves[final] = names[raw.path], Path(raw.path)
            raw.path = final
        added = add_parsed(batch.corpus, parsed, names) if parsed else None
        skipped = list(job.result.skipped) + [SkippedFile(path=s.path, reason=s.reason)
                                              for s in (added.skipped if added else [])]
        job.result = JobResult(documents=added.documents if added else [], skipped=skipped)
        if not job.result.documents:
            reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped) or "no file"
            raise JobFailed(f"every file was skipped ({reasons})")
        kept = {f.path for f in batch.corpus.files}
        # kept locally in this replica's sources folder (whatever path another replica gave the file)
        batch.actions.extend(("move", src, sources / Path(dst).name) for dst, src in moves.items() if dst in kept)
        batch.stage.update({Path(dst).name: src for dst, src in moves.items() if dst in kept})

    def _build(self, batch: _Batch) -> None:
        try:
            if not batch.corpus.chunks:
                raise JobFailed("the index would have no document left; it was not changed")
            config = self.settings.build_config(embed_model=_embed_spec(batch.base, self.settings.embed_model))
            self.service.store.stage_sources(batch.stage)  # Milvus: the uploaded files, before the build names them
            result = build_index(batch.corpus, config)
            self.service.store.publish(result)  # Milvus: upload and swap the alias (a no-op when embedded)
        except (JobFailed, PublishConflict, LeaseLost) as exc:
            return self._fail_all(batch, str(exc))
        except IndexBusy:
            return self._fail_all(batch, "another ingest is building the index right now; submit the job again")
        except Exception as exc:  # noqa: BLE001 - the job says it failed; the trace goes to the log
            log.exception("document job build failed")
            return self._fail_all(batch, f"the build failed ({type(exc).__name__}); see the server log")
        self._apply_actions(batch.actions)
        try:
            self.service.store.commit_sources(result.manifest)  # Milvus: drop stored files the build no longer has
        except Exception:  # noqa: BLE001 - leftovers are dropped by the next commit; the build is published
            log.exception("dropping replaced uploads from the store failed")
        try:
            self.service.warm_up()  # load the new build (and its tokenizer) here before saying `done`
        except ServiceError as exc:
            log.warning("the new build did not load: %s (rebuild: %s)", exc.message, REBUILD_COMMAND)
        except Exception:  # noqa: BLE001 - the build is published; a failed warm-up only costs the next request
            log.exception("warming up the new build failed")
        for job in batch.changed:
            self.store.finish(job, "done")

    def _fail_all(self, batch: _Batch, message: str) -> None:
        for job in batch.changed:
            self.store.finish(job, "failed", message)

    def _apply_actions(self, actions: list[tuple[str, Path, Path | None]]) -> None:
        for action, path, dst in actions:
            if action == "move" and dst is not None:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), str(dst))
            elif action == "remove":
                path.unlink(missing_ok=True)


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _embed_spec(base: Manifest | None, default: str) -> str:
    """Embed new documents as the index in service does: no dense arm, its offline model, or its named model."""
    from ingest.embeddings import KIND_OFFLINE

    if base is None:
        return default
    if base.embedding.model is None:
        return "none"
    if base.embedding.kind == KIND_OFFLINE:
        return "offline"  # the previous build's model is carried over, so unchanged files keep their vectors
    return base.embedding.model
