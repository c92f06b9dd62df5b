"""Synthetic corpora (10k-100k entries) for retrieval at scale, and the flat vs HNSW crossover study.

Clones copy the real entries with a numbered suffix in id, names and text. Their vectors are the real entry
vectors plus seeded noise, because encoding 200k passages would take hours; FAISS (index.make_ann), BM25
(LexicalIndex.build) and the NameMatcher (Retriever) are built by the real code, with real parameters.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from glossarian.bench.floor import FLOOR_QUERY, say, timed

CROSSOVER_SIZES = (10_000, 20_000, 50_000, 100_000)
NOISE = 0.02  # per-dimension noise on clone vectors: cosine ~0.93 to the entry they copy
CJK_DIGITS = "零一二三四五六七八九"


def clone(entry, k: int):
    from glossarian.names import CJK

    zh_k = "".join(CJK_DIGITS[int(d)] for d in str(k))

    def name(s: str) -> str:  # "骨干网络 一七" stays an all-Chinese name (pinyin fuzzy index), "backbone v17" ASCII
        return f"{s} {zh_k}" if CJK.search(s) else f"{s} v{k}"

    return replace(entry, id=f"{entry.id}-v{k}", term_en=name(entry.term_en), term_zh=name(entry.term_zh),
                   aliases=tuple(name(a) for a in entry.aliases), zh=f"{entry.zh}\n第 {k} 版。",
                   en=f"{entry.en}\nVariant {k}.", content_hash=f"{entry.content_hash[:8]}{k:08x}")


def word_cached_tokenizer():
    """BM25 tokens word by word through a cache: the same tokens as lexical.tokenize (jieba never joins across
    whitespace), without re-running jieba over 100k copies of the same definitions (~4 ms each)."""
    from glossarian.lexical import tokenize as real

    cache: dict[str, list[str]] = {}

    def tokenize(text: str) -> list[str]:
        out = []
        for word in text.split():
            if word not in cache:
                cache[word] = real(word)
            out.extend(cache[word])
        return out

    return tokenize


def synthetic_vectors(real, n: int, seed: int = 0) -> np.ndarray:
    """Vectors of n entries: the real ones, then each clone = its entry's vectors + noise, re-normalised."""
    base, dim = len(real.entries), real.vectors.shape[1]
    rng = np.random.default_rng(seed)
    src = np.arange(n) % base
    rows = np.concatenate([np.arange(real.offsets[i], real.offsets[i + 1]) for i in src])
    out = real.vectors[rows].copy()
    first = int(real.offsets[-1]) if n >= base else len(out)
    for a in range(first, len(out), 65536):
        b = min(a + 65536, len(out))
        out[a:b] += NOISE * rng.standard_normal((b - a, dim), dtype=np.float32)
        out[a:b] /= np.linalg.norm(out[a:b], axis=1, keepdims=True)
    return out


def synthetic_retriever(real, embedder, n: int, top_k: int = 5):
    """A Retriever over n entries (the real ones first, then numbered clones), built by the real code paths.
    Returns (retriever, seconds per build step)."""
    from dataclasses import replace

    from glossarian.index import HNSW_MIN_ROWS, IndexData, make_ann
    from glossarian.lexical import LexicalIndex
    from glossarian.retrieval import Retriever

    base = real.entries
    entries = list(base[:n]) + [clone(base[i % len(base)], 1 + (i - len(base)) // len(base))
                                for i in range(len(base), n)]
    steps = {}
    start = time.perf_counter()
    vectors = synthetic_vectors(real, n)
    steps["vectors_s"] = time.perf_counter() - start
    start = time.perf_counter()
    kind = "hnsw" if len(vectors) >= HNSW_MIN_ROWS else "flat"  # the same rule as build_index's manifest
    ann = make_ann(vectors, kind)
    steps["faiss_s"] = time.perf_counter() - start
    start = time.perf_counter()
    lexical = LexicalIndex.build([e.lexical_text() for e in entries], tokenize=word_cached_tokenizer())
    steps["bm25_s"] = time.perf_counter() - start
    sizes = np.diff(real.offsets)[np.arange(n) % len(base)]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    kinds = np.concatenate([real.view_kinds[real.offsets[i] : real.offsets[i + 1]] for i in np.arange(n) % len(base)])
    manifest = replace(real.manifest, count=n, rows=len(vectors), entries={}, ann=kind)
    data = IndexData(Path(f"<synthetic {n}>"), manifest, entries, vectors, offsets, kinds, ann, lexical,
                     real.background)
    start = time.perf_counter()
    retriever = Retriever(data, embedder, top_k)
    steps["name_matcher_s"] = time.perf_counter() - start
    return retriever, {k: round(s, 2) for k, s in steps.items()}


def ann_crossover(real, embedder, sizes=CROSSOVER_SIZES, queries: list[str] | None = None, k: int = 60) -> list[dict]:
    """Flat vs HNSW on synthetic vectors (the real views of each entry), one thread: build seconds, median search ms (top k
    views, as Retriever asks for), HNSW recall of the exact top k and how often HNSW finds the exact best view.
    Clones sit in tight clusters of near-ties, which makes recall@k look worse than on real text."""
    from glossarian.index import make_ann

    qs = embedder.embed_queries(queries or [FLOOR_QUERY])
    rows = []
    for n in sizes:
        vectors = synthetic_vectors(real, n)
        row = {"entries": n, "vectors": len(vectors)}
        found = {}
        for kind in ("flat", "hnsw"):
            start = time.perf_counter()
            ann = make_ann(vectors, kind)  # also pins FAISS to one OpenMP thread
            row[f"{kind}_build_s"] = round(time.perf_counter() - start, 3)
            ann.search(qs[:1], k)
            row[f"{kind}_search_ms"] = round(float(np.median(timed(lambda q: ann.search(q[None, :], k), qs))), 3)
            found[kind] = [ann.search(q[None, :], k)[1][0].tolist() for q in qs]
            del ann
        pairs = list(zip(found["hnsw"], found["flat"]))
        row["hnsw_recall_at_k"] = round(float(np.mean([len(set(h) & set(f)) / len(f) for h, f in pairs])), 3)
        row["hnsw_top1_found"] = round(float(np.mean([f[0] in h for h, f in pairs])), 3)
        rows.append(row)
        say(f"ann crossover {row}")
    return rows
