"""The admin page: the gap report as tables, a plot of questions per day and abstention rate, CSV export.

    GET /admin?since=7d               HTML (since: 24h, 7d, 2w, all)
    GET /admin/questions.csv?since=7d the logged questions with their 👍/👎 counts
    GET /admin/report.json?since=7d   the report as JSON (same as `glossarian gaps --json`)

Closed unless GLOSSARIAN_ADMIN_TOKEN or GLOSSARIAN_UI_AUTH is set: a browser logs in with HTTP Basic auth
(the UI_AUTH user and password, or any user name with the admin token as password); scripts send
`Authorization: Bearer <admin token>`.
"""
from __future__ import annotations

import base64
import csv
import hmac
import io
from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from glossarian.errors import GlossarianError

CSV_FIELDS = ("asked_at", "channel", "page", "language", "intent", "question", "outcome", "abstained",
              "missing_term", "top_entry", "sources", "tools", "latency_ms", "up", "down", "answer_id")
PLOT_W, PLOT_H, PAD = 720, 200, 36


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def authorized(header: str | None, settings) -> bool:
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() == "bearer" and settings.admin_token:
        return _same(value.strip(), settings.admin_token)
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    if settings.admin_token and _same(password, settings.admin_token):
        return True
    if settings.ui_auth:
        want_user, _, want_password = settings.ui_auth.partition(":")
        return _same(user, want_user) & _same(password, want_password)
    return False


