"""The question log's background writer: a bounded queue and one thread, so logging never slows an answer.

A failed batch is retried with backoff, then dropped: the rows are counted in `dropped`, and one log line
says so when an outage starts and one when it ends (not one per row). While the database stays down each
new batch gets a single attempt, so the queue keeps moving. Rows already committed survive any restart.
"""
from __future__ import annotations

import logging
import queue
import threading
import time

log = logging.getLogger("glossarian.questionlog")

QUEUE_MAX = 10_000   # ~5 MB of rows; beyond it new rows are dropped (and counted) rather than held
BATCH_MAX = 200
RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0)  # ~4 s of retries covers a database restart or failover blip
RETENTION_EVERY_S = 3600


class Writer:
    def __init__(self, store, retention_days: int = 0):
        self.store = store
        self.retention_days = retention_days
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_MAX)
        self.written = 0
        self.dropped = 0
        self.failures = 0  # failed attempts (each retry counts)
        self.down_since: float | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._idle = threading.Condition()
        self._pending = 0
        self._stop = False
        self._next_retention = 0.0

    def put(self, row: dict, client, client_key) -> None:
        self._ensure_thread()
        with self._idle:
            self._pending += 1
        try:
            self.queue.put_nowait((row, client, client_key))
        except queue.Full:
            self._done(1)
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("Question log queue full: %d rows dropped so far", self.dropped)

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="question-log", daemon=True)
                    self._thread.start()

    def _done(self, n: int) -> None:
        with self._idle:
            self._pending -= n
            self._idle.notify_all()

    def flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float) -> None:
        self.flush(timeout)
        self._stop = True

    # -- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop:
            try:
                first = self.queue.get(timeout=1.0)
            except queue.Empty:
                self._maybe_retention()
                continue
            batch = [first]
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)
            self._done(len(batch))
            self._maybe_retention()

    def _rows(self, batch) -> list[dict]:
        rows = []
        for row, client, client_key in batch:
            if client:
                row = {**row, "client": client_key(client)}
            rows.append(row)
        return rows

    def _write(self, batch) -> None:
        delays = RETRY_DELAYS_S if self.down_since is None else ()
        for attempt in range(len(delays) + 1):
            try:
                self.store.insert_questions(self._rows(batch))
                self.written += len(batch)
                if self.down_since is not None:
                    log.warning("Question log is writing again after %.0f s; %d rows dropped in all",
                                time.monotonic() - self.down_since, self.dropped)
                    self.down_since = None
                return
            except Exception as exc:
                self.failures += 1
                reason = str(exc).splitlines()[0][:200]
                if attempt < len(delays):
                    time.sleep(delays[attempt])
        self.dropped += len(batch)
        if self.down_since is None:
            self.down_since = time.monotonic()
            log.error("Question log: cannot write to %s (%s); dropping rows until it is back",
                      _where(self.store), reason)

    def _maybe_retention(self) -> None:
        if self.retention_days <= 0 or time.monotonic() < self._next_retention:
            return
        self._next_retention = time.monotonic() + RETENTION_EVERY_S
        try:
            removed = self.store.delete_older_than(self.retention_days)
            if removed:
                log.info("Question log: deleted %d questions older than %d days", removed, self.retention_days)
        except Exception as exc:
            self._next_retention = time.monotonic() + 60  # try again soon
            log.debug("Retention pass failed: %s", exc)


def _where(store) -> str:
    from glossarian.questionlog.store import redact

    return redact(store.url)
