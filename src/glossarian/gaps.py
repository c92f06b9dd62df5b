"""The gap report: what readers asked that the glossary could not answer, from the question log.

    missing terms      terms the assistant recognised as absent (`missing_term`), ranked by how often asked
    unanswered groups  abstained questions grouped by embedding similarity, with counts and examples
    worst rated        answers with the most 👎 (and their comments)
    most asked         entries that answered the most questions

`glossarian gaps` prints it, `/admin` shows it as tables, drafts.py turns the top missing terms into entries.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone

from glossarian.errors import GlossarianError

# Average-linkage clusters of unanswered questions join above this cosine. Measured with the shipped
# multilingual-e5-small on 12 questions about 3 terms the glossary lacks (FlashAttention, SwiGLU,
# speculative decoding) plus 2 off-topic ones: same-term pairs in one language 0.86-0.96, different terms
# and off-topic pairs <= 0.86 (two Chinese "X 是什么" templates reached 0.86).
CLUSTER_MIN_COSINE = 0.88
MAX_CLUSTERED = 2000  # most recent distinct unanswered questions clustered (pairwise cost grows as n^2)
EXAMPLES = 3
SINCE_RE = re.compile(r"^(\d+)\s*([hdw])$")


@dataclass
class MissingTerm:
    term: str
    count: int
    examples: list[str]
    last_asked: str


@dataclass
class Cluster:
    count: int
    examples: list[str]  # the most central question first


@dataclass
class RatedAnswer:
    answer_id: str
    question: str | None
    top_entry: str | None
    down: int
    up: int
    comments: list[str]


@dataclass
class Day:
    day: str
    questions: int
    abstained: int

    @property
    def abstention_rate(self) -> float:
        return self.abstained / self.questions if self.questions else 0.0


@dataclass
class GapReport:
    since: str | None
    questions: int
    abstained: int
    feedback: int
    missing_terms: list[MissingTerm] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    worst_rated: list[RatedAnswer] = field(default_factory=list)
    most_asked: list[tuple[str, int]] = field(default_factory=list)
    days: list[Day] = field(default_factory=list)
    text_logged: bool = True

    def to_json(self) -> dict:
        out = asdict(self)
        out["most_asked"] = [{"entry": e, "count": n} for e, n in self.most_asked]
        for d, day in zip(out["days"], self.days):
            d["abstention_rate"] = round(day.abstention_rate, 3)
        return out


def parse_since(text: str | None) -> datetime | None:
    """'7d', '24h', '2w' -> the UTC moment that long ago; None or 'all' -> no limit."""
    if text is None or text.strip().lower() in ("", "all"):
        return None
    m = SINCE_RE.match(text.strip().lower())
    if not m:
        raise GlossarianError(f"--since {text!r} is not a duration.", "Use e.g. 24h, 7d, 2w or all.")
    n, unit = int(m.group(1)), m.group(2)
    delta = {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]
    return datetime.now(timezone.utc) - delta


def term_key(term: str) -> str:
    """'Flash-Attention', 'flash attention' and 'FlashAttention' are one missing term."""
    return re.sub(r"[\s\-_·]+", "", term.casefold())


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC


def build_report(rows: list[dict], feedback: list[dict], embedder=None, known_names: set[str] = frozenset(),
                 since: datetime | None = None, top: int = 20) -> GapReport:
    """The report from log rows (Store.questions_since) and feedback rows; `embedder` enables clusters.

    Missing terms whose name the corpus now has (`known_names`, as term_key) are left out: once a
    maintainer adds the entry, it leaves the report.
    """
    text_logged = any(r["question"] for r in rows) or not rows
    report = GapReport(since=since.isoformat(timespec="minutes") if since else None, questions=len(rows),
                       abstained=sum(1 for r in rows if r["abstained"]), feedback=len(feedback),
                       text_logged=text_logged)
    report.missing_terms = _missing_terms(rows, known_names)[:top]
    if embedder is not None:
        report.clusters = _clusters(rows, embedder)[:top]
    report.worst_rated = _worst_rated(rows, feedback)[:top]
    asked = Counter(r["top_entry"] for r in rows if r["top_entry"] and not r["abstained"])
    report.most_asked = asked.most_common(top)
    report.days = _days(rows, since)
    return report


def _missing_terms(rows, known_names) -> list[MissingTerm]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["missing_term"] and term_key(r["missing_term"]) not in known_names:
            groups[term_key(r["missing_term"])].append(r)
    out = []
    for group in groups.values():
        spelling = Counter(r["missing_term"] for r in group).most_common(1)[0][0]
        examples = list(dict.fromkeys(r["question"] for r in reversed(group) if r["question"]))[:EXAMPLES]
        last = max(_utc(r["asked_at"]) for r in group)
        out.append(MissingTerm(spelling, len(group), examples, last.isoformat(timespec="minutes")))
    out.sort(key=lambda m: m.last_asked, reverse=True)  # ties: the most recently asked first
    out.sort(key=lambda m: -m.count)
    return out


def _clusters(rows, embedder) -> list[Cluster]:
    """Unanswered questions (abstained, with or without a recognised missing term) grouped by meaning."""
    counts = Counter(" ".join(r["question"].split()) for r in rows if r["abstained"] and r["question"])
    texts = [t for t, _ in sorted(counts.items(), key=lambda kv: -kv[1])][:MAX_CLUSTERED]
    if not texts:
        return []
    vectors = embedder.embed_queries(texts)
    if len(texts) == 1:
        labels = [1]
    else:
        from scipy.cluster.hierarchy import fcluster, linkage

        tree = linkage(vectors, method="average", metric="cosine")
        labels = fcluster(tree, t=1 - CLUSTER_MIN_COSINE, criterion="distance")
    members: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        members[int(label)].append(i)
    out = []
    for idx in members.values():
        centre = vectors[idx].mean(axis=0)
        ranked = sorted(idx, key=lambda i: (-float(vectors[i] @ centre), -counts[texts[i]]))
        out.append(Cluster(sum(counts[texts[i]] for i in idx), [texts[i] for i in ranked[:EXAMPLES]]))
    return sorted(out, key=lambda c: -c.count)


def _worst_rated(rows, feedback) -> list[RatedAnswer]:
    by_id = {r["answer_id"]: r for r in rows}
    votes: dict[str, list[dict]] = defaultdict(list)
    for f in feedback:
        votes[f["answer_id"]].append(f)
    out = []
    for answer_id, fs in votes.items():
        down = sum(1 for f in fs if f["rating"] < 0)
        if not down:
            continue
        row = by_id.get(answer_id, {})
        out.append(RatedAnswer(answer_id, row.get("question"), row.get("top_entry"), down,
                               sum(1 for f in fs if f["rating"] > 0), [f["comment"] for f in fs if f["comment"]]))
    return sorted(out, key=lambda a: (a.up - a.down, -a.down))


def _days(rows, since) -> list[Day]:
    per: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        d = _utc(r["asked_at"]).date()
        per[d][0] += 1
        per[d][1] += bool(r["abstained"])
    if not per:
        return []
    first = min(per) if since is None else max(since.date(), min(per))
    last = max(per)
    days, d = [], first
    while d <= last:  # days without questions show as zeros, so the plot's x axis is time
        days.append(Day(d.isoformat(), *per.get(d, (0, 0))))
        d += timedelta(days=1)
    return days


def format_report(report: GapReport) -> str:
    """The report as plain text for the terminal."""
    rate = report.abstained / report.questions if report.questions else 0.0
    lines = [f"Questions: {report.questions} since {report.since or 'the start of the log'} · "
             f"unanswered {report.abstained} ({rate:.0%}) · feedback {report.feedback}", ""]
    lines.append("Missing terms (asked, not in the glossary):")
    if not report.missing_terms:
        lines.append("  none")
    for n, m in enumerate(report.missing_terms, 1):
        lines.append(f"  {n:>2}. {m.term}  ×{m.count}")
        lines += [f"        “{q}”" for q in m.examples]
    lines += ["", "Unanswered questions, grouped by meaning:"]
    if not report.text_logged:
        lines.append("  (question text logging is off: GLOSSARIAN_LOG_QUESTION_TEXT=0)")
    elif not report.clusters:
        lines.append("  none")
    for c in report.clusters:
        lines.append(f"  ×{c.count:<3} " + " | ".join(f"“{q}”" for q in c.examples))
    lines += ["", "Worst-rated answers:"]
    if not report.worst_rated:
        lines.append("  none")
    for a in report.worst_rated:
        lines.append(f"  👎{a.down} 👍{a.up}  {a.top_entry or '(no entry)'}  “{a.question or '?'}”")
        lines += [f"        comment: {c}" for c in a.comments[:EXAMPLES]]
    lines += ["", "Most-asked entries:"]
    if not report.most_asked:
        lines.append("  none")
    lines += [f"  {n:>5}  {entry}" for entry, n in report.most_asked]
    return "\n".join(lines)


def load_report(settings, since: str | None = "7d", top: int = 20, store=None, embedder=None) -> GapReport:
    """The report for `settings`' question log and corpus; the embedder loads only when there is text to group."""
    from glossarian.corpus import load_corpus
    from glossarian.questionlog.store import Store, database_url, redact

    moment = parse_since(since)
    store = store or Store(database_url(settings))
    try:
        rows, feedback = store.questions_since(moment), store.feedback_since(moment)
    except Exception as exc:
        raise GlossarianError(f"Cannot read the question log at {redact(store.url)}: {str(exc).splitlines()[0][:200]}",
                              "Check GLOSSARIAN_DATABASE_URL (unset = SQLite in GLOSSARIAN_HOME) and that the "
                              "database is running.") from None
    known = {term_key(name) for e in load_corpus(settings.corpus).entries for name in e.names}
    if embedder is None and any(r["abstained"] and r["question"] for r in rows):
        from glossarian.embedding import get_embedder

        embedder = get_embedder(settings)
    return build_report(rows, feedback, embedder, known, moment, top)
