"""GET /metrics in the Prometheus text format (prometheus-client), one registry per app.

    glossarian_http_requests_total{route,method,status}       glossarian_http_request_duration_seconds{route}
    glossarian_answers_total{outcome,channel}                 outcome: answered | abstained | missing_term | tool
    glossarian_tool_runs_total{tool} / _tool_failures_total   glossarian_index_info{version} / _index_age_seconds
    glossarian_question_log_{written,dropped,write_failures}_total, glossarian_question_log_queue

Routes are a fixed set of labels (ROUTES), so scanners requesting random paths cannot grow the series.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

ROUTES = ("/api/ask", "/api/feedback", "/healthz", "/livez", "/metrics", "/admin", "/embed.js", "/gradio.js")
# Answers take ~10-50 ms offline and seconds with an LLM (glossarian bench); the buckets cover both.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def route_of(path: str, root: str = "") -> str:
    if root and path.startswith(root):
        path = path[len(root):] or "/"
    for route in ROUTES:
        if path == route or path.startswith(route + "/"):
            return route
    if path == "/widget" or path.startswith("/widget/"):
        return "/widget"
    if path.startswith("/api/"):
        return "/api/other"
    return "/ (chat)"  # the Gradio app: its page, assets and queue


class Metrics:
    def __init__(self, assistant=None, question_log=None, root: str = ""):
        self.registry = CollectorRegistry()
        self.root = root
        self.requests = Counter("glossarian_http_requests", "HTTP requests by route, method and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("glossarian_http_request_duration_seconds", "Time to the end of the response.",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.answers = Counter("glossarian_answers", "Answers by outcome and channel.", ["outcome", "channel"],
                               registry=self.registry)
        self.registry.register(_StateCollector(assistant, question_log))

    def on_answer(self, row: dict) -> None:
        """QuestionLog listener: one answer logged."""
        self.answers.labels(row["outcome"], row["channel"]).inc()

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/metrics", include_in_schema=False)
        async def metrics_page():
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

        return router


class MetricsMiddleware:
    """ASGI middleware: counts and times every HTTP request under its route label."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        route = route_of(scope["path"], self.metrics.root)
        started = time.perf_counter()
        status = 500  # what the client sees if the app raises before answering

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


class _StateCollector:
    """Values read at scrape time: tool counters, the loaded index, the question log's writer."""

    def __init__(self, assistant, question_log):
        self.assistant = assistant
        self.question_log = question_log

    def collect(self):
        from glossarian.tools import registry, tool_names

        known = set(tool_names())
        runs = CounterMetricFamily("glossarian_tool_runs", "Tool runs by tool.", labels=["tool"])
        failures = CounterMetricFamily("glossarian_tool_failures", "Tool runs that failed, by tool.", labels=["tool"])
        for family, counts in ((runs, registry.RUNS), (failures, registry.FAILURES)):
            merged: dict[str, int] = {}
            for name, n in list(counts.items()):
                label = name if name in known else "other"  # an LLM may call tools that do not exist
                merged[label] = merged.get(label, 0) + n
            for label, n in merged.items():
                family.add_metric([label], n)
        yield runs
        yield failures
        yield from self._index()
        yield from self._log()

    def _index(self):
        retriever = getattr(self.assistant, "_retriever", None)
        found = getattr(getattr(retriever, "index", None), "manifest", None)
        if found is None:
            return
        # The typed Manifest (manifest.py) as a dict, so the lookups below read one shape.
        manifest = found if isinstance(found, dict) else vars(found)
        version = str(getattr(self.assistant, "_loaded_target", "") or manifest.get("built_at", "")).rsplit("/", 1)[-1]
        info = InfoMetricFamily("glossarian_index", "The index being served.")
        info.add_metric([], {"version": version, "model": str(manifest.get("model", ""))})
        yield info
        yield GaugeMetricFamily("glossarian_index_entries", "Entries in the index being served.",
                                value=float(manifest.get("count") or 0))
        try:
            built = datetime.strptime(manifest.get("built_at", ""), "%Y-%m-%dT%H:%M:%S%z")
            yield GaugeMetricFamily("glossarian_index_age_seconds", "Seconds since the served index was built.",
                                    value=(datetime.now(timezone.utc) - built).total_seconds())
        except (TypeError, ValueError):
            pass

    def _log(self):
        writer = getattr(self.question_log, "writer", None)
        if writer is None:
            return
        for name, value, doc in (
                ("written", writer.written, "Question-log rows written to the database."),
                ("dropped", writer.dropped, "Question-log rows dropped after retries (database down or queue full)."),
                ("write_failures", writer.failures, "Failed question-log write attempts (each retry counts).")):
            yield CounterMetricFamily(f"glossarian_question_log_{name}", doc, value=value)
        yield GaugeMetricFamily("glossarian_question_log_queue", "Rows waiting to be written.",
                                value=writer.queue.qsize())
