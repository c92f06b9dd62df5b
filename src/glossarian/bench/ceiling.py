"""The batched-encode ceiling: questions per second when every core encodes full batches back to back.

This is what the server could reach if batching were perfect and answering cost nothing beyond encoding;
`server_rps / ceiling` says how much of it the server delivers. Measured in the same run as the server
figures so both see the same machine load. One lane (encoder sharing the weights) per core, each with one
torch thread, as the server runs them (Settings.lanes).
"""
from __future__ import annotations

import threading
import time


def batched_ceiling(embedder, questions: list[str], lanes: int, batch: int = 16, rounds: int = 6) -> dict:
    """`lanes` threads, each encoding `rounds` batches of `batch` questions on its own encoder at once.

    Each lane first encodes its batches once untimed, in its own thread: torch's per-thread state (the OpenMP
    pool, kernels for each padded length) is built on first use, and the server's long-lived threads have
    built theirs long before they are measured."""
    encoders = [embedder] + [embedder.replica() for _ in range(max(1, lanes) - 1)]
    batches = [[questions[(i * batch + j) % len(questions)] for j in range(batch)] for i in range(rounds * lanes)]
    warm, go = threading.Barrier(len(encoders) + 1), threading.Barrier(len(encoders) + 1)

    def lane(n: int) -> None:
        mine = batches[n::len(encoders)]
        for b in mine:
            encoders[n].embed_queries(b)
        warm.wait()
        go.wait()
        for b in mine:
            encoders[n].embed_queries(b)

    threads = [threading.Thread(target=lane, args=(n,)) for n in range(len(encoders))]
    for t in threads:
        t.start()
    warm.wait()
    start = time.perf_counter()
    go.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"ceiling_qps": len(batches) * batch / wall, "lanes": len(encoders), "batch": batch}
