"""The encode floor (one short query, bare encode: no answer can beat it) and the bare-encode rate of entries.

Both go through the Embedder seam (embed_queries / embed_passages), unbatched, as the server's lone reader.
"""
from __future__ import annotations

import sys
import time

import numpy as np

FLOOR_QUERY = "什么是骨干网络？"


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def clock(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return ms(time.perf_counter() - start)


def timed(fn, items) -> list[float]:
    return [clock(fn, item) for item in items]


class Floor:
    """Samples of the floor taken between the measured calls of each phase (one every few items), so the floor
    and the figures compared with it share the machine's load: on shared cores a separate burst can be 2x off."""

    def __init__(self, embedder, per_phase: int):
        self.embedder, self.per_phase, self.samples = embedder, max(1, per_phase), {}
        for _ in range(5):
            self.encode()

    def encode(self) -> None:
        self.embedder.embed_queries([FLOOR_QUERY])

    def measure(self, phase: str, fn, items: list) -> list[float]:
        """Milliseconds of fn(item) for each item, with floor samples interleaved."""
        every = max(1, len(items) // self.per_phase)
        floor = self.samples.setdefault(phase, [])
        out = []
        for n, item in enumerate(items):
            if n % every == 0:
                floor.append(clock(self.encode))
            out.append(clock(fn, item))
        return out

    @property
    def ms(self) -> float | None:
        every = [v for samples in self.samples.values() for v in samples]
        return float(np.median(every)) if every else None

    def by_phase(self) -> dict:
        return {phase: round(float(np.median(v)), 2) for phase, v in self.samples.items()}


def encode_entries_per_s(embedder, entries) -> tuple[float, float]:
    """Bare encode of every entry's views (views.py): entries per second of wall and of CPU time."""
    from glossarian.views import entry_views

    texts = [v.text for e in entries for v in entry_views(e)]
    embedder.embed_passages(texts[:8])
    start, cpu = time.perf_counter(), time.process_time()
    embedder.embed_passages(texts)
    return len(entries) / (time.perf_counter() - start), len(entries) / (time.process_time() - cpu)
