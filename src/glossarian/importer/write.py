"""Plan, write (or with dry_run only show) the draft entries of one imported glossary, and report each step."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from glossarian.corpus import load_corpus
from glossarian.errors import CorpusError
from glossarian.importer.drafts import LANG_NAME, Draft, drafts_for, render
from glossarian.importer.segment import Block, read_glossary, split_blocks
from glossarian.names import name_key

FORMAT_HINT = ("Each entry must start with a term: 'backbone：骨干网络是……' (term, colon, definition), or the term "
               "alone on its line with the definition on the lines below it.")


@dataclass(frozen=True)
class Written:
    """One entry file: created, overwritten, or (dry run) to be created."""
    id: str
    path: Path
    term: str
    line: int
    draft: Draft


@dataclass(frozen=True)
class Skipped:
    excerpt: str
    reason: str
    line: int


@dataclass
class ImportReport:
    source: Path
    dry_run: bool = False
    created: list[Written] = field(default_factory=list)
    overwritten: list[Written] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        create, overwrite = ("would create", "would overwrite") if self.dry_run else ("created", "overwritten")
        events = [(w.line, f"{create} {_shown(w.path)} ({w.term}){self._detail(w)}") for w in self.created]
        events += [(w.line, f"{overwrite} {_shown(w.path)} ({w.term}){self._detail(w)}") for w in self.overwritten]
        events += [(s.line, f"skipped: '{s.excerpt}' — {s.reason}") for s in self.skipped]
        out = [text for _, text in sorted(events, key=lambda e: e[0])]
        out += [f"note: {n}" for n in self.notes]
        if self.dry_run:
            out.append(f"Dry run: {len(self.created)} to create, {len(self.overwritten)} to overwrite, "
                       f"{len(self.skipped)} skipped from {self.source.name}; nothing was written.")
        else:
            out.append(f"{len(self.created)} created, {len(self.overwritten)} overwritten, {len(self.skipped)} "
                       f"skipped from {self.source.name}.")
        if (self.created or self.overwritten) and not self.dry_run:
            out.append("Next: write each draft's other language and its missing facets (see `draft:` in its front "
                       "matter), then run `glossarian corpus check`.")
        return out

    def _detail(self, w: Written) -> str:
        d = w.draft
        other = f"machine draft by {d.machine_model}" if d.machine_model else "draft placeholder"
        detail = f"{LANG_NAME[d.lang]} from line {w.line}; {LANG_NAME[d.other]}: {other}"
        if self.dry_run:
            detail += f"; missing facets: {', '.join(d.missing_facets)}"
        return f" — {detail}"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= 40 else text[:40] + "…"


def _existing_names(corpus_dir: Path) -> dict[str, str]:
    """name key -> id of the entry already claiming it."""
    if not corpus_dir.is_dir():
        return {}
    owners: dict[str, str] = {}
    for e in load_corpus(corpus_dir).entries:
        for n in e.names:
            owners.setdefault(name_key(n), e.id)
    return owners


def _plan(blocks: list[Block], corpus_dir: Path, force: bool, report: ImportReport) -> list[tuple[Draft, bool]]:
    """(draft, overwrite) for every entry to write; what is skipped, and why, goes into `report`."""
    owners = _existing_names(corpus_dir)
    planned: list[tuple[Draft, bool]] = []
    seen: dict[str, int] = {}
    for b in blocks:
        if b.skip:
            report.skipped.append(Skipped(_excerpt(b.text), b.skip, b.line))
            continue
        drafts, note = drafts_for(b)
        if note:
            report.notes.append(f"line {b.line}: {note}")
        for d in drafts:
            if d.zh_guessed and owners.get(name_key(d.term_zh), d.id) != d.id:
                d = replace(d, term_zh=d.term_en, zh_guessed=False)  # a guess never takes another entry's name
            path = corpus_dir / f"{d.id}.md"
            excerpt = _excerpt(b.text)
            if d.id in seen:
                report.skipped.append(Skipped(excerpt, f"duplicate: id '{d.id}' already came from line "
                                              f"{seen[d.id]} of this file", b.line))
                continue
            seen[d.id] = b.line
            if path.exists() and not force:
                report.skipped.append(Skipped(excerpt, f"{_shown(path)} exists, skipped (use --force)", b.line))
                continue
            claimed = [(n, owners[name_key(n)]) for n in d.names if owners.get(name_key(n), d.id) != d.id]
            if claimed and not force:
                name, owner = claimed[0]
                report.skipped.append(Skipped(excerpt, f"'{name}' is already a name of {owner}.md; merge by "
                                              "hand, or use --force to import a draft anyway", b.line))
                continue
            if claimed:
                report.notes.append(f"{d.id}.md: '{claimed[0][0]}' is also a name of {claimed[0][1]}.md; merge them "
                                    "before `glossarian corpus check`")
            planned.append((d, path.exists()))
            for n in d.names:
                owners.setdefault(name_key(n), d.id)
    # A pair partner that was skipped and does not exist would be a dangling `related` link.
    ids = {d.id for d, _ in planned}
    return [(replace(d, related=tuple(r for r in d.related if r in ids or (corpus_dir / f"{r}.md").exists())), o)
            for d, o in planned]


def import_file(file: Path, corpus_dir: Path, force: bool = False, dry_run: bool = False,
                translator=None) -> ImportReport:
    """Write one draft entry per glossary term in `file` into `corpus_dir`; report what was written and skipped.

    dry_run: report what would be written and write nothing (the translator is not called either).
    translator: an importer.translate.Translator that drafts each entry's other language.
    """
    from glossarian.answer.llm import LLMUnavailable

    file, corpus_dir = Path(file), Path(corpus_dir)
    report = ImportReport(file, dry_run=dry_run)
    blocks = split_blocks(read_glossary(file))
    if not any(b.term and not b.skip for b in blocks):
        raise CorpusError(f"Nothing to import from {file}: no 'term: definition' paragraphs found.", FORMAT_HINT)
    planned = _plan(blocks, corpus_dir, force, report)

    if translator is not None:
        for i, (d, overwrite) in enumerate(planned):
            if dry_run:
                planned[i] = (replace(d, machine_model=translator.model), overwrite)
                continue
            try:
                planned[i] = (replace(d, machine=translator.translate(d), machine_model=translator.model), overwrite)
            except LLMUnavailable as exc:
                report.notes.append(f"--translate stopped at {d.id}.md: {exc.message} The remaining drafts keep a "
                                    f"placeholder for the other language. ({exc.hint})")
                break

    if not dry_run:
        corpus_dir.mkdir(parents=True, exist_ok=True)
    for d, overwrite in planned:
        path = corpus_dir / f"{d.id}.md"
        if not dry_run:
            path.write_text(render(d, file.name), encoding="utf-8")
        term = d.term_en if d.term_en == d.term_zh else f"{d.term_en} / {d.term_zh}"
        (report.overwritten if overwrite else report.created).append(Written(d.id, path, term, d.line, d))
        if d.placeholder_id:
            report.notes.append(f"{d.id}.md ({d.term_zh}) has a placeholder id: rename the file and its id "
                                "to an English slug")
    return report
