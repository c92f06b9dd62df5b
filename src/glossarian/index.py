"""The on-disk index: build (incrementally), save atomically, load and verify against its manifest.

Layout of the index folder:
    current -> builds/<build-id>     a symlink, replaced in one rename when a build finishes
    builds/<build-id>/manifest.json  model, dimension, per-entry content hashes, file checksums
    builds/<build-id>/entries.jsonl  the entries, in vector order
    builds/<build-id>/vectors.npy    normalised float32 vectors, VIEWS_PER_ENTRY rows per entry (reused by
                                     incremental builds)
    builds/<build-id>/ann.faiss      FAISS inner-product index over the vectors
    builds/<build-id>/bm25/          bm25s lexical index
A build that dies half-way leaves only a `.tmp-*` folder behind; `current` still points at the last good build.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from glossarian.config import Settings
from glossarian.corpus import VIEWS_PER_ENTRY, Entry, load_corpus
from glossarian.errors import CorpusError, IndexInvalid, IndexNotFound
from glossarian.lexical import LexicalIndex

log = logging.getLogger("glossarian")
FORMAT_VERSION = 1
# Exact search below this size; HNSW above it (see README "Performance" for the measured crossover).
HNSW_MIN_ENTRIES = 20_000
BACKGROUND_FILE = Path(__file__).parent / "data" / "background.txt"
REBUILD_HINT = "Run `glossarian index build` to rebuild it."


@dataclass
class IndexData:
    """A loaded, verified index, held entirely in memory."""

    folder: Path
    manifest: dict
    entries: list[Entry]
    vectors: np.ndarray
    ann: object
    lexical: LexicalIndex
    background: np.ndarray | None = None  # vectors of out-of-scope passages (see retrieval.py)
    by_id: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self.by_id = {e.id: i for i, e in enumerate(self.entries)}

    @property
    def views(self) -> int:
        return int(self.manifest.get("views", 1))

    def dense_search(self, query_vec: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k entries by their best view's cosine: (scores, entry positions), best first."""
        k = min(k, len(self.entries))
        q = np.ascontiguousarray(query_vec.reshape(1, -1), dtype=np.float32)
        scores, ids = self.ann.search(q, k * self.views)
        best: dict[int, float] = {}
        for score, vid in zip(scores[0].tolist(), ids[0].tolist()):
            if vid >= 0 and (vid // self.views) not in best:
                best[vid // self.views] = score
        top = list(best.items())[:k]
        return np.array([s for _, s in top], dtype=np.float32), np.array([i for i, _ in top], dtype=np.int64)

    def background_score(self, query_vec: np.ndarray) -> float:
        if self.background is None or not len(self.background):
            return 0.0
        return float(np.max(self.background @ query_vec))

    def cosine(self, position: int, query_vec: np.ndarray) -> float:
        """Exact best-view cosine of one entry (for entries found by other means than FAISS)."""
        v = self.views
        return float(np.max(self.vectors[position * v : (position + 1) * v] @ query_vec))


@dataclass
class BuildReport:
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int
    total: int
    seconds: float
    folder: Path
    embedded: int

    def lines(self) -> list[str]:
        out = [f"Index built: {self.total} entries in {self.seconds:.1f}s "
               f"({self.embedded} embedded, {self.unchanged} reused) -> {self.folder}"]
        for label, ids in (("added", self.added), ("changed", self.changed), ("removed", self.removed)):
            out.append(f"  {label} ({len(ids)}): {', '.join(ids) if ids else '-'}")
        return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")


def _versions() -> dict[str, str]:
    out = {}
    for pkg in ("glossarian", "sentence-transformers", "faiss-cpu", "torch", "bm25s", "jieba"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "?"
    return out


def make_ann(vectors: np.ndarray, kind: str | None = None):
    """Exact inner product for small corpora, HNSW for large ones (vectors are normalised: IP = cosine).
    kind: "flat" or "hnsw" to choose regardless of size (the bench compares both); None decides by size."""
    import faiss

    faiss.omp_set_num_threads(1)
    dim = vectors.shape[1]
    if kind is None:
        kind = "hnsw" if len(vectors) >= HNSW_MIN_ENTRIES * VIEWS_PER_ENTRY else "flat"
    if kind not in ("flat", "hnsw"):
        raise ValueError(f"unknown ANN kind {kind!r}")
    if kind == "hnsw":
        ann = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        ann.hnsw.efConstruction = 80
        ann.hnsw.efSearch = 96
    else:
        ann = faiss.IndexFlatIP(dim)
    if len(vectors):
        ann.add(vectors)
    return ann


def current_folder(index_dir: Path) -> Path | None:
    link = Path(index_dir) / "current"
    return link.resolve() if link.is_symlink() or link.is_dir() else None


def read_manifest(index_dir: Path) -> dict:
    folder = current_folder(index_dir)
    if folder is None or not folder.is_dir():
        raise IndexNotFound(f"No index in {index_dir}.", "Run `glossarian index build` to create it.")
    try:
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexInvalid(f"The index manifest in {folder} is missing or corrupt ({exc}).", REBUILD_HINT) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise IndexInvalid(f"The index in {folder} has an unknown format.", REBUILD_HINT)
    return manifest


def load_index(index_dir: Path, model: tuple[str, str | None] | None = None) -> IndexData:
    """Load and verify the current index. `model` = (name, fingerprint) it must have been built with."""
    import faiss

    manifest = read_manifest(index_dir)
    folder = current_folder(index_dir)
    if model is not None:
        name, fingerprint = model
        if manifest.get("model") != name or (fingerprint and manifest.get("model_fingerprint") != fingerprint):
            raise IndexInvalid(
                f"The index was built with model '{manifest.get('model')}' "
                f"({manifest.get('model_fingerprint')}), but the configured model is '{name}' ({fingerprint}).",
                "Run `glossarian index build` to re-embed the corpus with the configured model.",
            )
    for rel, digest in manifest.get("files", {}).items():
        path = folder / rel
        if not path.is_file():
            raise IndexInvalid(f"Index file {path} is missing.", REBUILD_HINT)
        if _sha256(path) != digest:
            raise IndexInvalid(f"Index file {path} is corrupt (checksum mismatch).", REBUILD_HINT)
    try:
        entries = [Entry.from_dict(json.loads(line)) for line in
                   (folder / "entries.jsonl").read_text("utf-8").splitlines() if line.strip()]
        vectors = np.load(folder / "vectors.npy", allow_pickle=False)
        faiss.omp_set_num_threads(1)
        ann = faiss.read_index(str(folder / "ann.faiss"))
        lexical = LexicalIndex.load(folder / "bm25")
        bg_path = folder / "background.npy"
        background = np.load(bg_path, allow_pickle=False) if bg_path.is_file() else None
    except Exception as exc:  # any unreadable file means the same thing to the user
        raise IndexInvalid(f"The index in {folder} cannot be read ({exc}).", REBUILD_HINT) from exc
    n = len(entries)
    rows = n * int(manifest.get("views", 1))
    if vectors.shape != (rows, manifest.get("dim")) or ann.ntotal != rows or manifest.get("count") != n:
        raise IndexInvalid(f"The index in {folder} is inconsistent (entries, vectors and FAISS disagree).",
                           REBUILD_HINT)
    if background is not None and background.shape[1:] != (manifest.get("dim"),):
        raise IndexInvalid(f"The background vectors in {folder} have the wrong shape.", REBUILD_HINT)
    return IndexData(folder, manifest, entries, vectors, ann, lexical, background)


def _previous(index_dir: Path, model: tuple[str, str | None]) -> IndexData | None:
    """The last good build made with the same model and view layout, or None."""
    try:
        old = load_index(index_dir, model)
    except (IndexNotFound, IndexInvalid):
        return None
    return old if old.views == VIEWS_PER_ENTRY else None


def _background(embedder, old: IndexData | None, cache_dir: Path) -> tuple[np.ndarray, str]:
    """Vectors of the shipped background passages: from the last build, else from the per-model cache in
    GLOSSARIAN_HOME (they depend only on the model and the file), else embedded now and cached."""
    text = BACKGROUND_FILE.read_text("utf-8") if BACKGROUND_FILE.is_file() else ""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    if old is not None and old.manifest.get("background") == digest and old.background is not None:
        return old.background, digest
    cached = cache_dir / f"background-{embedder.fingerprint}-{digest}.npy"
    try:
        vectors = np.load(cached, allow_pickle=False)
        if vectors.ndim == 2 and vectors.shape[1] == embedder.dim:
            return vectors, digest
    except (OSError, ValueError):
        pass  # missing or damaged cache: embed again
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return np.zeros((0, embedder.dim), dtype=np.float32), digest
    vectors = embedder.embed_passages(lines)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp.npy")
        np.save(tmp, vectors, allow_pickle=False)
        os.replace(tmp, cached)
    except OSError:
        log.warning("Could not cache background vectors in %s", cache_dir)
    return vectors, digest


def build_index(settings: Settings, embedder, progress: bool = False,
                corpus_dir: Path | None = None, index_dir: Path | None = None) -> BuildReport:
    """Embed the corpus (reusing unchanged vectors) and swap the new index in atomically."""
    start = time.perf_counter()
    corpus_dir = Path(corpus_dir or settings.corpus)
    index_dir = Path(index_dir or settings.index)
    corpus = load_corpus(corpus_dir)
    if corpus.blocking:
        listing = "\n".join(f"  {p}" for p in corpus.blocking[:50])
        raise CorpusError(f"The corpus has {len(corpus.blocking)} problem(s); the index was not changed:\n{listing}",
                          "Fix the files above (`glossarian corpus check` lists them).")
    if not corpus.entries:
        raise CorpusError(f"The corpus folder {corpus_dir} holds no entries (*.md).",
                          "Add entry files or pass --corpus DIR.")
    index_dir.mkdir(parents=True, exist_ok=True)
    builds = index_dir / "builds"
    builds.mkdir(exist_ok=True)
    with open(index_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent builds take turns
        model = (embedder.name, embedder.fingerprint)
        old = _previous(index_dir, model)
        v = VIEWS_PER_ENTRY
        previous = {} if old is None else {
            e.id: (e.content_hash, old.vectors[i * v : (i + 1) * v]) for i, e in enumerate(old.entries)}
        entries = corpus.entries
        vectors = np.zeros((len(entries) * v, embedder.dim), dtype=np.float32)
        todo = []
        for i, e in enumerate(entries):
            kept = previous.get(e.id)
            if kept is not None and kept[0] == e.content_hash:
                vectors[i * v : (i + 1) * v] = kept[1]
            else:
                todo.append(i)
        if todo:
            fresh = embedder.embed_passages([t for i in todo for t in entries[i].embed_views()], progress=progress)
            for n, i in enumerate(todo):
                vectors[i * v : (i + 1) * v] = fresh[n * v : (n + 1) * v]

        tmp = builds / f".tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            with open(tmp / "entries.jsonl", "w", encoding="utf-8") as f:
                for e in entries:
                    f.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
            np.save(tmp / "vectors.npy", vectors, allow_pickle=False)
            import faiss

            faiss.write_index(make_ann(vectors), str(tmp / "ann.faiss"))
            LexicalIndex.build([e.lexical_text() for e in entries]).save(tmp / "bm25")
            background, bg_digest = _background(embedder, old, Path(settings.home) / "cache")
            np.save(tmp / "background.npy", background, allow_pickle=False)
            manifest = {
                "format": FORMAT_VERSION,
                "model": embedder.name,
                "model_fingerprint": embedder.fingerprint,
                "dim": int(embedder.dim),
                "count": len(entries),
                "views": v,
                "background": bg_digest,
                "ann": "hnsw" if len(entries) >= HNSW_MIN_ENTRIES else "flat",
                "corpus": str(corpus_dir),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "entries": {e.id: e.content_hash for e in entries},
                "versions": _versions(),
                "files": {p.relative_to(tmp).as_posix(): _sha256(p) for p in _files(tmp)},
            }
            (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
            for p in [*_files(tmp), tmp / "manifest.json"]:
                with open(p, "rb") as f:
                    os.fsync(f.fileno())
            final = builds / (time.strftime("%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6])
            tmp.rename(final)
            link_tmp = index_dir / f".current-{uuid.uuid4().hex[:8]}"
            os.symlink(Path("builds") / final.name, link_tmp)
            os.replace(link_tmp, index_dir / "current")  # the one atomic step
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _prune(index_dir, keep=final)

    old_ids = set(previous)
    new_ids = {e.id for e in entries}
    return BuildReport(
        added=sorted(new_ids - old_ids),
        changed=sorted(entries[i].id for i in todo if entries[i].id in old_ids),
        removed=sorted(old_ids - new_ids),
        unchanged=len(entries) - len(todo),
        total=len(entries),
        seconds=time.perf_counter() - start,
        folder=final,
        embedded=len(todo),
    )


def _prune(index_dir: Path, keep: Path, keep_count: int = 2) -> None:
    """Drop half-written temp folders and all but the newest builds (a reader may still be loading one)."""
    builds = index_dir / "builds"
    for p in builds.glob(".tmp-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(".current-*"):
        p.unlink(missing_ok=True)
    done = sorted((p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    for p in done[:-keep_count]:
        if p != keep:
            shutil.rmtree(p, ignore_errors=True)


@dataclass
class Status:
    fresh: bool
    manifest: dict
    added: list[str]
    changed: list[str]
    removed: list[str]
    model_mismatch: str | None


def index_status(settings: Settings, model: tuple[str, str | None]) -> Status:
    """Compare the index with the corpus on disk and the configured model, without loading vectors."""
    manifest = read_manifest(settings.index)
    corpus = load_corpus(settings.corpus)
    built = manifest.get("entries", {})
    now = {e.id: e.content_hash for e in corpus.entries}
    mismatch = None
    name, fingerprint = model
    if manifest.get("model") != name or (fingerprint and manifest.get("model_fingerprint") != fingerprint):
        mismatch = f"built with '{manifest.get('model')}', configured '{name}'"
    added = sorted(set(now) - set(built))
    removed = sorted(set(built) - set(now))
    changed = sorted(i for i in set(now) & set(built) if now[i] != built[i])
    fresh = not (added or removed or changed or mismatch or corpus.blocking)
    return Status(fresh, manifest, added, changed, removed, mismatch)
