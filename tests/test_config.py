"""Settings: GLOSSARIAN_* environment variables override defaults, typed; a bad value names the variable."""
from __future__ import annotations

from pathlib import Path

import pytest

from glossarian.config import Settings
from glossarian.errors import GlossarianError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("TOP_K", "LLM_TIMEOUT", "INDEX", "CORPUS", "EMBED_MODEL", "PORT"):
        monkeypatch.delenv("GLOSSARIAN_" + name, raising=False)


def test_defaults_without_environment():
    s = Settings.from_env()
    assert s.top_k == 5
    assert s.embed_model == "multilingual-e5-small"
    assert s.corpus.name == "corpus" and (s.corpus / "global-average-pooling.md").is_file()


def test_environment_overrides_defaults_with_the_right_types(monkeypatch, tmp_path):
    monkeypatch.setenv("GLOSSARIAN_TOP_K", "3")
    monkeypatch.setenv("GLOSSARIAN_LLM_TIMEOUT", "2.5")
    monkeypatch.setenv("GLOSSARIAN_INDEX", str(tmp_path / "idx"))
    monkeypatch.setenv("GLOSSARIAN_EMBED_MODEL", "/models/other")

    s = Settings.from_env()

    assert s.top_k == 3 and isinstance(s.top_k, int)
    assert s.llm_timeout == 2.5 and isinstance(s.llm_timeout, float)
    assert s.index == tmp_path / "idx" and isinstance(s.index, Path)
    assert s.embed_model == "/models/other"


def test_home_relative_paths_are_expanded(monkeypatch):
    monkeypatch.setenv("GLOSSARIAN_CORPUS", "~/my-glossary")
    assert Settings.from_env().corpus == Path.home() / "my-glossary"


def test_empty_variable_means_default(monkeypatch):
    monkeypatch.setenv("GLOSSARIAN_TOP_K", "")
    assert Settings.from_env().top_k == 5


def test_command_line_values_beat_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GLOSSARIAN_TOP_K", "3")
    monkeypatch.setenv("GLOSSARIAN_INDEX", str(tmp_path / "from-env"))

    s = Settings.from_env(top_k=7, index=tmp_path / "from-flag", corpus=None)

    assert s.top_k == 7 and s.index == tmp_path / "from-flag"
    assert s.corpus == Settings().corpus  # None means "not given on the command line"


@pytest.mark.parametrize("name, value", [("TOP_K", "three"), ("PORT", "80.5"), ("LLM_TIMEOUT", "fast")])
def test_bad_number_names_the_variable_and_the_default(monkeypatch, name, value):
    monkeypatch.setenv("GLOSSARIAN_" + name, value)

    with pytest.raises(GlossarianError) as exc:
        Settings.from_env()

    assert f"GLOSSARIAN_{name}" in exc.value.message and repr(value) in exc.value.message
    assert "default" in exc.value.hint
