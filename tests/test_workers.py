"""What worker processes share: the document-job locks across processes, the Prometheus multiprocess folder,
and the settings handed to each worker (qa_service.server).

The job tests fork real processes (each with its own open file, as each uvicorn worker has) over one jobs folder.
"""

from __future__ import annotations

import pickle
import multiprocessing
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa_service import server
from qa_service.config import Settings
from qa_service.job_runner import JobRunner
from qa_service.jobs import Job, JobStore, QueueFull, now_ns

_fork = multiprocessing.get_context("fork")  # the children share this test's imports; fast to start


class _RecordingRunner(JobRunner):
    """A runner whose batch "build" appends the job ids it ran to a log (O_APPEND: one line per write)."""

    def __init__(self, store: JobStore, log: Path, batch_max: int):
        super().__init__(SimpleNamespace(settings=Settings(jobs_batch_max=batch_max)), store)  # type: ignore[arg-type]
        self.log = log

    def _run_batch(self, jobs: list[Job]) -> None:
        for job in jobs:
            job.status = "running"
            self.store.save(job)
        with open(self.log, "a", encoding="utf-8") as fh:
            fh.write("".join(f"{os.getpid()} {job.job_id}\n" for job in jobs))
        for job in jobs:
            self.store.finish(job, "done")


def _drain(folder: Path, log: Path, start) -> None:
    store = JobStore(folder, queue_max=100, keep=1000)
    runner = _RecordingRunner(store, log, batch_max=2)
    start.wait()
    while store.waiting():
        runner.run_pending()


def _submit_one(folder: Path, out: Path, start) -> None:
    store = JobStore(folder, queue_max=5, keep=1000)
    start.wait()
    try:
        store.submit(Job(job_id=store.new_id(), kind="delete", status="queued", created_ns=now_ns(), doc_id="a"))
        verdict = "accepted"
    except QueueFull:
        verdict = "refused"
    with open(out, "a", encoding="utf-8") as fh:
        fh.write(verdict + "\n")


def _hold_runner_lock(folder: Path, held, release) -> None:
    with JobStore(folder, 1, 1).runner_lock() as ok:
        held.send(ok)
        release.wait()


