"""The on-disk index: build (incrementally), save atomically, load and verify against its manifest.

Layout of the index folder:
    current -> builds/<build-id>     a symlink, replaced in one rename when a build finishes
    builds/<build-id>/manifest.json  a manifest.Manifest: model, view layout, entry hashes, checksums, calibration
    builds/<build-id>/entries.jsonl  the entries, in vector order
    builds/<build-id>/vectors.npy    normalised float32 view vectors (views.py), each entry's views contiguous
    builds/<build-id>/offsets.npy    entry i owns rows offsets[i]:offsets[i+1]
    builds/<build-id>/view_kinds.npy the kind of each row ("definition", a facet key, "asks")
    builds/<build-id>/ann.faiss      FAISS inner-product index over the vectors
    builds/<build-id>/bm25/          bm25s lexical index
    builds/<build-id>/background.npy out-of-scope background passages (passage vectors, see retrieval.py)
A build that dies half-way leaves only a `.tmp-*` folder behind; `current` still points at the last good build.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from glossarian.config import Settings
from glossarian.corpus import FACETS, Entry, load_corpus
from glossarian.errors import CorpusError, IndexInvalid, IndexNotFound
from glossarian.lexical import LexicalIndex
from glossarian.embedding import one_blas_thread
from glossarian.manifest import REBUILD_HINT, Manifest, read_manifest_file
from glossarian.vector_cache import ViewCache, all_cores
from glossarian.views import LAYOUT, entry_views

log = logging.getLogger("glossarian")
# Exact search below this many view vectors, HNSW above it: the crossover measured by `glossarian bench` (README
# "Performance") was 20k entries of two views each, i.e. 40k vectors.
HNSW_MIN_ROWS = 40_000
# HNSW returns this many view rows per wanted entry before they are grouped by entry (an entry can own ~25 views).
HNSW_FANOUT = 8
BACKGROUND_FILE = Path(__file__).parent / "data" / "background.txt"
VIEW_GROUPS = ("definition", "facet", "asks")
SUBJECT_RE = re.compile(r"^([^:：]{2,60})[:：]")


def _group_of(kind: str) -> str:
    return "facet" if kind in FACETS else kind


@dataclass
class IndexData:
    """A loaded, verified index, held entirely in memory."""

    folder: Path
    manifest: Manifest
    entries: list[Entry]
    vectors: np.ndarray
    offsets: np.ndarray  # entry i owns vector rows offsets[i]:offsets[i+1]
    view_kinds: np.ndarray
    ann: object
    lexical: LexicalIndex
    background: np.ndarray | None = None  # vectors of out-of-scope passages (see retrieval.py)
    by_id: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self.by_id = {e.id: i for i, e in enumerate(self.entries)}
        self.owner = np.repeat(np.arange(len(self.entries)), np.diff(self.offsets))
        # Views are scored in groups (VIEW_GROUPS), each with its own calibrated offset: facet views often describe
        # neighbouring entries ("the neck fuses the backbone's features"), and `asks` views are question-shaped,
        # so a question can resemble them by form alone (Calibration.facet_penalty, asks_penalty).
        self.group = np.array([VIEW_GROUPS.index(_group_of(k)) for k in self.view_kinds.tolist()], dtype=np.int64)
        # For the full scan (every question): each group's rows, entry by entry, and where each entry's run starts.
        self._group_rows = []
        for g in range(len(VIEW_GROUPS)):
            rows = np.flatnonzero(self.group == g)
            owners = self.owner[rows]
            firsts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if len(rows) else rows
            self._group_rows.append((rows, firsts, owners[firsts]))

    @property
    def exact(self) -> bool:
        """True when every query is scored against every view (flat index)."""
        return self.manifest.ann == "flat"

    def _grouped(self, sims: np.ndarray, starts: np.ndarray, group: np.ndarray) -> np.ndarray:
        """(len(VIEW_GROUPS), entries): each entry's best cosine per view group, -inf where it has none."""
        return np.stack([np.maximum.reduceat(np.where(group == g, sims, -np.inf), starts)
                         for g in range(len(VIEW_GROUPS))]).astype(np.float32)

    def entry_cosines(self, query_vec: np.ndarray) -> np.ndarray:
        """Best cosine per view group of every entry (exact), shape (len(VIEW_GROUPS), entries)."""
        if not len(self.entries):
            return np.zeros((len(VIEW_GROUPS), 0), dtype=np.float32)
        sims = self.vectors @ query_vec
        out = np.full((len(VIEW_GROUPS), len(self.entries)), -np.inf, dtype=np.float32)
        for g, (rows, firsts, owners) in enumerate(self._group_rows):
            if len(rows):
                out[g, owners] = np.maximum.reduceat(sims[rows], firsts)
        return out

    def dense_search(self, query_vec: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k entries by their best view's cosine (any kind): (scores, entry positions), best first."""
        k = min(k, len(self.entries))
        if self.exact:
            scores = self.entry_cosines(query_vec).max(axis=0)
            top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
            top = top[np.argsort(-scores[top], kind="stable")]
            return scores[top].astype(np.float32), top.astype(np.int64)
        q = np.ascontiguousarray(query_vec.reshape(1, -1), dtype=np.float32)
        scores, rows = self.ann.search(q, min(k * HNSW_FANOUT, len(self.vectors)))
        best: dict[int, float] = {}
        for score, row in zip(scores[0].tolist(), rows[0].tolist()):
            if row >= 0 and int(self.owner[row]) not in best:
                best[int(self.owner[row])] = score
        top = list(best.items())[:k]
        return np.array([s for _, s in top], dtype=np.float32), np.array([i for i, _ in top], dtype=np.int64)

    def background_score(self, query_vec: np.ndarray) -> float:
        if self.background is None or not len(self.background):
            return 0.0
        return float(np.max(self.background @ query_vec))

    def cosines(self, positions: np.ndarray, query_vec: np.ndarray) -> np.ndarray:
        """entry_cosines for a few entries only (for entries found by other means than a full scan)."""
        rows = np.concatenate([np.arange(self.offsets[i], self.offsets[i + 1]) for i in positions])
        sizes = np.diff(self.offsets)[positions]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        return self._grouped(self.vectors[rows] @ query_vec, starts, self.group[rows])

    def best_view(self, position: int, query_vec: np.ndarray) -> str:
        """The kind of the entry's view closest to the question ("definition", "why", "asks", ...)."""
        a, b = self.offsets[position], self.offsets[position + 1]
        return str(self.view_kinds[a + int(np.argmax(self.vectors[a:b] @ query_vec))])


@dataclass
class BuildReport:
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int
    total: int
    seconds: float
    folder: Path
    embedded: int  # entries that needed new vectors (not reused from the previous build)
    from_cache: int = 0  # of those, entries whose vectors the view cache already held (same model, same texts)

    def lines(self) -> list[str]:
        out = [f"Index built: {self.total} entries in {self.seconds:.1f}s "
               f"({self.embedded} embedded{f' ({self.from_cache} from the vector cache)' if self.from_cache else ''}, "
               f"{self.unchanged} reused) -> {self.folder}"]
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
    """Exact inner product for small indexes, HNSW for large ones (vectors are normalised: IP = cosine).
    kind: "flat" or "hnsw" to choose regardless of size (the bench compares both); None decides by size."""
    import faiss

    faiss.omp_set_num_threads(1)
    dim = vectors.shape[1]
    if kind is None:
        kind = "hnsw" if len(vectors) >= HNSW_MIN_ROWS else "flat"
    if kind not in ("flat", "hnsw"):
        raise ValueError(f"unknown ANN kind {kind!r}")
    if kind == "hnsw":
        # M=32 and efSearch=96: README "Performance" (recall of the exact best view vs search time);
        # efConstruction=80 is faiss's documented middle ground between build time and graph quality.
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


def read_manifest(index_dir: Path) -> Manifest:
    folder = current_folder(index_dir)
    if folder is None or not folder.is_dir():
        raise IndexNotFound(f"No index in {index_dir}.", "Run `glossarian index build` to create it.")
    return read_manifest_file(folder)


def load_index(index_dir: Path, model: tuple[str, str | None] | None = None) -> IndexData:
    """Load and verify the current index. `model` = (name, fingerprint) it must have been built with."""
    import faiss

    manifest = read_manifest(index_dir)
    folder = current_folder(index_dir)
    if model is not None and not manifest.same_model(model):
        raise IndexInvalid(
            f"The index was built with model '{manifest.model}' ({manifest.model_fingerprint}), "
            f"but the configured model is '{model[0]}' ({model[1]}).",
            "Run `glossarian index build` to re-embed the corpus with the configured model.",
        )
    for rel, digest in manifest.files.items():
        path = folder / rel
        if not path.is_file():
            raise IndexInvalid(f"Index file {path} is missing.", REBUILD_HINT)
        if _sha256(path) != digest:
            raise IndexInvalid(f"Index file {path} is corrupt (checksum mismatch).", REBUILD_HINT)
    try:
        entries = [Entry.from_dict(json.loads(line)) for line in
                   (folder / "entries.jsonl").read_text("utf-8").splitlines() if line.strip()]
        vectors = np.load(folder / "vectors.npy", allow_pickle=False)
        offsets = np.load(folder / "offsets.npy", allow_pickle=False)
        kinds = np.load(folder / "view_kinds.npy", allow_pickle=False)
        faiss.omp_set_num_threads(1)
        ann = faiss.read_index(str(folder / "ann.faiss"))
        lexical = LexicalIndex.load(folder / "bm25")
        one_blas_thread()  # the BLAS libraries faiss and bm25 brought in, too (see embedding.one_blas_thread)
        background = np.load(folder / "background.npy", allow_pickle=False)
    except Exception as exc:  # any unreadable file means the same thing to the user
        raise IndexInvalid(f"The index in {folder} cannot be read ({exc}).", REBUILD_HINT) from exc
    n, rows = len(entries), manifest.rows
    if (vectors.shape != (rows, manifest.dim) or ann.ntotal != rows or manifest.count != n
            or offsets.shape != (n + 1,) or int(offsets[-1]) != rows or kinds.shape != (rows,)
            or (n and int(np.diff(offsets).min()) < 1)):
        raise IndexInvalid(f"The index in {folder} is inconsistent (entries, vectors and FAISS disagree).",
                           REBUILD_HINT)
    if background.ndim != 2 or background.shape[1:] != (manifest.dim,):
        raise IndexInvalid(f"The background vectors in {folder} have the wrong shape.", REBUILD_HINT)
    return IndexData(folder, manifest, entries, vectors, offsets, kinds, ann, lexical, background)


def _previous(index_dir: Path, model: tuple[str, str | None]) -> IndexData | None:
    """The last good build made with the same model and view layout, or None."""
    try:
        old = load_index(index_dir, model)
    except (IndexNotFound, IndexInvalid):
        return None
    return old if old.manifest.layout == LAYOUT else None


def background_lines(entries: list[Entry], text: str | None = None) -> list[str]:
    """The shipped out-of-scope passages, without comments and without any passage whose subject (the text
    before its first colon) is a glossary name: adding an entry must never make its own subject "out of scope"."""
    from glossarian.names import name_key

    if text is None:
        text = BACKGROUND_FILE.read_text("utf-8") if BACKGROUND_FILE.is_file() else ""
    names = {name_key(n) for e in entries for n in e.names}
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = SUBJECT_RE.match(line)
        if m and any(name_key(part) in names for part in re.split(r"[()（）/,，]| - ", m.group(1)) if part.strip()):
            continue
        out.append(line)
    return out


def _cached_vectors(cache_dir: Path, key: str, dim: int, embed) -> np.ndarray:
    """Vectors that depend only on the model and a fixed text list: loaded from GLOSSARIAN_HOME/cache, else made
    by `embed()` and cached (a fresh build for the same model then embeds nothing it embedded before)."""
    cached = cache_dir / f"{key}.npy"
    try:
        vectors = np.load(cached, allow_pickle=False)
        if vectors.ndim == 2 and vectors.shape[1] == dim:
            return vectors
    except (OSError, ValueError):
        pass  # missing or damaged cache: embed again
    vectors = embed()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp.npy")
        np.save(tmp, vectors, allow_pickle=False)
        os.replace(tmp, cached)
    except OSError:
        log.warning("Could not cache background vectors in %s", cache_dir)
    return vectors


def _background(embedder, lines: list[str], cache_dir: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """(passage vectors, query vectors, digest) of the kept background lines. Passage vectors are what questions
    are compared with; query vectors are the out-of-scope probes of the calibration. Every line of the file is
    embedded and cached once per model and file version, so a corpus change that drops or restores a line
    (background_lines) re-embeds nothing."""
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    empty = np.zeros((0, embedder.dim), dtype=np.float32)
    if not lines:
        return empty, empty, digest
    every = background_lines([])
    if not set(lines) <= set(every):  # not the shipped file's lines (tests pass their own): embed just these
        every = lines
    file_digest = hashlib.sha256("\n".join(every).encode()).hexdigest()[:16]
    passages = _cached_vectors(cache_dir, f"background-{embedder.fingerprint}-{file_digest}", embedder.dim,
                               lambda: embedder.embed_passages(every))
    queries = _cached_vectors(cache_dir, f"background-q-{embedder.fingerprint}-{file_digest}", embedder.dim,
                              lambda: embedder.embed_queries(every))
    row = {line: n for n, line in enumerate(every)}
    keep = [row[line] for line in lines]
    return passages[keep], queries[keep], digest


def build_index(settings: Settings, embedder, progress: bool = False,
                corpus_dir: Path | None = None, index_dir: Path | None = None) -> BuildReport:
    """Embed the corpus (reusing unchanged vectors), calibrate the model, and swap the new index in atomically."""
    from glossarian.calibrate import calibrate

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
        previous = {} if old is None else {
            e.id: (e.content_hash, old.vectors[old.offsets[i] : old.offsets[i + 1]]) for i, e in enumerate(old.entries)}
        entries = corpus.entries
        views = [entry_views(e) for e in entries]
        offsets = np.zeros(len(entries) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(v) for v in views])
        vectors = np.zeros((int(offsets[-1]), embedder.dim), dtype=np.float32)
        todo = []
        for i, e in enumerate(entries):
            kept = previous.get(e.id)
            if kept is not None and kept[0] == e.content_hash and len(kept[1]) == len(views[i]):
                vectors[offsets[i] : offsets[i + 1]] = kept[1]
            else:
                todo.append(i)
        view_cache = ViewCache(Path(settings.home) / "cache" / "views", embedder)
        embed_now = [i for i in todo if not view_cache.fill(views[i], vectors[offsets[i] : offsets[i + 1]])]
        if embed_now:
            with all_cores(settings.build_threads):
                fresh = embedder.embed_passages([v.text for i in embed_now for v in views[i]], progress=progress)
            at = 0
            for i in embed_now:
                vectors[offsets[i] : offsets[i + 1]] = fresh[at : at + len(views[i])]
                view_cache.store(views[i], fresh[at : at + len(views[i])])
                at += len(views[i])
        kinds = np.array([v.kind for vs in views for v in vs], dtype="<U12")
        bg_lines = background_lines(entries)
        background, background_q, bg_digest = _background(embedder, bg_lines, Path(settings.home) / "cache")
        calibration = calibrate(embedder, entries, views, vectors, offsets, background, background_q)

        tmp = builds / f".tmp-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            with open(tmp / "entries.jsonl", "w", encoding="utf-8") as f:
                for e in entries:
                    f.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
            np.save(tmp / "vectors.npy", vectors, allow_pickle=False)
            np.save(tmp / "offsets.npy", offsets, allow_pickle=False)
            np.save(tmp / "view_kinds.npy", kinds, allow_pickle=False)
            import faiss

            faiss.write_index(make_ann(vectors), str(tmp / "ann.faiss"))
            LexicalIndex.build([e.lexical_text() for e in entries]).save(tmp / "bm25")
            np.save(tmp / "background.npy", background, allow_pickle=False)
            manifest = Manifest(
                model=embedder.name, model_fingerprint=embedder.fingerprint, dim=int(embedder.dim),
                count=len(entries), rows=len(vectors), layout=LAYOUT, background=bg_digest,
                ann="hnsw" if len(vectors) >= HNSW_MIN_ROWS else "flat", corpus=str(corpus_dir),
                built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                entries={e.id: e.content_hash for e in entries}, versions=_versions(),
                files={p.relative_to(tmp).as_posix(): _sha256(p) for p in _files(tmp)},
                calibration=calibration,
            )
            (tmp / "manifest.json").write_text(manifest.to_json(), "utf-8")
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
        from_cache=len(todo) - len(embed_now),
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
    manifest: Manifest
    added: list[str]
    changed: list[str]
    removed: list[str]
    model_mismatch: str | None


def index_status(settings: Settings, model: tuple[str, str | None]) -> Status:
    """Compare the index with the corpus on disk and the configured model, without loading vectors."""
    manifest = read_manifest(settings.index)
    corpus = load_corpus(settings.corpus)
    built = manifest.entries
    now = {e.id: e.content_hash for e in corpus.entries}
    mismatch = None
    if not manifest.same_model(model):
        mismatch = f"built with '{manifest.model}', configured '{model[0]}'"
    added = sorted(set(now) - set(built))
    removed = sorted(set(built) - set(now))
    changed = sorted(i for i in set(now) & set(built) if now[i] != built[i])
    fresh = not (added or removed or changed or mismatch or corpus.blocking)
    return Status(fresh, manifest, added, changed, removed, mismatch)
