"""Question encoding with ONNX Runtime: the same vectors as the sentence-transformers model, without torch.

The local sentence-transformers model (Transformer -> mean Pooling -> Normalize) is exported once with
`torch.onnx.export` into GLOSSARIAN_HOME/cache/onnx-<model fingerprint>/, next to `meta.json` (prompts, maximum
length, padding id) and `probe.npy`: the torch model's vectors for a fixed probe set of queries and passages
(Chinese and English, short and long, one beyond the 512-token limit). Answering then needs only the `tokenizers`
fast tokenizer the model ships, an ORT session and numpy for the pooling: measured on the 2-core development
machine, one short question 10 ms instead of 26 ms with torch (batches of 16: 155-165 ms instead of 195-220 ms),
and the server process never imports torch.

Every load checks the ORT vectors of the probe set against the stored torch ones (max |diff| <= MAX_DIFF and
cosine >= MIN_COSINE); at export the ORT vectors are compared with torch's directly, and the token ids with the
model's own tokenizer's. A missing, truncated or corrupt export is rebuilt once; if it still does not match (or
onnxruntime is missing, or the model is not of the supported shape), `load` returns None and the caller falls
back to torch with a logged warning. Because the vectors match, the index and the model fingerprint stay valid.

Passages (index builds) still go through torch, loaded only when a build needs it, with every core.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import sys
import threading
from pathlib import Path

import numpy as np

from glossarian.embedding import Embedder, one_blas_thread

log = logging.getLogger("glossarian")

MAX_DIFF = 1e-4  # largest allowed |difference| of any vector component (measured: ~1.3e-7)
MIN_COSINE = 0.9999  # smallest allowed cosine between an ORT and a torch vector of the same text
EXPORT_VERSION = 2  # bump when the exported graph or meta.json changes shape
OPSET = 17
PAD_WASTE = 0.10  # padding allowed per forward pass, as a share of the real tokens (see _length_groups)
WEIGHTS = "model.onnx.data"  # the exported weights, next to model.onnx (the graph)
PROBE_QUERIES = [
    "什么是骨干网络？", "学习率", "What is a learning rate?", "dropout",
    "batch normalization 和 layer normalization 有什么区别？为什么 Transformer 里常用 LayerNorm？",
    "How does beam search differ from greedy decoding when generating text with a sequence-to-sequence model?",
    "  GAP  ", "过你和",
]
PROBE_PASSAGES = [
    "学习率（learning rate）决定每次参数更新的步长。",
    "Dropout randomly zeroes activations during training to reduce overfitting.",
    "CSS flexbox 用于网页横向排版。",
    "注意力机制让模型在生成每个输出时关注输入的不同部分。" * 40,  # beyond 512 tokens: truncation
    ("Gradient descent updates parameters against the gradient of the loss; the learning rate scales each step. "
     * 30),
]


def _length_groups(lengths: list[int], waste: float = PAD_WASTE) -> list[list[int]]:
    """Positions grouped by token count (shortest first) so that padding adds at most `waste` to a group's tokens.
    A pass costs about its padded tokens: 16 dev questions (12 tokens p50, 45 max) padded into one pass took 15 ms
    per question, alone 12.6 ms, in groups with at most 10% padding 9.4 ms (1 ORT thread, same machine load)."""
    groups: list[list[int]] = []
    total = longest = 0
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        n = lengths[i]
        if groups and max(longest, n) * (len(groups[-1]) + 1) <= (1 + waste) * (total + n):
            groups[-1].append(i)
            total, longest = total + n, max(longest, n)
        else:
            groups.append([i])
            total, longest = n, n
    return groups


def _modules_supported(folder: Path) -> str | None:
    """None when the folder is Transformer -> mean Pooling -> Normalize (what this module reproduces), else why not."""
    try:
        modules = json.loads((folder / "modules.json").read_text("utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds != ["Transformer", "Pooling", "Normalize"]:
            return f"modules {kinds}, not Transformer -> Pooling -> Normalize"
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text("utf-8"))
    except (OSError, ValueError, KeyError, IndexError) as exc:
        return f"unreadable sentence-transformers config ({exc})"
    mode = pooling.get("pooling_mode") or ("mean" if pooling.get("pooling_mode_mean_tokens") else None)
    if mode != "mean" or not pooling.get("include_prompt", True):
        return f"pooling {pooling}, not mean pooling over every token"
    if not (folder / "tokenizer.json").is_file():
        return "no tokenizer.json (fast tokenizer)"
    return None


def cache_dir(home: Path, fingerprint: str) -> Path:
    return Path(home) / "cache" / f"onnx-{fingerprint}"


class OnnxEmbedder(Embedder):
    """Queries through ONNX Runtime; passages through the torch model (loaded on first use)."""

    def __init__(self, name: str, fingerprint: str, folder: Path, model_path: Path, meta: dict, threads: int,
                 passages):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        one_blas_thread()  # the pooling and the cosines: one BLAS thread, as with torch (embedding.one_blas_thread)
        self.name, self.fingerprint, self.dim = name, fingerprint, int(meta["dim"])
        self.backend = "onnx"
        self.meta = meta
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning worker threads fight the other lanes and processes for the cores (README "Serving many readers").
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # ORT's memory arena stays on: measured, a 512-token input peaks at +60 MB with it and +550 MB without.
        # One session is safe to run from several threads at once: lanes (replica) share it and its weights.
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_padding()  # padded below, with the model's padding id (XLM-R derives positions from it)
        tokenizer.enable_truncation(int(meta["max_seq_length"]))
        self.tokenizer = tokenizer
        self._tokenizer_lock = threading.Lock()  # configured once, but calls stay serialised like torch's path
        self._passages = passages  # () -> the torch embedder, for index builds

    # -- encoding ------------------------------------------------------------------------------------------
    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._tokenizer_lock:
            # One by one: encode_batch would start a thread pool of its own next to the lanes.
            ids = [self.tokenizer.encode(prompt + t).ids for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for group in _length_groups([len(i) for i in ids]):
            out[group] = self._run([ids[i] for i in group])
        return out

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        """One forward pass over rows padded to the longest, mean-pooled over the real tokens, normalised."""
        length = max(len(r) for r in rows)
        ids = np.full((len(rows), length), int(self.meta["pad_id"]), dtype=np.int64)
        mask = np.zeros((len(rows), length), dtype=np.int64)
        for n, r in enumerate(rows):
            ids[n, : len(r)] = r
            mask[n, : len(r)] = 1
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), self.meta["query_prompt"])

    def embed_onnx_passages(self, texts: list[str]) -> np.ndarray:
        """Passages through ORT, one at a time (the probe check; builds use torch's every-core encode instead)."""
        out = [self._encode([text], self.meta["passage_prompt"]) for text in texts]  # one at a time: small peak
        return np.concatenate(out) if out else np.zeros((0, self.dim), dtype=np.float32)

    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._passages().embed_passages(texts, progress)

    def replica(self) -> "OnnxEmbedder":
        """Another lane over the same session (ORT runs one session from several threads at once)."""
        import copy

        return copy.copy(self)

    def probe(self) -> np.ndarray:
        return np.concatenate([self.embed_queries(PROBE_QUERIES), self.embed_onnx_passages(PROBE_PASSAGES)])


def compare(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(max |diff|, min cosine) of two stacks of normalised vectors; (inf, -1) when their shapes differ."""
    if a.shape != b.shape or not a.size:
        return float("inf"), -1.0
    return float(np.abs(a - b).max()), float((a * b).sum(axis=1).min())


def matches(a: np.ndarray, b: np.ndarray) -> bool:
    diff, cos = compare(a, b)
    return bool(diff <= MAX_DIFF and cos >= MIN_COSINE)


def export(torch_embedder, folder: Path, target: Path) -> None:
    """Export the torch embedder's transformer to target/model.onnx with meta.json and the torch probe vectors.
    Written into a temporary folder and renamed, so a crash leaves no half export behind."""
    import torch

    model = torch_embedder.model
    transformer = model[0]
    auto = transformer.auto_model.eval()
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    class Hidden(torch.nn.Module):  # the last hidden state: pooling and normalising happen in numpy
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    sample = model.preprocess(["query: 什么是骨干网络？", "query: what is a backbone network"])
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings about Python branches on shapes are expected
        torch.onnx.export(Hidden(auto), (sample["input_ids"], sample["attention_mask"]), str(tmp / "model.onnx"),
                          input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"},
                                        "last_hidden_state": {0: "batch", 1: "tokens"}},
                          opset_version=OPSET, dynamo=False)
    import onnx

    # Weights in a file of their own, which ORT maps into memory instead of copying: only the rows of the 250k-token
    # embedding table that questions use become resident (measured: session peak RSS 894 -> 146-182 MB).
    graph = onnx.load(str(tmp / "model.onnx"))
    onnx.save_model(graph, str(tmp / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=WEIGHTS, size_threshold=1024)
    del graph
    prompts = model.prompts or {}
    pad_id = transformer.tokenizer.pad_token_id
    meta = {"version": EXPORT_VERSION, "fingerprint": torch_embedder.fingerprint, "dim": torch_embedder.dim,
            "max_seq_length": int(model.max_seq_length), "pad_id": int(pad_id if pad_id is not None else 0),
            "query_prompt": prompts.get(torch_embedder._query_prompt, "") if torch_embedder._query_prompt else "",
            "passage_prompt": prompts.get(torch_embedder._doc_prompt, "") if torch_embedder._doc_prompt else "",
            "torch": torch.__version__}
    reference = np.concatenate([torch_embedder.embed_queries(PROBE_QUERIES),
                                torch_embedder.embed_passages(PROBE_PASSAGES)])
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1), "utf-8")
    np.save(tmp / "probe.npy", reference)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)


def _tokens_match(torch_embedder, onnx_embedder: OnnxEmbedder) -> bool:
    """The fast tokenizer gives the model's own tokenizer's ids for every probe text (prompts included)."""
    texts = [onnx_embedder.meta["query_prompt"] + t for t in PROBE_QUERIES] + \
            [onnx_embedder.meta["passage_prompt"] + t for t in PROBE_PASSAGES]
    for text in texts:
        theirs = torch_embedder.model.preprocess([text])["input_ids"][0].tolist()
        if theirs != onnx_embedder.tokenizer.encode(text).ids:
            return False
    return True


def _open(name: str, fingerprint: str, folder: Path, target: Path, threads: int, passages) -> OnnxEmbedder:
    meta = json.loads((target / "meta.json").read_text("utf-8"))
    if meta.get("version") != EXPORT_VERSION or meta.get("fingerprint") != fingerprint:
        raise ValueError(f"export {meta.get('version')}/{meta.get('fingerprint')} is not "
                         f"{EXPORT_VERSION}/{fingerprint}")
    return OnnxEmbedder(name, fingerprint, folder, target / "model.onnx", meta, threads, passages)


def _checked(emb: OnnxEmbedder, reference: np.ndarray) -> tuple[bool, str]:
    diff, cos = compare(emb.probe(), reference)
    return diff <= MAX_DIFF and cos >= MIN_COSINE, f"max |diff| {diff:.2e}, min cosine {cos:.6f}"


def _export_in_child(name: str, folder: Path, target: Path) -> None:
    """Export (and check against torch) in a child process: the serving process never imports torch for it, and
    the export's peak memory (~2.7 GB: torch model, traced graph, ONNX protobuf) is not the worker's."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-m", "glossarian.onnx_encoder", name, str(folder), str(target)],
                          env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"export failed (exit {done.returncode}): {' / '.join(tail)}")


