"""Dynamic batching of question encoding: concurrent questions share forward passes, each caller gets its own
vector back, a lone question never waits, and a failing pass fails every caller in it instead of hanging them."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from glossarian.batcher import BatchingEmbedder, batching
from glossarian.embedding import Embedder


class Recording(Embedder):
    """A stand-in encoder that records each pass (size, thread) and can be made to fail or to block."""

    name, fingerprint, dim = "recording", "r", 3

    def __init__(self, fail: bool = False):
        self.passes: list[tuple[int, int]] = []
        self.fail = fail
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def embed_queries(self, texts):
        self.entered.set()
        self.gate.wait(30)
        self.passes.append((len(texts), threading.get_ident()))
        if self.fail:
            raise RuntimeError("encoder broke")
        return np.array([[len(t), ord(t[0]), 1.0] for t in texts], dtype=np.float32)

    def embed_passages(self, texts, progress=False):
        return self.embed_queries(texts)


def _concurrently(fn, args: list, timeout: float = 120) -> list:
    results: list = [None] * len(args)
    go = threading.Barrier(len(args))

    def run(i):
        go.wait()
        try:
            results[i] = fn(args[i])
        except Exception as exc:  # noqa: BLE001 -- returned to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a caller hung"
    return results


QUESTIONS = ["什么是骨干网络？", "What is dropout?", "学习率怎么设置", "why use batch norm", "GAP 是什么",
             "what does the neck do", "注意力机制的原理", "explain label smoothing", "过拟合怎么办",
             "what is a residual connection", "softmax 温度", "early stopping patience", "知识蒸馏",
             "what is an epoch", "梯度消失", "weight decay vs L2"]


def test_concurrent_questions_share_passes_and_each_gets_its_own_vector(embedder):
    batcher = BatchingEmbedder(embedder, lanes=2)
    alone = embedder.embed_queries(QUESTIONS)
    got = _concurrently(lambda q: batcher.embed_queries([q]), QUESTIONS)
    assert all(isinstance(v, np.ndarray) and v.shape == (1, embedder.dim) for v in got), got
    cosines = [float(v[0] @ alone[i]) for i, v in enumerate(got)]
    assert min(cosines) > 0.9999, cosines  # the same vector as encoding the question alone, not a neighbour's
    assert batcher.batched == len(QUESTIONS)
    assert batcher.passes < len(QUESTIONS)  # 16 readers at once did not cost 16 forward passes


def test_torch_replicas_share_the_weights_and_encode_the_same(torch_embedder):
    embedder = torch_embedder
    twin = embedder.replica()
    a, b = dict(embedder.model.named_parameters()), dict(twin.model.named_parameters())
    assert a.keys() == b.keys() and all(a[k].data_ptr() == b[k].data_ptr() for k in a)  # no second copy
    assert twin._lock is not embedder._lock  # the two encode at the same time
    assert np.allclose(twin.embed_queries(QUESTIONS[:3]), embedder.embed_queries(QUESTIONS[:3]), atol=1e-5)


def test_onnx_replicas_share_the_session_and_encode_the_same(embedder, torch_embedder):
    if embedder.backend != "onnx":
        pytest.skip(f"the configured encoder is {embedder.backend}")
    twin = embedder.replica()
    assert twin.session is embedder.session  # one copy of the weights, run from several lanes at once
    assert np.allclose(twin.embed_queries(QUESTIONS[:3]), torch_embedder.embed_queries(QUESTIONS[:3]), atol=1e-5)


def test_a_lone_question_is_encoded_at_once_in_the_callers_thread():
    inner = Recording()
    batcher = BatchingEmbedder(inner, window_ms=60_000)  # a window that would be obvious if a lone call waited
    done = threading.Event()

    def ask_alone():
        for q in ("a", "bb", "ccc"):
            batcher.embed_queries([q])
        done.set()

    caller = threading.Thread(target=ask_alone, daemon=True)
    caller.start()
    assert done.wait(30), "a lone question waited for company"
    assert inner.passes == [(1, caller.ident)] * 3


def test_questions_queued_behind_a_busy_lane_go_together_in_one_pass():
    inner = Recording()
    batcher = BatchingEmbedder(inner, lanes=1, max_batch=4, window_ms=0)
    inner.gate.clear()  # the first pass blocks until every other caller has queued
    first = threading.Thread(target=batcher.embed_queries, args=(["x"],), daemon=True)
    first.start()
    assert inner.entered.wait(30)
    results: list = []
    others = [threading.Thread(target=lambda t=t: results.append(batcher.embed_queries([t])), daemon=True)
              for t in ("a", "bb", "ccc", "dddd", "eeeee", "ffffff")]
    for t in others:
        t.start()
    while len(batcher._queue) < 6:
        threading.Event().wait(0.01)
    inner.gate.set()
    first.join(30)
    for t in others:
        t.join(30)
    assert [size for size, _ in inner.passes] == [1, 4, 2]  # max_batch caps a pass; nobody is left behind
    assert sorted(int(r[0][0]) for r in results) == [1, 2, 3, 4, 5, 6]  # each caller got its own row


def test_many_callers_on_two_lanes_each_get_their_own_rows():
    class Slow(Recording):
        def embed_queries(self, texts):
            threading.Event().wait(0.001 * len(texts))
            return np.array([[int(t), 0.0, 1.0] for t in texts], dtype=np.float32)

    batcher = BatchingEmbedder(Slow(), lanes=2, max_batch=5, window_ms=1.0)
    asks = [[str(100 * n + k) for k in range(1 + n % 3)] for n in range(32)]

    def many(texts):
        out = []
        for round_ in range(15):
            mine = [str(int(t) + 10_000 * round_) for t in texts]
            out.append(batcher.embed_queries(mine)[:, 0].astype(int).tolist() == [int(t) for t in mine])
        return out

    results = _concurrently(many, asks)
    assert all(r == [True] * 15 for r in results), results
    assert batcher.batched == sum(len(a) for a in asks) * 15


def test_a_failing_pass_fails_every_caller_in_it_and_nobody_hangs():
    batcher = BatchingEmbedder(Recording(fail=True), lanes=1)
    results = _concurrently(lambda q: batcher.embed_queries([q]), ["a", "b", "c", "d"], timeout=30)
    assert all(isinstance(r, RuntimeError) and "encoder broke" in str(r) for r in results), results


def test_a_request_larger_than_a_batch_goes_alone_with_its_rows_in_order():
    inner = Recording()
    batcher = BatchingEmbedder(inner, max_batch=2)
    out = batcher.embed_queries(["a", "bb", "ccc"])
    assert out[:, 0].tolist() == [1, 2, 3]
    assert len(batcher.embed_queries([])) == 0


@pytest.mark.parametrize("max_batch", [1, 16])
def test_batching_wraps_once_and_can_be_turned_off(max_batch):
    inner = Recording()
    wrapped = batching(inner, lanes=1, max_batch=max_batch)
    assert (wrapped is inner) == (max_batch == 1)
    assert batching(wrapped, lanes=1, max_batch=max_batch) is wrapped
    assert wrapped.embed_passages(["ab"]).shape == (1, 3)  # passages go straight through


class Twins(Recording):
    """A stand-in with replicas: every lane records into one shared list, under its own lane number."""

    def __init__(self, lane: int = 0, shared: list | None = None):
        super().__init__()
        self.lane, self.shared = lane, shared if shared is not None else []

    def replica(self):
        return Twins(self.lane + 1, self.shared)

    def embed_queries(self, texts):
        import time

        time.sleep(0.002)  # long enough for the queue to build up behind a busy lane
        self.shared.append((self.lane, len(texts)))
        return super().embed_queries(texts)


def test_under_load_every_lane_works_and_none_is_lost():
    """Readers answered together come back together: each lane takes its share of the queue, and a lane handed
    on is always driven (a caller that already drives a lane must not be handed a second one)."""
    inner = Twins()
    batcher = BatchingEmbedder(inner, lanes=2)
    rounds = [QUESTIONS[i % len(QUESTIONS)] for i in range(16 * 25)]
    got = _concurrently(lambda chunk: [batcher.embed_queries([q]) for q in chunk],
                        [rounds[i::16] for i in range(16)])
    assert all(len(g) == 25 for g in got), got
    assert sorted(batcher._free) == [0, 1] and not batcher._queue  # both lanes back, nothing left waiting
    by_lane = {lane: sum(n for l, n in inner.shared if l == lane) for lane in (0, 1)}
    assert sum(by_lane.values()) == len(rounds)
    assert min(by_lane.values()) >= len(rounds) // 5, by_lane  # both lanes took real work, not one of them
