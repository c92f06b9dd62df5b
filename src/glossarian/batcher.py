"""Dynamic batching of question encoding: concurrent requests share one forward pass per lane.

A `BatchingEmbedder` wraps the Embedder seam. Every `embed_queries` call joins one queue. A free lane (one
encoder: the wrapped embedder, or a replica sharing its weights) takes up to `max_batch` questions from the
queue and encodes them in one forward pass; while every lane is busy, new questions wait in the queue and go
together in the next pass. Nobody is woken to become a "server thread": the caller that finds a free lane
encodes (its own question and whoever queued with it) and hands the lane to the next waiter when it is done.

The window is adaptive: a lone request is encoded at once (no wait at all). Only when recent passes carried
more than one question — i.e. concurrent readers are arriving — does a lane wait up to `window_ms` for the
queue to fill before it starts a pass that is not full.

Lanes and cores: `lanes` encoders each run with torch's one intra-op thread (Settings.threads = 1), so two
lanes keep two cores busy with two batches at once. See README "Serving many readers" for the measurements
behind the defaults (threads vs lanes vs worker processes on this machine).
"""
from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from glossarian.embedding import Embedder

MAX_BATCH = 16  # questions per forward pass; the measured throughput curve is flat beyond 16-32
WINDOW_MS = 2.0  # longest wait for company, only under concurrent load
BUSY_EWMA = 1.3  # recent mean batch size above which the window opens


class _Request:
    __slots__ = ("texts", "done", "result", "error", "lane", "wake", "driving")

    def __init__(self, texts: list[str]):
        self.texts = texts
        self.done = False
        self.result: np.ndarray | None = None
        self.error: BaseException | None = None
        self.lane: int | None = None  # set when this waiter is handed a lane to drive
        self.wake = threading.Event()  # set (with the lock held) when `done` or `lane` changed
        self.driving = False  # its caller drives a lane already: never hand it another one


class BatchingEmbedder(Embedder):
    """An Embedder whose `embed_queries` batches concurrent callers; `embed_passages` goes straight through."""

    def __init__(self, inner: Embedder, lanes: int = 1, max_batch: int = MAX_BATCH, window_ms: float = WINDOW_MS):
        self.inner = inner
        self.name, self.fingerprint, self.dim = inner.name, inner.fingerprint, inner.dim
        replica = getattr(inner, "replica", None)
        self.lanes: list[Embedder] = [inner] + [replica() for _ in range(max(1, lanes) - 1)] if replica else [inner]
        self.max_batch = max(1, max_batch)
        self.window_s = max(0.0, window_ms) / 1000.0
        self._queue: deque[_Request] = deque()
        self._free = list(range(len(self.lanes)))
        self._lock = threading.Lock()
        # Only a lane waiting in its window for the queue to fill waits on this. Every other caller waits on its
        # own request's event, woken only when its answer is ready or a lane is handed to it (one shared condition
        # woke every waiting reader after every pass).
        self._filling = threading.Condition(self._lock)
        self._ewma = 1.0  # mean questions per pass, recent passes weighted most
        self.passes = 0  # forward passes run (for tests and the bench)
        self.batched = 0  # questions encoded

    # -- the seam ---------------------------------------------------------------------------------------------
    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self.inner.embed_passages(texts, progress)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return self.inner.embed_queries(texts)
        req = _Request(texts)
        with self._lock:
            self._queue.append(req)
            self._filling.notify_all()  # a lane waiting in its window sees the newcomer
            lane = self._free.pop() if self._free else None
        while lane is None:  # until handed a lane, or answered by another lane's pass
            done = self._wait(req)
            with self._lock:  # a lane handed over is driven even when the answer came too, or it would be lost
                lane, req.lane = req.lane, None
            if done:
                break
        if lane is not None:
            with self._lock:
                req.driving = True
            self._drive(lane, req)
        while not self._wait(req):  # another lane may have taken our question into the pass it is running
            pass
        if req.error is not None:
            raise req.error
        return req.result

    def _wait(self, req: _Request) -> bool:
        """Sleep until something changed for `req`; True when it is answered. A lane handed over is in req.lane."""
        with self._lock:
            if req.done or req.lane is not None:
                return req.done
            req.wake.clear()
        req.wake.wait()
        with self._lock:
            return req.done

    # -- lanes -----------------------------------------------------------------------------------------------
    def _take(self) -> list[_Request]:
        """Up to max_batch questions from the queue (whole requests; one oversized request goes alone).
        Called with the lock held; may wait a short window when load is concurrent."""
        # Waiting for company only pays when every other lane is busy: a free lane is a free core.
        if not self._free and self._ewma > BUSY_EWMA and self.window_s and self._queued() < self.max_batch:
            deadline = time.monotonic() + self.window_s
            while self._queued() < self.max_batch and (left := deadline - time.monotonic()) > 0:
                self._filling.wait(left)
        # A lane takes its share of the queue, not all of it: readers who got their answers together come back
        # together, and a lane that took the whole cohort left the others idle (measured with 16 threads straight
        # into the embedder, ONNX encoder: one lane busy 98% of the time, the other 32%). What a lane leaves goes
        # to a free lane at once, or to the next lane that finishes.
        share = -(-self._queued() // len(self.lanes))
        batch, size = [], 0
        while self._queue and (not batch or size + len(self._queue[0].texts) <= min(share, self.max_batch)):
            req = self._queue.popleft()
            batch.append(req)
            size += len(req.texts)
        while self._free:  # the rest of the queue gets the free lanes now, not when a pass ends
            heir = self._heir()
            if heir is None:
                break
            heir.lane = self._free.pop()
            heir.wake.set()
        return batch

    def _queued(self) -> int:
        return sum(len(r.texts) for r in self._queue)

    def _drive(self, lane: int, mine: _Request) -> None:
        """Encode batches on `lane` until our own request is answered or taken by another lane, then pass the
        lane on."""
        while True:
            with self._lock:
                if mine.done or not self._queue:
                    self._release(lane)
                    return
                batch = self._take()
            if batch:  # empty when other lanes emptied the queue while this one waited in its window
                self._run(lane, batch)

    def _release(self, lane: int) -> None:
        """Hand the lane to the first request still waiting in the queue, or mark it free. Lock held."""
        heir = self._heir()
        if heir is not None:
            heir.lane = lane
            heir.wake.set()
        else:
            self._free.append(lane)

    def _heir(self) -> _Request | None:
        """The first queued request whose caller is asleep, waiting for a lane. Lock held. (A driving caller's
        own question can still be queued; a lane handed to it would never be driven.)"""
        return next((r for r in self._queue if r.lane is None and not r.driving), None)

    def _run(self, lane: int, batch: list[_Request]) -> None:
        texts = [t for req in batch for t in req.texts]
        try:
            vectors, error = self.lanes[lane].embed_queries(texts), None
        except BaseException as exc:  # every caller in the batch gets the error, nobody hangs
            vectors, error = None, exc
        with self._lock:
            start = 0
            for req in batch:
                if error is None:
                    req.result = vectors[start:start + len(req.texts)]
                    start += len(req.texts)
                req.error, req.done = error, True
                req.wake.set()
            self.passes += 1
            self.batched += len(texts)
            self._ewma = 0.8 * self._ewma + 0.2 * len(texts)


def batching(embedder: Embedder, lanes: int = 1, max_batch: int = MAX_BATCH) -> Embedder:
    """The embedder wrapped for serving; an embedder that is already batching is returned as it is."""
    if isinstance(embedder, BatchingEmbedder) or max_batch <= 1:
        return embedder
    return BatchingEmbedder(embedder, lanes=lanes, max_batch=max_batch)
