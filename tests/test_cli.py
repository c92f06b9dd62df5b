"""The `glossarian` command as users run it: real processes, real model, their own corpus and index folders."""
from __future__ import annotations

import json
import re
import shutil

import pytest
from helpers import CORPUS, cli_env, copy_entries, copy_index, run_cli, write_entry

from glossarian.corpus import load_corpus, parse_entry

pytestmark = pytest.mark.slow

ANSWER_KEYS = {"question", "language", "answer", "intent", "missing_term", "sources", "closest", "tool_calls",
               "tool_errors"}
SHIPPED = len(load_corpus(CORPUS).entries)


@pytest.fixture(scope="module")
def full_env(built_index):
    """The shipped corpus and its index (read-only: nothing here may write to either)."""
    return cli_env(corpus=CORPUS, index=built_index)


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def first_sentence(text: str, stop: str) -> str:
    return text.split(stop, 1)[0]


def assert_one_error_with_fix(proc, *fix_words: str) -> None:
    lines = proc.stderr.splitlines()
    errors = [n for n, line in enumerate(lines) if line.startswith("error: ")]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert len(errors) == 1, proc.stderr
    fix = lines[errors[0] + 1] if errors[0] + 1 < len(lines) else ""
    assert fix.strip().startswith("fix: "), proc.stderr
    for word in fix_words:
        assert word in fix, fix


def test_help_lists_the_commands():
    proc = run_cli("--help", env=cli_env())
    assert proc.returncode == 0, proc.stderr
    for command in ("index", "ask", "corpus", "eval"):
        assert command in proc.stdout


def test_index_build_prints_what_it_added_changed_and_removed(built_index, tmp_path):
    corpus = shutil.copytree(CORPUS, tmp_path / "corpus")
    index = copy_index(built_index, tmp_path / "index")
    (corpus / "neck.md").write_text((corpus / "neck.md").read_text("utf-8") + "\nSee also PANet.\n", "utf-8")
    (corpus / "head.md").unlink()
    write_entry(corpus, "feature-fusion", term_zh="特征融合", zh="把多个来源的特征合在一起。", en="Combining features.")
    env = cli_env(corpus=corpus, index=index)

    proc = run_cli("index", "build", env=env)

    assert proc.returncode == 0, proc.stderr
    assert "added (1): feature-fusion" in proc.stdout
    assert "changed (1): neck" in proc.stdout
    assert "removed (1): head" in proc.stdout
    # "(2 embedded, 246 reused)", or "(2 embedded (1 from the vector cache), ...)" when an earlier build embedded one
    assert f"{SHIPPED} entries" in proc.stdout and re.search(rf"\(2 embedded( \(\d from the vector cache\))?, {SHIPPED - 2} reused\)", proc.stdout)
    status = run_cli("index", "status", env=env)
    assert status.returncode == 0 and "fresh" in status.stdout, status.stdout


def test_index_status_exit_code_says_whether_the_index_is_stale(built_index, tmp_path):
    corpus = shutil.copytree(CORPUS, tmp_path / "corpus")
    env = cli_env(corpus=corpus, index=built_index)

    fresh = run_cli("index", "status", env=env)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert f"entries:  {SHIPPED}" in fresh.stdout and "status:   fresh" in fresh.stdout

    (corpus / "warmup.md").write_text((corpus / "warmup.md").read_text("utf-8") + "\nEdited.\n", "utf-8")
    stale = run_cli("index", "status", env=env)
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "STALE" in stale.stdout and "changed: warmup" in stale.stdout
    assert "glossarian index build" in stale.stdout


def test_ask_json_prints_one_object_with_sources(full_env):
    proc = run_cli("ask", "什么是GAP？", "--json", env=full_env)

    assert proc.returncode == 0, proc.stderr
    [answer] = json_lines(proc.stdout)
    assert set(answer) == ANSWER_KEYS
    assert answer["language"] == "zh"
    source = answer["sources"][0]
    assert source["id"] == "global-average-pooling"
    assert (source["term_en"], source["term_zh"]) == ("Global Average Pooling", "全局平均池化")
    assert isinstance(source["score"], float) and 0 < source["score"] <= 1
    entry = parse_entry(CORPUS / "global-average-pooling.md", CORPUS)[0]
    assert first_sentence(entry.zh, "：") in answer["answer"]
    assert answer["tool_calls"] == []


