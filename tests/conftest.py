"""Shared fixtures: the real embedding model and the real full-corpus index, each built once per session."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from helpers import CHROMIUM, CHROMIUM_ARGS, CORPUS, copy_entries, settings_for  # also sets GLOSSARIAN_HOME before glossarian loads
from glossarian.config import Settings

# Property tests draw the same examples on every run: a red CI run is then a regression, not an unlucky draw.
hypothesis_settings.register_profile("glossarian", derandomize=True)
hypothesis_settings.load_profile("glossarian")


@pytest.fixture(scope="session")
def embedder():
    from glossarian.embedding import get_embedder

    return get_embedder(Settings.from_env())


@pytest.fixture(scope="session")
def torch_embedder():
    """The same model through sentence-transformers and torch (GLOSSARIAN_ENCODER=torch); `embedder` is the
    configured one (ONNX Runtime for questions by default)."""
    from glossarian.embedding import get_embedder

    return get_embedder(Settings.from_env(encoder="torch"))


@pytest.fixture(scope="session")
def model_id(embedder) -> tuple[str, str]:
    return embedder.name, embedder.fingerprint


@pytest.fixture(scope="session")
def built_index(embedder, tmp_path_factory) -> Path:
    """The shipped corpus, indexed once. Read-only for tests: copy it before changing anything."""
    from glossarian.index import build_index

    index_dir = tmp_path_factory.mktemp("full-index")
    build_index(settings_for(CORPUS, index_dir), embedder)
    return index_dir


@pytest.fixture(scope="session")
def index_data(built_index, model_id):
    from glossarian.index import load_index

    return load_index(built_index, model_id)


@pytest.fixture(scope="session")
def retriever(index_data, embedder):
    from glossarian.retrieval import Retriever

    return Retriever(index_data, embedder, top_k=5)


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole session. Playwright's sync API runs one event loop per thread, so a second
    `sync_playwright()` while the first is open fails ("Sync API inside the asyncio loop"): every browser test
    (tests/e2e/, tests/test_terms.py) takes its pages from this context."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-wqy-microhei")
    profile = tempfile.mkdtemp(prefix="glossarian-chromium-")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 900}, locale="zh-CN")
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    return copy_entries(tmp_path / "corpus")


# -- order ----------------------------------------------------------------------------------------------------
def pytest_collection_modifyitems(config, items):
    # Last: the real-server LLM tests wait for scripts/test.sh's background build of llama-cpp-python, which has
    # the rest of the run to finish (a stable sort keeps every other test in its order).
    items.sort(key=lambda item: item.get_closest_marker("real_llm") is not None)
