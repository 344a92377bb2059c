"""The write lease, held in Milvus itself: one writer at a time publishes (a document job or `reportqa ingest`, on
any replica), so a read-modify-write of the published build never loses another writer's change.

Milvus has no compare-and-swap, so the lease is built from inserts, deletes and Strong reads. The collection
P_lease holds a row per contender: `owner` (a random id per lease), `since` (ms, when it started asking), `expires`
(ms). To acquire:

1. insert my row (expiring `lease_seconds` from now);
2. read every unexpired row with consistency Strong, which on a server sees every write acknowledged before the
   read started (Milvus orders writes by its timestamp oracle and a Strong read waits for them all);
3. no other owner's row -> I hold the lease. Otherwise the later of the two by (since, owner) withdraws (deletes
   its row, waits, inserts again); the earlier keeps its row (its place in the line) and reads again.

Why "alone" and not "first by timestamp": the timestamps a client can write are its own clock's, and a row whose
insert is still in flight can be missed by an earlier reader; ordering by them can let two writers hold. "Alone"
is safe with any clocks: of two writers, the one whose insert was acknowledged second reads after the other's
row exists and sees it (so at most one reads "alone" while both rows stand). (since, owner) only decides who
yields, so contenders do not all back off at once. Milvus's auto ids are not used: a server's proxies allocate
them in batches, so they are not ordered by time across proxies.

A holder renews its row every `lease_seconds / 3` (a new row with a later expiry is inserted before the old one is
deleted, so a reader always sees one; upsert is not used: it is a delete plus an insert). A writer that dies stops
renewing and its row expires: the others go on after at most `lease_seconds`. Expiry compares wall clocks, so
writers' clocks must agree to well within `lease_seconds` (NTP gives milliseconds). `check()` (before the alias
swap) raises when the lease may have lapsed (no renewal for 2/3 of its time): a stalled writer does not publish.

milvus-lite: a file is opened by one process, so the lease only orders that process's writers; through
`milvus-lite server` writes are visible to the next read (measured: insert, Strong query, delete each 2-10 ms).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from typing import Any

from .milvus_store import MilvusConfig, client_for, create_record_collection, ensure_loaded

log = logging.getLogger(__name__)

_POLL_SECONDS = (0.05, 0.25)  # a waiting contender reads again after a random pause in this range


class LeaseBusy(RuntimeError):
    """Another writer held the write lease for all of the wait."""


class LeaseLost(RuntimeError):
    """The lease may have expired while held (no renewal reached Milvus): the writer must not publish."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _lease_fields(s: Any, DataType: Any) -> None:  # noqa: N803 - pymilvus's enum, imported lazily by the caller
    s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=128)
    s.add_field("owner", DataType.VARCHAR, max_length=128)
    s.add_field("since", DataType.INT64)
    s.add_field("expires", DataType.INT64)
    s.add_field("holder", DataType.VARCHAR, max_length=512)  # who: host and process, for the logs


def ensure_lease_collection(client: Any, config: MilvusConfig) -> None:
    if client.has_collection(config.lease_collection):
        ensure_loaded(client, config.lease_collection)
        return
    try:
        create_record_collection(client, config.lease_collection, _lease_fields)
    except Exception:  # noqa: BLE001 - two writers creating it at once: the other one won, which is fine
        if not client.has_collection(config.lease_collection):
            raise
    ensure_loaded(client, config.lease_collection)


