"""The Milvus write lease (ingest.milvus_lease) and the uploaded files kept in Milvus (ingest.milvus_sources), on a
milvus-lite file in this process; the same code across `reportqa serve` processes is in test_milvus_writers.py."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from ingest.milvus_lease import LeaseBusy, LeaseLost, WriteLease, ensure_lease_collection  # noqa: E402
from ingest.milvus_sources import download, keep_only, put_source, stored_sources  # noqa: E402
from ingest.milvus_store import FILE_PART_BYTES, client_for  # noqa: E402
from milvus_contract import milvus_settings  # noqa: E402


def _config(tmp_path, lease_seconds: float = 30.0):
    return milvus_settings(str(tmp_path / "m.db"), tmp_path / "cache", milvus_lease_seconds=lease_seconds,
                           milvus_lease_wait_seconds=0.0).milvus_config()


def test_a_second_writer_waits_until_the_first_releases(tmp_path):
    config = _config(tmp_path)
    first, second = WriteLease(config, "first"), WriteLease(config, "second")
    first.acquire(0)
    with pytest.raises(LeaseBusy, match="first"):
        second.acquire(0.3)
    first.check()  # the holder may publish
    first.release()
    second.acquire(0)
    second.check()
    second.release()


def test_one_holder_at_a_time_among_racing_writers(tmp_path):
    config = _config(tmp_path)
    ensure_lease_collection(client_for(config), config)
    inside, overlaps, held = [0], [], []
    guard = threading.Lock()

    def writer(n: int) -> None:
        for _ in range(3):
            lease = WriteLease(config, f"writer {n}")
            lease.acquire(120)
            with guard:
                inside[0] += 1
                overlaps.append(inside[0])
            time.sleep(0.02)  # the critical section: another holder now would be seen
            with guard:
                inside[0] -= 1
                held.append(n)
            lease.release()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(held) == sorted(list(range(4)) * 3)  # every writer got it, every time
    assert max(overlaps) == 1  # never two at once


def test_a_dead_writers_lease_is_superseded_after_it_expires(tmp_path):
    config = _config(tmp_path, lease_seconds=1.0)
    client = client_for(config)
    ensure_lease_collection(client, config)
    # the row a writer leaves when it is killed holding the lease: never renewed, never deleted
    client.insert(config.lease_collection, [{"id": "dead:1", "owner": "dead", "since": 0, "holder": "a killed ingest",
                                             "expires": int(time.time() * 1000) + 1000, "v": [0.0, 0.0]}])
    lease = WriteLease(config, "next")
    with pytest.raises(LeaseBusy, match="a killed ingest"):
        lease.acquire(0)
    lease.acquire(30)  # the dead writer's row expires; nobody has to remove it
    lease.check()
    lease.release()
    time.sleep(1.1)  # a full lease past its expiry: the next holder clears it away
    later = WriteLease(config, "later")
    later.acquire(0)
    later.release()
    assert client.query(config.lease_collection, filter='owner == "dead"', output_fields=["id"]) == []


def test_a_lease_not_renewed_refuses_to_publish(tmp_path):
    config = _config(tmp_path, lease_seconds=0.6)
    lease = WriteLease(config, "stalled")
    lease.acquire(0)
    lease._stop.set()  # renewals stop reaching Milvus (as when it is unreachable)
    lease._renewer.join()
    time.sleep(0.5)
    with pytest.raises(LeaseLost):
        lease.check()
    lease.release()


def test_uploaded_files_round_trip_through_milvus_in_parts(tmp_path):
    config = _config(tmp_path)
    client = client_for(config)
    big = tmp_path / "big.txt"
    big.write_bytes(("嘉定区" * 9000).encode("utf-8") + b"end")  # 81 kB: two parts
    small = tmp_path / "small.txt"
    small.write_text("小文件", encoding="utf-8")
    stored = [put_source(client, config, big), put_source(client, config, small)]
    assert stored[0].parts == 2 and big.stat().st_size > FILE_PART_BYTES
    assert {(s.name, s.sha256) for s in stored_sources(client, config)} == {(s.name, s.sha256) for s in stored}
    out = tmp_path / "out"
    for s in stored:
        assert download(client, config, s, out).read_bytes() == (tmp_path / s.name).read_bytes()
    small.write_text("小文件，第二版", encoding="utf-8")
    second = put_source(client, config, small)  # a new version beside the old one, until the build names it
    assert len([s for s in stored_sources(client, config) if s.name == "small.txt"]) == 2
    assert keep_only(client, config, {"small.txt": second.sha256}) == ["big.txt"]
    assert [(s.name, s.sha256) for s in stored_sources(client, config)] == [("small.txt", second.sha256)]


def test_a_file_whose_upload_was_cut_short_is_not_listed(tmp_path):
    config = _config(tmp_path)
    client = client_for(config)
    put_source(client, config, _write(tmp_path / "x.txt", "x" * 100))
    whole = stored_sources(client, config)
    # a writer killed mid-upload leaves later parts without part 0, which is written last
    client.insert(config.sources_collection, [{"id": "k:abc:1", "name": "cut.txt", "sha256": "abc", "part": 1,
                                               "parts": 2, "stored": 1, "data": "", "v": [0.0, 0.0]}])
    assert stored_sources(client, config) == whole


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path
