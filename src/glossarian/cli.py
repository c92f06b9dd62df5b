"""The `glossarian` command: index, ask, corpus, eval. Errors become one clear line, never a traceback."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from glossarian.config import Settings
from glossarian.errors import GlossarianError
from glossarian.lang import detect_language
from glossarian.answer import Answer

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
    from glossarian.questionlog import QuestionLog

    s = settings(corpus, index, model)
    assistant = _assistant(s)
    question_log = QuestionLog.from_settings(s)
    try:
        _ask(assistant, question, as_json, question_log)
    finally:
        question_log.close(5.0)  # queued rows reach the database before the process ends


def _ask(assistant, question, as_json, question_log) -> None:
    if question is not None:
        started = time.perf_counter()
        answer = assistant.ask(question)
        question_log.record(answer, "cli", time.perf_counter() - started)
        if as_json:
            typer.echo(json.dumps({**answer.to_json(), "question": question}, ensure_ascii=False))
        else:
            _print_answer(answer)
        return
    # Batch mode: exactly one JSON object per input line, so output line N answers input line N; the model
    # loads once. Bytes, decoded leniently: binary junk or a blank line becomes an error object, never a skip.
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        try:
            started = time.perf_counter()
            answer = assistant.ask(line)
            question_log.record(answer, "cli", time.perf_counter() - started)
            out = {**answer.to_json(), "question": line}  # echoed exactly as typed
        except GlossarianError as exc:
            # The same keys as an answer (an empty one), plus what went wrong and how to fix it.
            empty = Answer(question=line, language=detect_language(line), answer="").to_json()
            out = {**empty, "error": exc.message, "hint": exc.hint}
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
def corpus_import(file: Path = typer.Argument(..., help="Plain-text notes: 'term: definition' paragraphs, or a term "
                                              "alone on its line with its definition below."),
                  force: bool = typer.Option(False, "--force", help="Overwrite entries that already exist."),
                  dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be created; write nothing."),
                  translate: bool = typer.Option(False, "--translate", help="Draft the other language with the LLM "
                                                 "endpoint [env: GLOSSARIAN_LLM_BASE_URL, GLOSSARIAN_LLM_MODEL]."),
                  corpus: Optional[Path] = CorpusOpt) -> None:
    """Turn plain-text notes into draft entries (status: draft; the definition in its own language, the other
    language a placeholder or, with --translate, a machine draft to review)."""
    from glossarian.importer import Translator, import_file

    s = settings(corpus)
    translator = Translator.from_settings(s) if translate else None
    report = import_file(file, s.corpus, force=force, dry_run=dry_run, translator=translator)
    for line in report.lines():
        typer.echo(line)


@app.command()
def gaps(since: str = typer.Option("7d", "--since", help="How far back: 24h, 7d, 2w or all."),
         as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
         draft: int = typer.Option(0, "--draft", help="Write draft entries for the top N missing terms "
                                   "into the corpus (never overwrites)."),
         top: int = typer.Option(20, "--top", help="Rows per table."),
         corpus: Optional[Path] = CorpusOpt, model: Optional[str] = ModelOpt) -> None:
    """What readers asked that the glossary could not answer, from the question log [env: GLOSSARIAN_DATABASE_URL]."""
    from glossarian.gaps import load_report

    s = settings(corpus, None, model)
    report = load_report(s, since, top=top)
    if draft > 0:
        from glossarian.drafts import write_drafts

        result = write_drafts(report.missing_terms, s.corpus, draft, s)
    if as_json:
        out = report.to_json()
        if draft > 0:
            out["drafts"] = {"written": [str(p) for p in result.written],
                             "skipped": [{"term": t, "reason": r} for t, r in result.skipped]}
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        from glossarian.gaps import format_report

        typer.echo(format_report(report))
        if draft > 0:
            typer.echo("")
            for path in result.written:
                typer.echo(f"draft written: {path}")
            for term, reason in result.skipped:
                typer.echo(f"draft skipped: {term} ({reason})")
            if result.written:
                typer.echo("Review the drafts, then run `glossarian corpus check` and `glossarian index build`.")


@app.command()
def serve(host: Optional[str] = typer.Option(None, help="Bind address [env: GLOSSARIAN_HOST]", show_default=False),
          port: Optional[int] = typer.Option(None, help="Port [env: GLOSSARIAN_PORT]", show_default=False),
          workers: Optional[int] = typer.Option(None, "--workers", help="Server processes, each with its own model "
                                                "and index [env: GLOSSARIAN_WORKERS]", show_default=False),
          corpus: Optional[Path] = CorpusOpt, index: Optional[Path] = IndexOpt, model: Optional[str] = ModelOpt) -> None:
    """Start the web chat, the HTTP API and the wiki widget (default http://127.0.0.1:7860)."""
    from glossarian.web import serve as run_server

    if workers is not None and workers < 1:
        raise GlossarianError(f"--workers {workers} is not a number of processes.", "Use --workers 1 or more.")
    run_server(settings(corpus, index, model).with_(host=host, port=port, workers=workers))


@app.command("eval")
def eval_cmd(set_file: Path = typer.Option(Path("tests/data/eval_dev.jsonl"), "--set", help="JSONL evaluation set"),
             as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
             mode: str = typer.Option("hybrid", "--mode", help="hybrid (shipped), dense or bm25"),
             conversations: Optional[Path] = typer.Option(
                 None, "--conversations", help="Evaluate whole answers on a multi-turn JSONL set instead, e.g. "
                 "tests/data/conversations_dev.jsonl (subject, intent, tool, missing term, no repeats).",
                 show_default=False),
             corpus: Optional[Path] = CorpusOpt, index: Optional[Path] = IndexOpt, model: Optional[str] = ModelOpt) -> None:
    """Measure retrieval quality on a labelled question set (or answers on a conversation set)."""
    from glossarian.evaluate import evaluate, format_report, load_cases

    if conversations is not None:
        from glossarian.conversation_eval import evaluate_conversations, format_conversation_report, load_conversations

        report = evaluate_conversations(_assistant(settings(corpus, index, model)), load_conversations(conversations))
        if as_json:
            out = dict(report.summary(), failures=[vars(o) for o in report.failures()])
            typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
        else:
            typer.echo(format_conversation_report(report))
        return

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
          serving: bool = typer.Option(False, "--serving", help="Only the encode floor, the batched-encode ceiling "
                                       "and the server (a few minutes)."),
          workers: int = typer.Option(1, "--workers", min=1, help="Server processes for the server figures."),
          clients: int = typer.Option(16, "--clients", min=1, help="Concurrent clients for the server figures."),
          corpus: Optional[Path] = CorpusOpt, model: Optional[str] = ModelOpt) -> None:
    """Measure latency, throughput, scale and the HTTP server on this machine, next to their targets."""
    from dataclasses import replace

    from glossarian.bench import BenchConfig, format_table, run_bench

    config = BenchConfig.quick() if quick else BenchConfig()
    config = replace(config, server=not no_server, crossover=crossover, serving_only=serving, workers=workers,
                     clients=clients)
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
