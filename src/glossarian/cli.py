"""The `glossarian` command: index, ask, corpus, eval. Errors become one clear line, never a traceback."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from glossarian.config import Settings
from glossarian.errors import GlossarianError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Glossarian: a bilingual deep-learning glossary assistant.")
index_app = typer.Typer(no_args_is_help=True, help="Build and inspect the search index.")
corpus_app = typer.Typer(no_args_is_help=True, help="Validate and import glossary entries.")
app.add_typer(index_app, name="index")
app.add_typer(corpus_app, name="corpus")

CorpusOpt = typer.Option(None, "--corpus", help="Glossary folder [env: GLOSSARIAN_CORPUS]", show_default=False)
IndexOpt = typer.Option(None, "--index", help="Index folder [env: GLOSSARIAN_INDEX]", show_default=False)
ModelOpt = typer.Option(None, "--model", help="Embedding model name or folder [env: GLOSSARIAN_EMBED_MODEL]",
                        show_default=False)


def settings(corpus: Optional[Path] = None, index: Optional[Path] = None, model: Optional[str] = None) -> Settings:
    return Settings.from_env(corpus=corpus, index=index, embed_model=model)


def _assistant(s: Settings):
    from glossarian.assistant import Assistant

    return Assistant(s)


def _print_answer(answer) -> None:
    typer.echo(answer.answer)
    if answer.sources:
        typer.echo("\nSources: " + ", ".join(f"[{n}] {h.entry.id}" for n, h in enumerate(answer.sources, 1)))


@index_app.command("build")
def index_build(corpus: Optional[Path] = CorpusOpt, index: Optional[Path] = IndexOpt,
                model: Optional[str] = ModelOpt) -> None:
    """Embed the corpus and write the index (incremental, atomic)."""
    from glossarian.embedding import get_embedder
    from glossarian.index import build_index

    s = settings(corpus, index, model)
    report = build_index(s, get_embedder(s), progress=sys.stderr.isatty())
    for line in report.lines():
        typer.echo(line)


@index_app.command("status")
def index_status_cmd(corpus: Optional[Path] = CorpusOpt, index: Optional[Path] = IndexOpt,
                     model: Optional[str] = ModelOpt) -> None:
    """Show the index and whether the corpus changed since it was built (exit 0 fresh, 1 stale)."""
    from glossarian.embedding import model_identity
    from glossarian.index import index_status

    s = settings(corpus, index, model)
    st = index_status(s, model_identity(s))
    m = st.manifest
    typer.echo(f"index:    {s.index}")
    typer.echo(f"entries:  {m.count} ({m.rows} views)")
    typer.echo(f"model:    {m.model} ({m.model_fingerprint}, dim {m.dim}, {m.ann})")
    c = m.calibration
    typer.echo(f"calibration: floor {c.floor:.3f}, margin {c.margin:.3f} (in-scope cosine {c.in_cosine:.3f}, "
               f"out-of-scope {c.out_cosine:.3f})")
    typer.echo(f"built:    {m.built_at}")
    if st.fresh:
        typer.echo("status:   fresh")
        return
    typer.echo("status:   STALE — run `glossarian index build`")
    for label, ids in (("added", st.added), ("changed", st.changed), ("removed", st.removed)):
        if ids:
            typer.echo(f"  {label}: {', '.join(ids)}")
    if st.model_mismatch:
        typer.echo(f"  model: {st.model_mismatch}")
    raise typer.Exit(1)


@app.command()
def ask(question: Optional[str] = typer.Argument(None, help="The question; omit to read one per line from stdin."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
        corpus: Optional[Path] = CorpusOpt, index: Optional[Path] = IndexOpt, model: Optional[str] = ModelOpt) -> None:
    """Ask the glossary a question in Chinese or English."""
    assistant = _assistant(settings(corpus, index, model))
    if question is not None:
        answer = assistant.ask(question)
        if as_json:
            typer.echo(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            _print_answer(answer)
        return
    # Batch mode: one question per line in, one JSON object per line out; the model loads once.
    # Bytes, decoded leniently: a line of binary junk becomes an error object, never a crash.
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line.strip():
            continue
        try:
            out = assistant.ask(line).to_json()
        except GlossarianError as exc:
            out = {"question": line, "error": exc.message, "hint": exc.hint}
        typer.echo(json.dumps(out, ensure_ascii=False))
        sys.stdout.flush()


@corpus_app.command("check")
def corpus_check(corpus: Optional[Path] = CorpusOpt) -> None:
    """Validate every entry; print each problem as file:line: message (exit 1 if any)."""
    from glossarian.corpus import check_corpus, load_corpus
    from glossarian.tools import tool_names

    s = settings(corpus)
    c = load_corpus(s.corpus)
    problems = check_corpus(c, set(tool_names()))
    for p in problems:
        typer.echo(f"{Path(s.corpus) / p.path}:{p.line}: {p.message}")
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {len(c.entries)} entries.", err=True)
        raise typer.Exit(1)
    typer.echo(f"OK: {len(c.entries)} entries, no problems.")


@corpus_app.command("import")
def corpus_import(file: Path = typer.Argument(..., help="Plain-text glossary: 'term: definition' paragraphs."),
                  force: bool = typer.Option(False, "--force", help="Overwrite entries that already exist."),
                  corpus: Optional[Path] = CorpusOpt) -> None:
    """Turn a plain-text glossary into draft entry files (Chinese filled in, English marked as draft)."""
    from glossarian.importer import import_file

    report = import_file(file, settings(corpus).corpus, force=force)
    for line in report.lines():
        typer.echo(line)


@app.command()
def serve(host: Optional[str] = typer.Option(None, help="Bind address [env: GLOSSARIAN_HOST]", show_default=False),
          port: Optional[int] = typer.Option(None, help="Port [env: GLOSSARIAN_PORT]", show_default=False),
          corpus: Optional[Path] = CorpusOpt, index: Optional[Path] = IndexOpt, model: Optional[str] = ModelOpt) -> None:
    """Start the web chat, the HTTP API and the wiki widget (default http://127.0.0.1:7860)."""
    from glossarian.web import serve as run_server

    run_server(settings(corpus, index, model).with_(host=host, port=port))


@app.command("eval")
def eval_cmd(set_file: Path = typer.Option(Path("tests/data/eval_dev.jsonl"), "--set", help="JSONL evaluation set"),
             as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
             mode: str = typer.Option("hybrid", "--mode", help="hybrid (shipped), dense or bm25"),
             corpus: Optional[Path] = CorpusOpt, index: Optional[Path] = IndexOpt, model: Optional[str] = ModelOpt) -> None:
    """Measure retrieval quality on a labelled question set."""
    from glossarian.evaluate import evaluate, format_report, load_cases

    if mode not in ("hybrid", "dense", "bm25"):
        raise GlossarianError(f"Unknown mode '{mode}'.", "Use one of: hybrid, dense, bm25.")
    cases = load_cases(set_file)
    report = evaluate(_assistant(settings(corpus, index, model)).retriever(), cases, mode)
    if as_json:
        out = dict(report.summary, failures=[
            {"question": o.case.question, "expected": o.case.expected, "got": o.got, "abstained": o.abstained}
            for o in report.failures()])
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        typer.echo(format_report(report))


@app.command()
def tune(dev: Path = typer.Option(Path("tests/data/eval_dev.jsonl"), "--dev", help="JSONL set to tune on"),
         holdout: Optional[Path] = typer.Option(None, "--holdout", help="Blind JSONL set: reported, never tuned on"),
         write: bool = typer.Option(False, "--write", help="Save the chosen parameters and rebuild the index."),
         sweep_file: Path = typer.Option(Path("tuning/dev-sweep.json"), "--sweep", help="Where to record the sweep"),
         corpus: Optional[Path] = CorpusOpt, index: Optional[Path] = IndexOpt, model: Optional[str] = ModelOpt) -> None:
    """Choose retrieval parameters by 5-fold cross-validation on dev; print dev / cross-validated (/ holdout)
    figures per kind for dense-only, BM25-only and hybrid. Updates the index first (incremental)."""
    from glossarian.embedding import get_embedder
    from glossarian.evaluate import load_cases
    from glossarian.index import build_index, load_index
    from glossarian.retrieval import Retriever
    from glossarian.tune import run

    s = settings(corpus, index, model)
    embedder = get_embedder(s)
    build_index(s, embedder)
    retriever = Retriever(load_index(s.index, (embedder.name, embedder.fingerprint)), embedder, s.top_k)
    run(retriever, load_cases(dev), load_cases(holdout) if holdout else None, write, sweep_file, typer.echo)
    if write:
        build_index(s, embedder)
        typer.echo(f"index rebuilt with the new parameters: {s.index}")


@app.command()
def bench(quick: bool = typer.Option(False, "--quick", help="About two minutes: 20k instead of 100k synthetic "
                                     "entries, 60 questions, 16-entry build, 100 requests."),
          as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
          crossover: bool = typer.Option(False, "--crossover", help="Also time flat vs HNSW FAISS at 10k-100k "
                                         "entries (several minutes)."),
          no_server: bool = typer.Option(False, "--no-server", help="Skip the HTTP server figures."),
          corpus: Optional[Path] = CorpusOpt, model: Optional[str] = ModelOpt) -> None:
    """Measure latency, throughput, scale and the HTTP server on this machine, next to their targets."""
    from dataclasses import replace

    from glossarian.bench import BenchConfig, format_table, run_bench

    config = BenchConfig.quick() if quick else BenchConfig()
    config = replace(config, server=not no_server, crossover=crossover)
    result = run_bench(settings(corpus, None, model), config).to_json()
    typer.echo(json.dumps(result, ensure_ascii=False, indent=1) if as_json else format_table(result))


def main() -> None:
    try:
        app()
    except GlossarianError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        if exc.hint:
            typer.echo(f"  fix: {exc.hint}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
