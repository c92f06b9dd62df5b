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
    __slots__ = ("texts", "done", "result", "error", "lane")

    def __init__(self, texts: list[str]):
        self.texts = texts
        self.done = False
        self.result: np.ndarray | None = None
        self.error: BaseException | None = None
        self.lane: int | None = None  # set when this waiter is handed a lane to drive


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
        self._cond = threading.Condition()
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
        with self._cond:
            self._queue.append(req)
            self._cond.notify_all()  # a lane waiting in its window sees the newcomer
            lane = self._free.pop() if self._free else None
            while lane is None and not req.done:
                self._cond.wait()
                lane, req.lane = req.lane, None
        if lane is not None:
            self._drive(lane, req)
        with self._cond:  # another lane may have taken our question into the pass it is running
            while not req.done:
                self._cond.wait()
        if req.error is not None:
            raise req.error
        return req.result

    # -- lanes -----------------------------------------------------------------------------------------------
    def _take(self) -> list[_Request]:
        """Up to max_batch questions from the queue (whole requests; one oversized request goes alone).
        Called with the condition held; may wait a short window when load is concurrent."""
        if self._ewma > BUSY_EWMA and self.window_s and self._queued() < self.max_batch:
            deadline = time.monotonic() + self.window_s
            while self._queued() < self.max_batch and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
        batch, size = [], 0
        while self._queue and (not batch or size + len(self._queue[0].texts) <= self.max_batch):
            req = self._queue.popleft()
            batch.append(req)
            size += len(req.texts)
        return batch

    def _queued(self) -> int:
        return sum(len(r.texts) for r in self._queue)

    def _drive(self, lane: int, mine: _Request) -> None:
        """Encode batches on `lane` until our own request is answered or taken by another lane, then pass the
        lane on."""
        while True:
            with self._cond:
                if mine.done or not self._queue:
                    self._release(lane)
                    return
                batch = self._take()
            if batch:  # empty when other lanes emptied the queue while this one waited in its window
                self._run(lane, batch)

    def _release(self, lane: int) -> None:
        """Hand the lane to the first request still waiting in the queue, or mark it free. Condition held."""
        heir = next((r for r in self._queue if r.lane is None), None)
        if heir is not None:
            heir.lane = lane
        else:
            self._free.append(lane)
        self._cond.notify_all()

    def _run(self, lane: int, batch: list[_Request]) -> None:
        texts = [t for req in batch for t in req.texts]
        try:
            vectors, error = self.lanes[lane].embed_queries(texts), None
        except BaseException as exc:  # every caller in the batch gets the error, nobody hangs
            vectors, error = None, exc
        with self._cond:
            start = 0
            for req in batch:
                if error is None:
                    req.result = vectors[start:start + len(req.texts)]
                    start += len(req.texts)
                req.error, req.done = error, True
            self.passes += 1
            self.batched += len(texts)
            self._ewma = 0.8 * self._ewma + 0.2 * len(texts)
            self._cond.notify_all()


def batching(embedder: Embedder, lanes: int = 1, max_batch: int = MAX_BATCH) -> Embedder:
    """The embedder wrapped for serving; an embedder that is already batching is returned as it is."""
    if isinstance(embedder, BatchingEmbedder) or max_batch <= 1:
        return embedder
    return BatchingEmbedder(embedder, lanes=lanes, max_batch=max_batch)
