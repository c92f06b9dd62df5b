"""One `glossarian bench` run: the configuration, the phases in order, and what they measured.

Everything runs the real code once, in one process plus the server subprocess: the configured model, a fresh
build of the real corpus (in a temporary folder), Retriever.search and Assistant.ask over the dev-set
questions, the batched-encode ceiling, and `python -m glossarian serve [--workers N]` under concurrent clients.
Speed is measured here and never asserted in tests. The load average is recorded as each phase begins: on a
shared machine every figure is only as good as the load it was measured under.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glossarian.bench.ceiling import batched_ceiling
from glossarian.bench.floor import Floor, encode_entries_per_s, percentiles, say, timed
from glossarian.bench.server import server_bench
from glossarian.bench.synthetic import NOISE, ann_crossover, synthetic_retriever
from glossarian.bench.targets import FIGURES, targets
from glossarian.config import REPO_ROOT, Settings

DEV_SET = REPO_ROOT / "tests" / "data" / "eval_dev.jsonl"


@dataclass(frozen=True)
class BenchConfig:
    sizes: tuple[int, int] = (10_000, 100_000)  # synthetic corpora behind retrieval_p50_ms_10k / _100k
    questions: int = 0  # dev questions per latency figure; 0 = all of them
    floor_runs: int = 50
    requests: int = 400
    clients: int = 16
    server: bool = True
    workers: int = 1  # server processes (`serve --workers N`)
    serving_only: bool = False  # only the floor, the ceiling and the server (skips build and scale figures)
    build_entries: int = 0  # entries behind the build/encode throughput; 0 = the whole corpus
    crossover: bool = False  # also time flat vs HNSW at CROSSOVER_SIZES (minutes: HNSW builds)
    questions_file: Path = DEV_SET
    reduced: tuple[str, ...] = ()  # figures measured on a smaller workload than their name says

    @classmethod
    def quick(cls) -> "BenchConfig":
        return cls(sizes=(10_000, 20_000), questions=60, floor_runs=24, requests=100, build_entries=16,
                   reduced=("retrieval_p50_ms_100k (20,000 entries)", "retrieval/ask (60 questions)",
                            "build/encode throughput (16 entries)", "server (100 requests)"))


@dataclass
class Bench:
    """What one run measured: the figures, plus details and notes that explain them."""

    figures: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {**self.figures, "targets": targets(self.figures, self.details), "details": self.details,
                "notes": self.notes}

    def phase(self, name: str, message: str) -> None:
        self.details.setdefault("load_by_phase", {})[name] = round(os.getloadavg()[0], 2)
        say(message)


def _entry_files(corpus: Path) -> list[Path]:
    return [p for p in sorted(Path(corpus).glob("*.md")) if p.name.lower() != "readme.md"]


def _edit_one_entry(corpus: Path) -> str:
    path = _entry_files(corpus)[0]
    path.write_text(path.read_text("utf-8").rstrip("\n") + "\n\nEdited by glossarian bench.\n", "utf-8")
    return path.stem


def _copy_corpus(source: Path, target: Path, limit: int = 0) -> Path:
    target.mkdir(parents=True)
    files = _entry_files(source)
    for path in files[:limit] if limit else files:
        shutil.copy(path, target / path.name)
    return target


def _fresh_index(settings: Settings, embedder) -> Path | None:
    """The configured index folder when it is up to date with the corpus and model, else None."""
    from glossarian.errors import GlossarianError
    from glossarian.index import index_status

    try:
        return settings.index if index_status(settings, (embedder.name, embedder.fingerprint)).fresh else None
    except GlossarianError:
        return None


def _full_index(bench: Bench, settings: Settings, embedder, tmp: Path) -> Settings:
    """Settings whose index covers the whole corpus: a copy of the configured one when fresh, else a build."""
    from glossarian.index import build_index

    full = settings.with_(corpus=_copy_corpus(settings.corpus, tmp / "corpus"), index=tmp / "index")
    existing = _fresh_index(settings, embedder)
    bench.details["entries"] = len(_entry_files(settings.corpus))
    if existing is not None:
        shutil.copytree(existing, full.index, symlinks=True)
        bench.notes.append(f"The retrieval index is a copy of the up-to-date {existing}.")
    else:
        build_index(full, embedder)
    return full


def _build_figures(bench: Bench, settings: Settings, embedder, config: BenchConfig, tmp: Path) -> Settings:
    """Bare encode vs full build throughput, then one incremental rebuild. Returns settings whose index is a
    fresh build of the whole corpus (copied from the configured index in --quick when it is up to date)."""
    from glossarian.corpus import load_corpus
    from glossarian.index import build_index

    figures, details = bench.figures, bench.details
    full = settings.with_(corpus=_copy_corpus(settings.corpus, tmp / "corpus"), index=tmp / "index")
    measured = full
    if config.build_entries:
        measured = settings.with_(corpus=_copy_corpus(settings.corpus, tmp / "corpus-part", config.build_entries),
                                  index=tmp / "index-part")
    entries = load_corpus(measured.corpus).entries
    bench.phase("build", f"bare encode of {len(entries)} entries, then a full build of them")
    figures["encode_entries_per_s"], encode_cpu = encode_entries_per_s(embedder, entries)
    cpu = time.process_time()
    report = build_index(measured, embedder)
    figures["build_entries_per_s"] = report.total / report.seconds
    # CPU-time rates barely move with other processes' load, unlike the wall-clock figures above.
    details.update(build_entries=report.total, build_s=round(report.seconds, 2),
                   encode_entries_per_cpu_s=round(encode_cpu, 3),
                   build_entries_per_cpu_s=round(report.total / (time.process_time() - cpu), 3))
    if measured is not full:
        shutil.rmtree(full.corpus)
        full = _full_index(bench, settings, embedder, tmp)

    bench.phase("incremental", "incremental rebuild after editing one entry")
    edit = settings.with_(corpus=shutil.copytree(full.corpus, tmp / "corpus-edit"),
                          index=shutil.copytree(full.index, tmp / "index-edit", symlinks=True))
    details["edited_entry"] = _edit_one_entry(edit.corpus)
    report = build_index(edit, embedder)
    figures["incremental_rebuild_s"] = report.seconds
    details["incremental_embedded"] = report.embedded
    return full


def _retrieval_figures(bench: Bench, s: Settings, embedder, floor: Floor, questions, untooled, config) -> None:
    from glossarian.assistant import Assistant
    from glossarian.index import load_index
    from glossarian.retrieval import Retriever

    figures, details = bench.figures, bench.details
    bench.phase("retrieval", f"retrieval over {len(questions)} questions")
    real = load_index(s.index, (embedder.name, embedder.fingerprint))
    details["entries"] = len(real.entries)
    retriever = Retriever(real, embedder, s.top_k)
    timed(retriever.search, questions[:10])
    figures["retrieval_p50_ms"], figures["retrieval_p95_ms"] = percentiles(
        floor.measure("retrieval", retriever.search, questions))
    # The floor is one short query; real questions are longer. Their bare encode shows what is left.
    lat = timed(lambda q: embedder.embed_queries([q]), questions)
    details["question_encode_p50_ms"] = round(float(np.median(lat)), 2)

    bench.phase("ask", f"ask over {len(untooled)} questions the router sends to no tool")
    assistant = Assistant(s)
    assistant.warm_up()
    timed(assistant.ask, untooled[:10])
    figures["ask_p50_ms"], figures["ask_p95_ms"] = percentiles(floor.measure("ask", assistant.ask, untooled))
    del assistant

    for key, n in zip(("retrieval_p50_ms_10k", "retrieval_p50_ms_100k"), config.sizes):
        bench.phase(key.rsplit("_", 1)[1], f"synthetic corpus of {n:,} entries")
        big, steps = synthetic_retriever(real, embedder, n, s.top_k)
        timed(big.search, questions[:10])
        lat = floor.measure(key.rsplit("_", 1)[1], big.search, questions)
        figures[key] = float(np.median(lat))
        details[key.replace("retrieval_p50_ms", "synthetic")] = {
            "entries": n, "ann": big.index.manifest.ann, "typo_matching": big.matcher.fuzzy_enabled,
            "p95_ms": round(float(np.percentile(lat, 95)), 2), **steps}
        del big
    bench.notes.append(f"Synthetic corpora ({', '.join(f'{n:,}' for n in config.sizes)} entries) clone the "
                       f"real entries with numbered names; their vectors are perturbed copies of the real entry "
                       f"vectors (noise {NOISE}/dim), not encoded; FAISS, BM25 and NameMatcher are the real "
                       "builds (BM25 tokens cached per word while building).")
    if config.crossover:
        bench.phase("crossover", "flat vs HNSW crossover")
        details["crossover"] = ann_crossover(real, embedder, queries=questions[:50])


def _serving_figures(bench: Bench, settings: Settings, s: Settings, embedder, floor: Floor, untooled, config,
                     tmp: Path) -> None:
    figures, details = bench.figures, bench.details
    lanes = max(1, (os.cpu_count() or 1) // max(1, settings.threads))
    bench.phase("ceiling", f"batched-encode ceiling: batches of 16 on {lanes} lane(s)")
    ceiling = batched_ceiling(embedder, untooled, lanes)
    figures["ceiling_qps"] = ceiling.pop("ceiling_qps")
    details["ceiling"] = {**ceiling, "before_server_qps": round(figures["ceiling_qps"], 1)}
    if not config.server:
        bench.notes.append("Server figures skipped (--no-server).")
        return
    bench.phase("server", f"server: {config.workers} worker(s), {config.clients} clients, {config.requests} requests")
    try:
        out = server_bench(settings, s.corpus, s.index, untooled, config, tmp, floor=floor)
    except Exception as exc:  # a broken server is a failed measurement, reported as such
        bench.notes.append(f"Server FAILED: {exc}")
        figures["server_errors"] = config.requests
        return
    details["server"] = {"workers": out.pop("workers"), "peak_rss_mb_by_worker": out.pop("peak_rss_mb_by_worker"),
                         "load_after": round(os.getloadavg()[0], 2)}
    figures.update(out)
    # Measured again after the server: on a shared machine the load moves, and the ceiling is the best of both.
    bench.phase("ceiling-again", "batched-encode ceiling again")
    again = batched_ceiling(embedder, untooled, lanes)["ceiling_qps"]
    details["ceiling"]["after_server_qps"] = round(again, 1)
    figures["ceiling_qps"] = max(figures["ceiling_qps"], again)
    figures["server_vs_ceiling"] = figures["server_rps"] / figures["ceiling_qps"]


def run_bench(settings: Settings, config: BenchConfig = BenchConfig()) -> Bench:
    """Every figure of `glossarian bench`, measured in this process (plus the server subprocess)."""
    from glossarian.embedding import get_embedder
    from glossarian.evaluate import load_cases
    from glossarian.tools import route

    settings = settings.with_(llm_base_url="", llm_model="")  # the offline engine
    bench = Bench()
    details = bench.details
    questions = [c.question for c in load_cases(config.questions_file)]
    if config.questions:
        questions = questions[:: max(1, len(questions) // config.questions)][: config.questions]
    untooled = [q for q in questions if route(q) is None]
    details.update(model=settings.embed_model, threads=settings.threads, cpus=os.cpu_count(), workers=config.workers,
                   load_average_start=round(os.getloadavg()[0], 2), questions=len(questions),
                   ask_questions=len(untooled))
    if config.reduced:
        bench.notes.append("--quick: reduced figures: " + "; ".join(config.reduced) + ".")

    with tempfile.TemporaryDirectory(prefix="glossarian-bench-") as tmp:
        tmp = Path(tmp)
        bench.phase("model", "loading the model")
        start = time.perf_counter()
        embedder = get_embedder(settings)
        details["model_load_s"] = round(time.perf_counter() - start, 2)
        details["encoder"] = getattr(embedder, "backend", type(embedder).__name__)
        floor = Floor(embedder, per_phase=-(-config.floor_runs // (3 + len(config.sizes))))
        if config.serving_only:
            s = _full_index(bench, settings, embedder, tmp)
            bench.notes.append("--serving: build, retrieval and scale figures skipped.")
        else:
            s = _build_figures(bench, settings, embedder, config, tmp)
            _retrieval_figures(bench, s, embedder, floor, questions, untooled, config)
        _serving_figures(bench, settings, s, embedder, floor, untooled, config, tmp)
        bench.figures["encode_floor_ms"] = floor.ms
        details["floor_ms_by_phase"] = floor.by_phase()
    details["load_average_end"] = round(os.getloadavg()[0], 2)
    if max(details["load_average_start"], details["load_average_end"]) > (os.cpu_count() or 1):
        bench.notes.append(f"The machine was busy (load average {details['load_average_start']} -> "
                           f"{details['load_average_end']} on {os.cpu_count()} CPUs): figures are slower than idle; "
                           "re-run `glossarian bench` on a quiet machine for the real ones.")
    for key in FIGURES:
        bench.figures.setdefault(key, None)
    bench.figures = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in bench.figures.items()}
    return bench
