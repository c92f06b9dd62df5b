"""`glossarian bench` machinery on a tiny configuration: every figure comes out, the server answers every request.

Speed is measured by the bench, never asserted here.
"""
from __future__ import annotations

import json

import pytest
from helpers import copy_entries, settings_for

from glossarian.bench import FIGURES, BenchConfig, run_bench

BRIEF_KEYS = {
    "encode_floor_ms", "retrieval_p50_ms", "retrieval_p95_ms", "ask_p50_ms", "ask_p95_ms",
    "retrieval_p50_ms_10k", "retrieval_p50_ms_100k", "build_entries_per_s", "encode_entries_per_s",
    "incremental_rebuild_s", "server_rps", "server_p50_ms", "server_p95_ms", "server_errors",
    "cold_start_s", "peak_rss_mb", "ceiling_qps", "server_vs_ceiling", "server_1_client_p50_ms",
}


@pytest.mark.slow
def test_bench_produces_every_figure_and_the_server_answers_all_requests(embedder, tmp_path):
    corpus = copy_entries(tmp_path / "corpus")
    config = BenchConfig(sizes=(300, 500), questions=12, floor_runs=5, requests=10, clients=4)
    result = json.loads(json.dumps(run_bench(settings_for(corpus, tmp_path / "index"), config).to_json()))

    assert BRIEF_KEYS <= set(FIGURES)
    assert result["server_errors"] == 0, result["notes"]
    for key in BRIEF_KEYS - {"server_errors"}:
        value = result[key]
        assert isinstance(value, (int, float)) and value > 0, (key, value, result["notes"])
    assert result["details"]["synthetic_100k"]["entries"] == 500
    assert result["details"]["incremental_embedded"] == 1
    assert [t["met"] in (True, False) for t in result["targets"]] == [True] * len(result["targets"])
    assert set(result["details"]["load_by_phase"]) >= {"build", "retrieval", "ask", "ceiling", "server"}


@pytest.mark.slow
def test_bench_serving_with_two_workers_reports_memory_of_each(embedder, tmp_path):
    corpus = copy_entries(tmp_path / "corpus")
    config = BenchConfig(questions=12, floor_runs=5, requests=12, clients=4, workers=2, serving_only=True)
    result = run_bench(settings_for(corpus, tmp_path / "index"), config).to_json()

    assert result["server_errors"] == 0, result["notes"]
    assert result["details"]["server"]["workers"] == 2
    assert len(result["details"]["server"]["peak_rss_mb_by_worker"]) == 2
    assert result["peak_rss_mb"] == max(result["details"]["server"]["peak_rss_mb_by_worker"])
    assert result["ceiling_qps"] > 0 and result["server_vs_ceiling"] > 0
    assert result["retrieval_p50_ms"] is None  # --serving skips the rest, and says so
    assert any("--serving" in n for n in result["notes"])