class WriteLease:
    """One attempt at the lease: `acquire(wait)`, then `check()` before publishing, `release()` at the end."""

    def __init__(self, config: MilvusConfig, holder: str = "") -> None:
        self.config = config
        self.client = client_for(config)
        self.owner = uuid.uuid4().hex
        self.holder = " ".join(filter(None, [f"{os.uname().nodename} pid {os.getpid()}", holder]))
        self.ttl_ms = int(config.lease_seconds * 1000)
        self.since = _now_ms()
        self._seq = 0
        self._rows: list[str] = []  # ids of my rows in Milvus
        self._valid_until = 0.0  # monotonic: my newest row's expiry, as this process's clock measures it
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self.held = False

    # -- acquiring ---------------------------------------------------------------------------------------------
    def acquire(self, wait_seconds: float) -> None:
        ensure_lease_collection(self.client, self.config)
        deadline = time.monotonic() + wait_seconds
        logged = 0.0
        while True:
            if not self._rows:
                self._insert()
            elif self._valid_until - time.monotonic() < self.config.lease_seconds / 2:
                self._renew()  # a long wait: keep my place in the line from expiring
            others = self._others()
            if not others:
                self.held = True
                self._start_renewing()
                # rows of dead writers, long expired (a full lease past, whatever the clocks): nobody reads them
                self.client.delete(self.config.lease_collection, filter=f"expires < {_now_ms() - self.ttl_ms}")
                log.info("milvus: write lease %s acquired", self.owner[:8])
                return
            if min(others)[:2] < (self.since, self.owner):  # someone asked before me: step out of their way
                self._delete_mine()
            now = time.monotonic()
            if now >= deadline:
                self._delete_mine()
                raise LeaseBusy(f"another writer holds the Milvus write lease ({others[0][2]}); "
                                f"waited {wait_seconds:.0f} s (REPORTQA_MILVUS_LEASE_WAIT_SECONDS)")
            if now - logged > 10:
                log.info("milvus: waiting for the write lease (held or asked for by %s)", others[0][2])
                logged = now
            time.sleep(random.uniform(*_POLL_SECONDS))

    def _others(self) -> list[tuple[int, str, str]]:
        """(since, owner, holder) of every other owner's unexpired row, read Strong."""
        rows = self.client.query(self.config.lease_collection, filter=f"expires > {_now_ms()}",
                                 output_fields=["owner", "since", "holder"], consistency_level="Strong")
        return sorted({(int(r["since"]), r["owner"], r["holder"]) for r in rows if r["owner"] != self.owner})

    def _insert(self) -> None:
        self._seq += 1
        row_id = f"{self.owner}:{self._seq}"
        started = time.monotonic()
        self.client.insert(self.config.lease_collection, [{
            "id": row_id, "owner": self.owner, "since": self.since, "expires": _now_ms() + self.ttl_ms,
            "holder": self.holder[:500], "v": [0.0, 0.0]}])
        self._rows.append(row_id)
        self._valid_until = started + self.config.lease_seconds

    def _renew(self) -> None:
        old = list(self._rows)
        self._insert()  # the new row first: a reader always sees one of mine
        self._delete(old)

    def _delete(self, ids: list[str]) -> None:
        if ids:
            self.client.delete(self.config.lease_collection, ids=ids)
            self._rows = [r for r in self._rows if r not in ids]

    def _delete_mine(self) -> None:
        self._delete(list(self._rows))

    # -- holding -----------------------------------------------------------------------------------------------
    def _start_renewing(self) -> None:
        self._renewer = threading.Thread(target=self._renew_loop, name="reportqa-lease", daemon=True)
        self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.config.lease_seconds / 3):
            try:
                self._renew()
            except Exception as exc:  # noqa: BLE001 - Milvus unreachable: check() will refuse to publish
                log.warning("milvus: renewing the write lease failed: %s", exc)

    def check(self) -> None:
        """Raise LeaseLost unless the lease is held with a third of its time left (publish only then)."""
        if not self.held or self._valid_until - time.monotonic() < self.config.lease_seconds / 3:
            raise LeaseLost("the Milvus write lease lapsed while the build ran (Milvus unreachable?); not published")

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            self._delete_mine()
        except Exception as exc:  # noqa: BLE001 - the row expires by itself
            log.warning("milvus: releasing the write lease failed (it expires in %.0f s): %s",
                        self.config.lease_seconds, exc)
        self.held = False
