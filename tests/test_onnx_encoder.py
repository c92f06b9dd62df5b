"""The ONNX Runtime question encoder: the same vectors as torch, a broken export rebuilt or replaced by torch with a
clear log line (never a crash), and GLOSSARIAN_ENCODER choosing the backend."""
from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from glossarian import onnx_encoder
from glossarian.config import Settings
from glossarian.embedding import SentenceTransformerEmbedder, folder_fingerprint, get_embedder
from glossarian.errors import ModelError

# Not the probe set the encoder checks itself with: other questions and passages, zh and en, short and long.
QUESTIONS = ["什么是注意力机制？", "What is weight decay?", "BN", "为什么 ResNet 的残差连接能缓解梯度消失问题，和 "
             "highway network 有什么不同？", "explain the difference between precision and recall in detail " * 20,
             "学习率 warmup 一般设多少步", "  trailing spaces  "]
PASSAGES = ["批归一化（Batch Normalization）对每个小批量做标准化。", "Early stopping ends training when the "
            "validation loss stops improving.", "梯度裁剪防止梯度爆炸。" * 80]


def _onnx(embedder):
    if getattr(embedder, "backend", None) != "onnx":
        pytest.skip(f"the configured encoder is {getattr(embedder, 'backend', '?')}")
    return embedder


def test_onnx_vectors_match_torch_on_other_texts(embedder, torch_embedder):
    emb = _onnx(embedder)
    q_onnx, q_torch = emb.embed_queries(QUESTIONS), torch_embedder.embed_queries(QUESTIONS)
    p_onnx, p_torch = emb.embed_onnx_passages(PASSAGES), torch_embedder.embed_passages(PASSAGES)
    for a, b in ((q_onnx, q_torch), (p_onnx, p_torch)):
        diff, cos = onnx_encoder.compare(a, b)
        assert diff <= onnx_encoder.MAX_DIFF and cos >= onnx_encoder.MIN_COSINE, (diff, cos)
    assert emb.fingerprint == torch_embedder.fingerprint  # the index built with torch stays valid
    # Batched with padding, the same vectors as one at a time.
    one_by_one = np.concatenate([emb.embed_queries([q]) for q in QUESTIONS])
    assert onnx_encoder.matches(q_onnx, one_by_one)
    # Passages (index builds) still go through torch.
    assert np.array_equal(emb.embed_passages(PASSAGES[:1]), torch_embedder.embed_passages(PASSAGES[:1]))


def test_compare_notices_a_different_vector():
    a = np.eye(3, dtype=np.float32)
    b = a.copy()
    b[1] = [0.0, 0.99, 0.14]
    assert onnx_encoder.matches(a, a) and not onnx_encoder.matches(a, b)
    assert not onnx_encoder.matches(a, a[:2])


def _copy_export(embedder, tmp_path):
    """A private GLOSSARIAN_HOME holding a copy of the shared export, to break it without touching the real one."""
    folder = Settings.from_env().models_dir / embedder.name
    fingerprint = embedder.fingerprint
    target = onnx_encoder.cache_dir(tmp_path, fingerprint)
    shutil.copytree(onnx_encoder.cache_dir(Settings.from_env().home, fingerprint), target)
    return folder, fingerprint, target


def test_a_corrupt_export_is_exported_again(embedder, torch_embedder, tmp_path, caplog):
    emb = _onnx(embedder)
    folder, fingerprint, target = _copy_export(emb, tmp_path)
    weights = target / onnx_encoder.WEIGHTS
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a truncated copy
    with caplog.at_level(logging.INFO, logger="glossarian"):
        fresh = onnx_encoder.load(emb.name, fingerprint, folder, tmp_path, 1, lambda: torch_embedder)
    assert fresh is not None and fresh.backend == "onnx"
    assert "unusable" in caplog.text and "exporting it again" in caplog.text and "verified" in caplog.text
    assert weights.stat().st_size > 0 and onnx_encoder.matches(fresh.embed_queries(QUESTIONS[:2]),
                                                               torch_embedder.embed_queries(QUESTIONS[:2]))


def test_an_export_that_cannot_be_repaired_falls_back_to_torch(embedder, torch_embedder, tmp_path, caplog,
                                                                monkeypatch):
    emb = _onnx(embedder)
    folder, fingerprint, target = _copy_export(emb, tmp_path)
    probe = np.load(target / "probe.npy")
    np.save(target / "probe.npy", probe[:, ::-1].copy())  # "torch's vectors" no longer match what ORT gives

    def broken_export(*args):
        raise RuntimeError("export failed (exit 1): no space left on device")

    monkeypatch.setattr(onnx_encoder, "_export_in_child", broken_export)
    with caplog.at_level(logging.WARNING, logger="glossarian"):
        assert onnx_encoder.load(emb.name, fingerprint, folder, tmp_path, 1, lambda: torch_embedder) is None
    assert "differ from torch" in caplog.text and "no space left on device" in caplog.text
    assert "encoding with torch" in caplog.text
    # A missing export with a failing exporter: the same, not a crash.
    shutil.rmtree(target)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="glossarian"):
        assert onnx_encoder.load(emb.name, fingerprint, folder, tmp_path, 1, lambda: torch_embedder) is None
    assert "encoding with torch" in caplog.text


def test_get_embedder_serves_with_torch_when_the_onnx_encoder_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(onnx_encoder, "load", lambda *args: None)
    settings = Settings.from_env(encoder="onnx", home=str(tmp_path / "home"))
    real = Settings.from_env()
    monkeypatch.setattr("glossarian.embedding.provision_default_model", lambda s: real.models_dir / real.embed_model)
    emb = get_embedder(settings)
    assert isinstance(emb, SentenceTransformerEmbedder) and emb.backend == "torch"


def test_the_environment_variable_picks_the_backend(monkeypatch, embedder, torch_embedder):
    monkeypatch.setenv("GLOSSARIAN_ENCODER", "torch")
    assert get_embedder(Settings.from_env()) is torch_embedder and torch_embedder.backend == "torch"
    monkeypatch.setenv("GLOSSARIAN_ENCODER", "onnx")
    onnx = get_embedder(Settings.from_env())
    assert onnx.backend in ("onnx", "torch")  # torch only when the ONNX encoder was refused (logged)
    if onnx.backend == "onnx":
        assert isinstance(onnx, onnx_encoder.OnnxEmbedder)
    monkeypatch.setenv("GLOSSARIAN_ENCODER", "tensorrt")
    with pytest.raises(ModelError, match="GLOSSARIAN_ENCODER"):
        get_embedder(Settings.from_env())
    assert folder_fingerprint(Settings.from_env().models_dir / embedder.name) == embedder.fingerprint