def load(name: str, fingerprint: str, folder: Path, home: Path, threads: int, torch_embedder) -> OnnxEmbedder | None:
    """The verified ONNX embedder of this model, exporting it first when needed; None (after a logged warning)
    when it cannot be used, so the caller serves with torch. `torch_embedder()` loads the torch model (passages)."""
    why = _modules_supported(folder)
    if why is not None:
        log.warning("ONNX encoder not used for %s: %s; encoding with torch.", name, why)
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        log.warning("ONNX encoder not available (%s); encoding with torch. pip install onnxruntime", exc)
        return None
    target = cache_dir(home, fingerprint)
    target.parent.mkdir(parents=True, exist_ok=True)
    problem = None
    with open(target.parent / f".onnx-{fingerprint}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # workers starting at once export once
        for attempt in ("cached", "fresh"):
            try:
                if attempt == "fresh" or not (target / "meta.json").is_file():
                    if attempt == "cached":
                        log.info("Exporting %s to ONNX into %s (once per model, ~30 s)...", name, target)
                    else:
                        log.warning("The ONNX export in %s is unusable (%s): exporting it again.", target, problem)
                    _export_in_child(name, folder, target)
                emb = _open(name, fingerprint, folder, target, threads, torch_embedder)
                ok, detail = _checked(emb, np.load(target / "probe.npy"))
                if ok:
                    log.info("ONNX encoder verified against torch's vectors on %d probe texts (%s).",
                             len(PROBE_QUERIES) + len(PROBE_PASSAGES), detail)
                    return emb
                problem = f"its vectors differ from torch's: {detail}"
            except Exception as exc:  # a corrupt or missing file, a failed export: exported again once, then torch
                problem = f"{type(exc).__name__}: {exc}"
            if attempt == "fresh":
                break
    log.warning("ONNX encoder not used for %s (%s); encoding with torch.", name, problem)
    return None


def _main(name: str, folder: str, target: str) -> int:
    """Child process of `_export_in_child`: export, then check token ids and vectors against torch directly."""
    from glossarian.embedding import SentenceTransformerEmbedder, folder_fingerprint

    path = Path(folder)
    torch_emb = SentenceTransformerEmbedder(name, folder, threads=os.cpu_count() or 1)
    fingerprint = folder_fingerprint(path)
    export(torch_emb, path, Path(target))
    emb = _open(name, fingerprint, path, Path(target), 1, lambda: torch_emb)
    if not _tokens_match(torch_emb, emb):
        shutil.rmtree(target, ignore_errors=True)
        print("the fast tokenizer's ids differ from the model's tokenizer", file=sys.stderr)
        return 1
    ok, detail = _checked(emb, np.load(Path(target) / "probe.npy"))
    if not ok:
        shutil.rmtree(target, ignore_errors=True)
        print(f"ORT vectors differ from torch's: {detail}", file=sys.stderr)
        return 1
    print(f"exported and checked: {detail}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(_main(*sys.argv[1:4]))
