"""The server under load: `python -m glossarian serve [--workers N]` on a built index, concurrent HTTP clients.

Figures: time to /healthz 200, one client alone (with the encode floor sampled between its requests), then
`clients` concurrent clients, each on its own connection; peak RSS of every worker process.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from glossarian.bench.floor import ms, percentiles
from glossarian.config import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmHWM for process {pid}")


def worker_pids(pid: int) -> list[int]:
    """The processes that answer: uvicorn's workers when it has children that load the app, else pid itself."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    # uvicorn --workers N also starts a multiprocessing resource tracker: a worker holds the model (> 200 MB)
    workers = [c for c in children if peak_rss_mb(c) > 200]
    return workers or [pid]


def load_test(url: str, questions: list[str], requests: int, clients: int) -> tuple[list[float], int, float]:
    """`clients` threads, each with its own connection, POST /api/ask until `requests` are done.
    Returns (latencies of successful requests in ms, errors, wall seconds)."""
    import httpx

    jobs = [questions[i % len(questions)] for i in range(requests)]
    go = threading.Barrier(clients)

    def client(mine: list[str]) -> tuple[list[float], int]:
        latencies, errors = [], 0
        with httpx.Client(timeout=120) as http:
            go.wait()
            for q in mine:
                start = time.perf_counter()
                try:
                    ok = http.post(url, json={"question": q}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(ms(time.perf_counter() - start))
                else:
                    errors += 1
        return latencies, errors

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, [jobs[i::clients] for i in range(clients)]))
    wall = time.perf_counter() - start
    return [v for lat, _ in results for v in lat], sum(e for _, e in results), wall


def server_bench(settings: Settings, corpus: Path, index: Path, questions: list[str], config, workdir: Path,
                 floor=None, timeout: float = 300.0) -> dict:
    """Start the server on a built index, time its start, load it, read every worker's peak RSS."""
    import httpx

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOSSARIAN_")}
    env.update(GLOSSARIAN_HOME=str(settings.home), GLOSSARIAN_CORPUS=str(corpus), GLOSSARIAN_INDEX=str(index),
               GLOSSARIAN_EMBED_MODEL=settings.embed_model, GLOSSARIAN_THREADS=str(settings.threads),
               GLOSSARIAN_ENCODER=settings.encoder,
               GLOSSARIAN_BATCH_MAX=str(settings.batch_max), GLOSSARIAN_ENCODE_LANES=str(settings.encode_lanes),
               GLOSSARIAN_RATE_LIMIT=str(10**9), PYTHONUNBUFFERED="1")
    log_path = workdir / f"server-{config.workers}.log"
    out: dict = {}
    with open(log_path, "wb") as log:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "glossarian", "serve", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", str(config.workers)],
                                env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(proc, base, config.workers, start, timeout, log_path, out)
            out["ready_s"] = time.perf_counter() - start  # every worker says the model and index are loaded
            lat, errors, _ = load_test(base + "/api/ask", questions[:config.clients], config.clients, config.clients)
            if errors:
                raise RuntimeError(f"{errors} of {config.clients} warm-up requests failed")
            with httpx.Client(timeout=120) as http:
                def one(q):
                    if http.post(base + "/api/ask", json={"question": q}).status_code != 200:
                        raise RuntimeError(f"one client alone: {q!r} failed")
                alone = questions[:min(30, config.requests)]
                lat = floor.measure("server", one, alone) if floor else [ms(_t(one, q)) for q in alone]
            out["server_1_client_p50_ms"] = float(np.median(lat))
            lat, errors, wall = load_test(base + "/api/ask", questions, config.requests, config.clients)
            p50, p95 = percentiles(lat) if lat else (None, None)
            pids = worker_pids(proc.pid)
            rss = [round(peak_rss_mb(p), 1) for p in pids]
            out.update(server_rps=config.requests / wall, server_p50_ms=p50, server_p95_ms=p95, server_errors=errors,
                       peak_rss_mb=max(rss), workers=len(pids), peak_rss_mb_by_worker=rss)
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return out


def _t(fn, arg) -> float:
    start = time.perf_counter()
    fn(arg)
    return time.perf_counter() - start


def _wait_ready(proc, base: str, workers: int, start: float, timeout: float, log_path: Path, out: dict) -> None:
    """Until every worker has logged that it is ready (they share one port, so /healthz reaches any one)."""
    import httpx

    while True:
        if proc.poll() is not None or time.perf_counter() - start > timeout:
            tail = log_path.read_text("utf-8", "replace")[-1500:]
            raise RuntimeError(f"the server {'exited' if proc.poll() is not None else 'did not answer'}"
                               f" (log tail: {tail.strip()})")
        try:
            health = httpx.get(base + "/healthz", timeout=5)
        except httpx.HTTPError:
            health = None
        if health is not None and health.status_code == 200 and health.json().get("loaded"):
            out.setdefault("cold_start_s", time.perf_counter() - start)
            if log_path.read_text("utf-8", "replace").count("Glossarian is ready in") >= workers:
                return
        time.sleep(0.05)