def _run(target, *args, n: int) -> None:
    start = _fork.Event()
    procs = [_fork.Process(target=target, args=(*args, start)) for _ in range(n)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join()
        assert p.exitcode == 0


def test_queued_jobs_run_exactly_once_across_processes(tmp_path):
    store = JobStore(tmp_path / "jobs", queue_max=100, keep=1000)
    ids = [store.submit(Job(job_id=store.new_id(), kind="delete", status="queued", created_ns=now_ns() + i,
                            doc_id=f"d{i}")).job_id for i in range(24)]
    log = tmp_path / "ran.log"
    _run(_drain, store.folder, log, n=4)
    ran = [line.split() for line in log.read_text(encoding="utf-8").splitlines()]
    assert sorted(job_id for _, job_id in ran) == sorted(ids)  # every job, none twice
    assert [job_id for _, job_id in ran] == ids  # in submission order: one runner at a time
    assert {j.status for j in store.all()} == {"done"}


def test_the_queue_cap_holds_across_processes(tmp_path):
    out = tmp_path / "verdicts"
    _run(_submit_one, tmp_path / "jobs", out, n=12)
    verdicts = out.read_text(encoding="utf-8").split()
    assert verdicts.count("accepted") == 5 and verdicts.count("refused") == 7
    assert len(JobStore(tmp_path / "jobs", 5, 1000).waiting()) == 5


def test_the_runner_lock_excludes_another_process_until_it_ends(tmp_path):
    folder = tmp_path / "jobs"
    parent_end, child_end = _fork.Pipe()
    release = _fork.Event()
    child = _fork.Process(target=_hold_runner_lock, args=(folder, child_end, release))
    child.start()
    try:
        assert parent_end.recv() is True  # the child holds it
        with JobStore(folder, 1, 1).runner_lock() as held:
            assert held is False
    finally:
        release.set()
        child.join()
    with JobStore(folder, 1, 1).runner_lock() as held:
        assert held is True


def test_a_killed_runner_releases_the_lock_and_its_job_is_failed_not_rerun(tmp_path):
    folder = tmp_path / "jobs"
    store = JobStore(folder, queue_max=10, keep=100)
    job = store.submit(Job(job_id=store.new_id(), kind="delete", status="queued", created_ns=now_ns(), doc_id="a"))
    job.status = "running"  # as a runner left it when its process was killed mid-build
    store.save(job)
    parent_end, child_end = _fork.Pipe()
    child = _fork.Process(target=_hold_runner_lock, args=(folder, child_end, _fork.Event()))
    child.start()
    assert parent_end.recv() is True
    child.kill()
    child.join()
    runner = _RecordingRunner(store, tmp_path / "ran.log", batch_max=2)
    assert runner.run_pending() is True
    again = store.get(job.job_id)
    assert again.status == "failed" and "interrupted" in again.error
    assert not (tmp_path / "ran.log").exists()


def test_worker_count_prefers_the_flag_then_the_setting_then_the_cores():
    assert server.worker_count(Settings(workers=3), 2) == 2
    assert server.worker_count(Settings(workers=3)) == 3
    assert server.worker_count(Settings()) == (os.cpu_count() or 1)


def test_workers_get_the_cli_settings_not_a_fresh_environment(tmp_path, monkeypatch):
    settings = Settings(index=tmp_path / "given", access_log=False, api_keys="k:admin")
    monkeypatch.setenv(server.SETTINGS_ENV, settings.model_dump_json())
    monkeypatch.setenv("REPORTQA_INDEX", str(tmp_path / "from-env"))
    handed = Settings.model_validate_json(os.environ[server.SETTINGS_ENV])
    assert handed == settings


@pytest.fixture
def no_multiproc_env():
    """prepare_metrics_dir sets PROMETHEUS_MULTIPROC_DIR; it must not leak into other tests' metrics."""
    saved = os.environ.pop(server.MULTIPROC_ENV, None)
    yield
    os.environ.pop(server.MULTIPROC_ENV, None)
    if saved is not None:
        os.environ[server.MULTIPROC_ENV] = saved


def test_worker_app_is_warm_before_it_is_returned(tmp_path, monkeypatch):
    from doc_jobs import build_gazette_index

    index = build_gazette_index(tmp_path / "index")
    monkeypatch.setenv(server.SETTINGS_ENV, Settings(index=index, access_log=False).model_dump_json())
    app = server.worker_app()
    assert app.state.service.build_id() is not None  # the index was loaded by the factory, before any request


def test_metrics_folder_is_made_for_several_workers_and_emptied_when_given(tmp_path, no_multiproc_env):
    assert server.prepare_metrics_dir(1) is None and server.MULTIPROC_ENV not in os.environ
    made = server.prepare_metrics_dir(2)
    assert made is not None and made.is_dir() and os.environ[server.MULTIPROC_ENV] == str(made)
    given = tmp_path / "prom"
    given.mkdir()
    (given / "counter_123.db").write_bytes(b"stale")
    (given / "keep.txt").write_text("not ours")
    os.environ[server.MULTIPROC_ENV] = str(given)
    assert server.prepare_metrics_dir(1) == given
    assert sorted(p.name for p in given.iterdir()) == ["keep.txt"]


def test_uvicorn_options_are_one_place_for_both_ways_of_serving():
    options = server.uvicorn_options(Settings(), "127.0.0.1", 8123)
    assert options["host"] == "127.0.0.1" and options["port"] == 8123
    # The same dict feeds uvicorn.run with an app or with the factory; spawned workers receive it pickled, and it
    # carries the limits (the header-deadline protocol).
    assert pickle.loads(pickle.dumps(options))["timeout_keep_alive"] == Settings().keep_alive_timeout
    assert "http" in options


def test_worker_connections_get_tcp_nodelay():
    """uvicorn's shared socket has proto 0, so asyncio left Nagle on for every worker connection (~40 ms stalls)."""
    import asyncio
    import socket

    import uvicorn

    async def accepted_nodelay(listener: socket.socket) -> int:
        seen: asyncio.Future = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport):
                seen.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server_ = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        try:
            return await asyncio.wait_for(seen, 30)
        finally:
            writer.close()
            server_.close()

    # What uvicorn before 0.55 bound (proto 0), made by hand so the test holds on either side of the fix.
    bare = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    bare.bind(("127.0.0.1", 0))
    bare.listen()
    assert bare.proto == 0
    assert asyncio.run(accepted_nodelay(server._tcp_socket(bare))) != 0
    # And the socket this uvicorn binds, whatever its version.
    bound = uvicorn.Config(app=None, host="127.0.0.1", port=0).bind_socket()
    assert asyncio.run(accepted_nodelay(server._tcp_socket(bound))) != 0