def test_ask_without_argument_answers_each_stdin_line_in_order(full_env):
    # Blank lines in the middle and at the end: output line N must still answer input line N.
    lines = ["What is the neck of an object detector?", "", "   ", "红烧肉怎么做才不腻", "什么是GAP，", ""]

    proc = run_cli("ask", env=full_env, stdin="\n".join(lines) + "\n")

    assert proc.returncode == 0, proc.stderr
    out = json_lines(proc.stdout)
    assert [o["question"] for o in out] == lines  # echoed exactly as typed (the full-width comma too)
    english, blank, spaces, off_topic, chinese, last = out
    neck = parse_entry(CORPUS / "neck.md", CORPUS)[0]
    assert english["language"] == "en" and english["sources"][0]["id"] == "neck"
    assert first_sentence(neck.en, " and refines") in english["answer"]
    assert first_sentence(neck.zh, "，") not in english["answer"]
    for empty in (blank, spaces, last):  # same keys as an answer, plus the error and its fix
        assert set(english) <= set(empty) and empty["error"] and empty["hint"] and empty["sources"] == []
    assert "error" not in english and "error" not in off_topic
    assert off_topic["sources"] == [] and off_topic["answer"]
    assert chinese["language"] == "zh" and chinese["sources"][0]["id"] == "global-average-pooling"


def test_binary_junk_on_stdin_becomes_an_error_line_and_the_batch_goes_on(full_env):
    junk = b"\x00\x01\xff\xfe\x89PNG\x1a\x02\x03\x04\x05"
    too_long = b"x" * 2001  # refused before the model loads, so this test stays cheap

    proc = run_cli("ask", env=full_env, stdin=junk + b"\n" + too_long + b"\n")

    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0
    binary, long_line = json_lines(proc.stdout)
    assert "not readable text" in binary["error"] and binary["hint"] and binary["sources"] == []
    assert "2001 characters" in long_line["error"] and long_line["hint"]


def test_ask_builds_the_index_when_there_is_none(embedder, tmp_path):
    corpus = copy_entries(tmp_path / "corpus")
    index = tmp_path / "index"
    env = cli_env(corpus=corpus, index=index)

    proc = run_cli("ask", "什么是颈部网络？", "--json", env=env)

    assert proc.returncode == 0, proc.stderr
    assert json_lines(proc.stdout)[0]["sources"][0]["id"] == "neck"
    assert (index / "current" / "manifest.json").is_file()


def test_corrupt_index_is_one_error_line_with_the_fix(built_index, tmp_path):
    index = copy_index(built_index, tmp_path / "index")
    vectors = (index / "current").resolve() / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:1000])

    proc = run_cli("ask", "什么是GAP？", env=cli_env(corpus=CORPUS, index=index))

    assert_one_error_with_fix(proc, "glossarian index build")
    assert proc.stdout == ""


def test_missing_corpus_folder_is_one_error_line_with_the_fix(tmp_path):
    proc = run_cli("corpus", "check", env=cli_env(corpus=tmp_path / "no-such-folder"))
    assert_one_error_with_fix(proc, "GLOSSARIAN_CORPUS")
    assert "no-such-folder" in proc.stderr


def test_empty_question_is_one_error_line_with_the_fix(full_env):
    proc = run_cli("ask", "", env=full_env)
    assert_one_error_with_fix(proc)
    assert "empty" in proc.stderr


def test_corpus_check_passes_on_the_shipped_corpus():
    proc = run_cli("corpus", "check", env=cli_env(corpus=CORPUS))
    assert proc.returncode == 0, proc.stdout
    assert f"OK: {SHIPPED} entries" in proc.stdout


def test_corpus_check_lists_each_problem_as_path_line_message(tmp_path):
    corpus = copy_entries(tmp_path / "corpus")
    (corpus / "broken.md").write_text("---\nid: broken\nterm_en: Broken: yaml\nterm_zh: 坏\n---\n", "utf-8")
    write_entry(corpus, "great-answer-prompt", aliases="GAP")

    proc = run_cli("corpus", "check", env=cli_env(corpus=corpus))

    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert f"{corpus}/broken.md:3: invalid YAML in front matter: mapping values are not allowed here" in lines
    assert any(line.startswith(f"{corpus}/great-answer-prompt.md:5: alias or term 'gap'") for line in lines), lines
    assert all(line.startswith(f"{corpus}/") for line in lines), lines