def admin_router(question_log, settings, assistant) -> APIRouter:
    from glossarian.gaps import load_report

    router = APIRouter()

    def refuse(request: Request):
        if not (settings.admin_token or settings.ui_auth):
            return JSONResponse({"error": "The admin page is turned off.",
                                 "hint": "Set GLOSSARIAN_ADMIN_TOKEN (or GLOSSARIAN_UI_AUTH) and restart."}, 403)
        if not authorized(request.headers.get("authorization"), settings):
            return JSONResponse({"error": "Log in to see the admin page.",
                                 "hint": "Use the UI_AUTH login, or any user name with the admin token as password."},
                                401, headers={"WWW-Authenticate": 'Basic realm="Glossarian admin", charset="UTF-8"'})
        return None

    async def report(request: Request):
        since = request.query_params.get("since", "7d")
        ready = getattr(getattr(request.app.state, "readiness", None), "ready", False)
        embedder = assistant.embedder if ready else None  # clusters once the model is loaded
        return await run_in_threadpool(load_report, settings, since, 20, question_log.store, embedder)

    async def guarded(request: Request, render):
        refused = refuse(request)
        if refused is not None:
            return refused
        try:
            return await render(request)
        except GlossarianError as exc:
            return JSONResponse({"error": exc.message, "hint": exc.hint}, 503 if "database" in (exc.hint or "") else 400)

    @router.get("/admin", include_in_schema=False)
    async def admin_page(request: Request):
        async def render(request):
            rep = await report(request)
            return HTMLResponse(render_page(rep, request.query_params.get("since", "7d"), question_log))
        return await guarded(request, render)

    @router.get("/admin/report.json", include_in_schema=False)
    async def admin_json(request: Request):
        async def render(request):
            return JSONResponse((await report(request)).to_json())
        return await guarded(request, render)

    @router.get("/admin/questions.csv", include_in_schema=False)
    async def admin_csv(request: Request):
        async def render(request):
            from glossarian.gaps import parse_since

            since = parse_since(request.query_params.get("since", "7d"))
            text = await run_in_threadpool(questions_csv, question_log.store, since)
            return Response(text, media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": 'attachment; filename="glossarian-questions.csv"'})
        return await guarded(request, render)

    return router


def questions_csv(store, since) -> str:
    votes: dict[str, list[int]] = {}
    for f in store.feedback_since(since):
        up_down = votes.setdefault(f["answer_id"], [0, 0])
        up_down[0 if f["rating"] > 0 else 1] += 1
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in store.questions_since(since):
        up, down = votes.get(row["answer_id"], (0, 0))
        writer.writerow({**row, "asked_at": row["asked_at"].isoformat(timespec="seconds"),
                         "sources": " ".join(row["sources"]), "tools": " ".join(row["tools"]), "up": up, "down": down})
    return "\ufeff" + out.getvalue()  # BOM: spreadsheet programs then read the Chinese text as UTF-8


def plot_svg(days) -> str:
    """Bars: questions per day; line: abstention rate (right axis, 0-100 %). Plain SVG, no libraries."""
    if not days:
        return "<p>No questions in this period.</p>"
    top = max(d.questions for d in days) or 1
    inner_w, inner_h = PLOT_W - 2 * PAD, PLOT_H - 2 * PAD
    step = inner_w / len(days)
    parts = [f'<svg class="plot" viewBox="0 0 {PLOT_W} {PLOT_H}" role="img" '
             f'aria-label="Questions per day and abstention rate">',
             f'<line x1="{PAD}" y1="{PLOT_H - PAD}" x2="{PLOT_W - PAD}" y2="{PLOT_H - PAD}" class="axis"/>',
             f'<text x="{PAD - 4}" y="{PAD + 4}" class="tick" text-anchor="end">{top}</text>',
             f'<text x="{PLOT_W - PAD + 4}" y="{PAD + 4}" class="tick">100%</text>',
             f'<text x="{PLOT_W - PAD + 4}" y="{PLOT_H - PAD}" class="tick">0%</text>']
    points = []
    for i, d in enumerate(days):
        h = inner_h * d.questions / top
        x = PAD + i * step
        parts.append(f'<rect x="{x + step * 0.15:.1f}" y="{PLOT_H - PAD - h:.1f}" width="{step * 0.7:.1f}" '
                     f'height="{h:.1f}" class="bar"><title>{escape(d.day)}: {d.questions} questions, '
                     f'{d.abstained} unanswered</title></rect>')
        points.append(f"{x + step / 2:.1f},{PLOT_H - PAD - inner_h * d.abstention_rate:.1f}")
        if len(days) <= 14 or i % max(1, len(days) // 7) == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{PLOT_H - PAD + 14}" class="tick" '
                         f'text-anchor="middle">{escape(d.day[5:])}</text>')
    parts.append(f'<polyline points="{" ".join(points)}" class="rate"/>')
    parts += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3" class="dot"/>' for p in points]
    parts.append("</svg>")
    return "".join(parts)


def _table(headers, rows) -> str:
    if not rows:
        return "<p class=none>None.</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _quotes(texts) -> str:
    return "<br>".join(f"“{escape(t)}”" for t in texts)


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 960px; color: #1f2937; padding: 0 16px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 4px 8px; vertical-align: top;
border-bottom: 1px solid #e5e7eb; } th { background: #f3f4f6; } td.n { text-align: right; }
.summary span { margin-right: 18px; } .none { color: #6b7280; }
.plot { width: 100%; height: auto; background: #fafafa; border: 1px solid #e5e7eb; }
.bar { fill: #93b4f5; } .rate { fill: none; stroke: #dc2626; stroke-width: 2; } .dot { fill: #dc2626; }
.axis { stroke: #9ca3af; } .tick { font-size: 10px; fill: #6b7280; }
.legend span { margin-right: 16px; } .sw { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
"""


def render_page(rep, since: str, question_log) -> str:
    rate = rep.abstained / rep.questions if rep.questions else 0.0
    writer = question_log.writer
    periods = " · ".join(f'<a href="?since={p}">{p}</a>' for p in ("24h", "7d", "30d", "all"))
    missing = [(f"<b>{escape(m.term)}</b>", f"<span class=n>{m.count}</span>", _quotes(m.examples),
                escape(m.last_asked)) for m in rep.missing_terms]
    if not rep.text_logged:
        clusters_html = "<p class=none>Question text logging is off (GLOSSARIAN_LOG_QUESTION_TEXT=0).</p>"
    else:
        clusters_html = _table(["Asked", "Questions (most typical first)"],
                               [(str(c.count), _quotes(c.examples)) for c in rep.clusters])
    worst = [(f"{a.down} down · {a.up} up", escape(a.top_entry or "—"), _quotes([a.question or "?"]),
              "<br>".join(escape(c) for c in a.comments)) for a in rep.worst_rated]
    asked = [(escape(entry), str(n)) for entry, n in rep.most_asked]
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Glossarian admin</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head><body>
<h1>Glossarian · what readers asked</h1>
<p>Period: <b>{escape(since)}</b> ({periods}) · <a href="admin/questions.csv?since={escape(since)}">CSV export</a> ·
<a href="admin/report.json?since={escape(since)}">JSON</a></p>
<p class="summary"><span>Questions: <b>{rep.questions}</b></span><span>Unanswered: <b>{rep.abstained}</b>
({rate:.0%})</span><span>Feedback: <b>{rep.feedback}</b></span><span>Log: {escape(question_log.where)} ·
dropped writes {writer.dropped}</span></p>
<h2>Questions per day and abstention rate</h2>
<p class="legend"><span><i class="sw" style="background:#93b4f5"></i>questions</span>
<span><i class="sw" style="background:#dc2626"></i>abstention rate</span></p>
{plot_svg(rep.days)}
<h2>Missing terms</h2>{_table(["Term", "Asked", "Examples", "Last asked"], missing)}
<h2>Unanswered questions, grouped by meaning</h2>{clusters_html}
<h2>Worst-rated answers</h2>{_table(["Votes", "Entry", "Question", "Comments"], worst)}
<h2>Most-asked entries</h2>{_table(["Entry", "Questions"], asked)}
</body></html>"""
