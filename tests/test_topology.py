"""Replicas behind nginx, for real, on loopback: Redis, a private PostgreSQL (tests/pgserver.py) for the question
log, two `glossarian serve` processes on one shared index, and Debian's nginx running deploy/nginx.conf (its
upstreams pointed at the two replicas).

16 readers ask through nginx for 60 s, and rate some answers, while one replica is killed and restarted: no
question fails (nginx retries an ask on the other replica) and every acknowledged rating is in the database
afterwards. Then the rate limit is counted across both replicas (Redis), an index rebuild is picked up by both,
and both replicas' questions and ratings land in the one PostgreSQL database.

Skipped with a message when redis-server, nginx or PostgreSQL is missing (scripts/test.sh installs them as root).
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from helpers import REPO, cli_env, copy_entries, free_port, settings_for, write_entry
from logdb import fresh_pg_database

pytestmark = pytest.mark.slow

BIN = "/usr/sbin:/usr/bin:/usr/local/bin"
NGINX, REDIS = shutil.which("nginx", path=BIN), shutil.which("redis-server", path=BIN)
RATE_LIMIT = 20
LOAD_S = 60
CLIENTS = 16
QUESTIONS = ["什么是骨干网络？", "What does the neck do in a detector?", "检测头是做什么的", "what is global average pooling",
             "backbone 和 neck 有什么区别", "GAP 是什么意思"]


def _wait(predicate, timeout: float, what: str, procs=()) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: the process exited ({proc.args})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


def _ready(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url + "/healthz", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


class Replica:
    def __init__(self, name: str, env: dict, workdir: Path):
        self.name, self.env, self.port, self.log = name, env, free_port(), workdir / f"{name}.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Replica":
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "glossarian", "serve", "--port", str(self.port)],
                                         env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def nginx_conf(tmp: Path, port: int, replicas: list[Replica]) -> Path:
    """deploy/nginx.conf with its upstreams on our replicas, listening on loopback. One test-only change: every
    reader here connects from 127.0.0.1, so nginx passes on the X-Forwarded-For they send to say who they are."""
    site = (REPO / "deploy" / "nginx.conf").read_text()
    servers = "\n    ".join(f"server 127.0.0.1:{r.port} max_fails=1 fail_timeout=5s;" for r in replicas)
    site = re.sub(r"server glossarian:7860[^;]*;", servers, site)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    site = site.replace("X-Forwarded-For $remote_addr", "X-Forwarded-For $proxy_add_x_forwarded_for")
    (tmp / "site.conf").write_text(site)
    main = tmp / "nginx.conf"
    main.write_text(f"daemon off; worker_processes 1; error_log {tmp}/nginx-error.log; pid {tmp}/nginx.pid;\n"
                    f"events {{}}\nhttp {{ access_log off; proxy_max_temp_file_size 0;\n"
                    f"  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;\n"
                    f"  include {tmp}/site.conf; }}\n")
    return main


@pytest.fixture(scope="module")
def topology(tmp_path_factory, embedder):
    if NGINX is None or REDIS is None:
        pytest.skip("nginx and redis-server are needed (scripts/test.sh installs them as root: "
                    "apt-get install nginx-light redis-server)")
    from glossarian.index import build_index
    from pgserver import postgres_server

    tmp = tmp_path_factory.mktemp("topology")
    corpus, index = copy_entries(tmp / "corpus"), tmp / "index"
    build_index(settings_for(corpus, index), embedder)
    procs: list = []
    with ExitStack() as stack:
        try:
            database_url = fresh_pg_database(stack.enter_context(postgres_server()))
            redis_port = free_port()
            procs.append(subprocess.Popen([REDIS, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                           "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL))
            env = cli_env(corpus=corpus, index=index)
            # nginx connects from loopback: the replicas believe its X-Forwarded-For (README, "Behind a proxy").
            env.update(GLOSSARIAN_REDIS_URL=f"redis://127.0.0.1:{redis_port}/0", GLOSSARIAN_RATE_LIMIT=str(RATE_LIMIT),
                       GLOSSARIAN_DATABASE_URL=database_url, GLOSSARIAN_TRUSTED_PROXIES="127.0.0.1",
                       PYTHONUNBUFFERED="1")
            replicas = [Replica(name, env, tmp).start() for name in ("a", "b")]
            procs += replicas
            port = free_port()
            procs.append(subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(nginx_conf(tmp, port, replicas))],
                                          stderr=subprocess.PIPE))
            for r in replicas:
                _wait(lambda r=r: _ready(r.url), 600, f"replica {r.name} ready", [r.proc])
            yield {"url": f"http://127.0.0.1:{port}", "replicas": replicas, "corpus": corpus, "index": index,
                   "database_url": database_url}
        finally:
            for p in reversed(procs):
                if isinstance(p, Replica):
                    p.stop()
                elif p.poll() is None:
                    p.terminate()
                    p.wait(20)


def _stored(database_url: str) -> tuple[dict, list[dict]]:
    """The question log as PostgreSQL holds it: {answer_id: question row}, feedback rows."""
    from glossarian.questionlog.store import Store

    store = Store(database_url)
    try:
        return {r["answer_id"]: r for r in store.questions_since(None)}, store.feedback_since(None)
    finally:
        store.engine.dispose()


def test_a_replica_killed_and_restarted_under_load_fails_no_question(topology):
    import httpx

    url, (a, b) = topology["url"], topology["replicas"]
    stop = threading.Event()
    results: list[tuple[int, str]] = []  # (status, who)
    lock = threading.Lock()

    rated: list[tuple[str, int]] = []  # (answer_id, rating) acknowledged with 201
    unrated: list[tuple[str, object]] = []  # ratings never acknowledged, with the last status

    def rate(http: httpx.Client, answer_id: str, rating: int, headers: dict) -> None:
        """A rating is not retried by nginx (not idempotent): the reader retries a 502/503, as deploy/README says."""
        status: object = None
        for _ in range(5):
            try:
                status = http.post(url + "/api/feedback", json={"answer_id": answer_id, "rating": rating},
                                   headers=headers).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            if status == 201:
                with lock:
                    rated.append((answer_id, rating))
                return
            time.sleep(1)
        with lock:
            unrated.append((answer_id, status))

    def reader(n: int) -> None:
        with httpx.Client(timeout=120) as http:
            k = 0
            while not stop.is_set():
                k += 1
                # each request is a new reader address, so the shared rate limit does not throttle the load
                headers = {"X-Forwarded-For": f"10.{n}.{k // 250 % 250}.{k % 250}"}
                try:
                    reply = http.post(url + "/api/ask", json={"question": QUESTIONS[(n + k) % len(QUESTIONS)]},
                                      headers=headers)
                    status = reply.status_code
                except httpx.HTTPError as exc:
                    status = f"{type(exc).__name__}"
                with lock:
                    results.append((status, f"reader {n}"))
                if status == 200 and k % 4 == 0:  # every fourth answer is rated
                    rate(http, reply.json()["answer_id"], 1 if k % 8 else -1, headers)

    threads = [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(CLIENTS)]
    start = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(LOAD_S / 4)
    b.kill()  # mid-run, with questions in flight on it
    killed_at = len(results)
    time.sleep(3)
    b.start()  # its port opens at once; it answers 503 while it loads, and nginx asks the other replica
    time.sleep(max(0.0, LOAD_S - (time.monotonic() - start)))
    stop.set()
    for t in threads:
        t.join(180)
    failed = [r for r in results if r[0] != 200]
    print(f"\n[topology] {len(results)} questions in {time.monotonic() - start:.0f} s through nginx, "
          f"{killed_at} before the kill, {len(failed)} failed; load average {os.getloadavg()[0]:.1f}")
    assert len(results) > killed_at > 0  # questions were answered before and after the kill
    assert not failed, failed[:10]
    assert rated and not unrated, unrated[:10]
    _, feedback = _stored(topology["database_url"])
    assert set(rated) <= {(f["answer_id"], f["rating"]) for f in feedback}  # every acknowledged rating was kept
    _wait(lambda: _ready(b.url), 600, "restarted replica ready", [b.proc])
    assert httpx.post(b.url + "/api/ask", json={"question": QUESTIONS[0]}, timeout=120).status_code == 200


def test_the_rate_limit_counts_across_both_replicas(topology):
    import httpx

    (a, b), reader = topology["replicas"], {"X-Forwarded-For": "10.250.0.1"}
    for r in (a, b):
        _wait(lambda r=r: _ready(r.url), 600, f"replica {r.name} ready", [r.proc])
    statuses = [httpx.post((a, b)[n % 2].url + "/api/ask", json={"question": QUESTIONS[0]}, headers=reader,
                           timeout=120).status_code for n in range(RATE_LIMIT)]
    assert statuses == [200] * RATE_LIMIT  # half on each replica
    for via in (a.url, b.url, topology["url"]):  # the next one is refused wherever it goes
        refused = httpx.post(via + "/api/ask", json={"question": QUESTIONS[0]}, headers=reader, timeout=120)
        assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60, refused.text
    other = httpx.post(a.url + "/api/ask", json={"question": QUESTIONS[0]},
                       headers={"X-Forwarded-For": "10.250.0.2"}, timeout=120)
    assert other.status_code == 200  # another reader is not affected


def test_an_index_rebuild_is_picked_up_by_both_replicas(topology, embedder):
    import httpx

    from glossarian.index import build_index

    write_entry(topology["corpus"], "zebra-dropout", term_en="Zebra Dropout", term_zh="斑马丢弃",
                zh="斑马丢弃是一种只在测试里出现的正则化方法，按条纹交替丢弃神经元。",
                en="Zebra dropout is a regularisation method that exists only in this test: it drops neurons in "
                   "alternating stripes.")
    build_index(settings_for(topology["corpus"], topology["index"]), embedder)  # swaps the shared index in
    for r in topology["replicas"]:
        answer = httpx.post(r.url + "/api/ask", json={"question": "What is zebra dropout?"},
                            headers={"X-Forwarded-For": f"10.251.0.{ord(r.name)}"}, timeout=120)
        assert answer.status_code == 200, answer.text
        assert "zebra-dropout" in [s["id"] for s in answer.json()["sources"]], (r.name, answer.json())


def test_both_replicas_log_questions_and_ratings_in_the_one_postgresql(topology):
    import httpx

    (a, b), reader = topology["replicas"], {"X-Forwarded-For": "10.252.0.1"}
    for r in (a, b):
        _wait(lambda r=r: _ready(r.url), 600, f"replica {r.name} ready", [r.proc])
    asked = {}
    for r, question in ((a, "What does the neck do in a detector?"), (b, "检测头是做什么的")):
        reply = httpx.post(r.url + "/api/ask", json={"question": question}, headers=reader, timeout=120)
        assert reply.status_code == 200, reply.text
        asked[reply.json()["answer_id"]] = question
    (on_a, _), (on_b, _) = asked.items()
    # Each answer is rated on the other replica: a rating needs only the shared database, not the answering server.
    for via, answer_id, rating in ((b, on_a, 1), (a, on_b, -1)):
        r = httpx.post(via.url + "/api/feedback", json={"answer_id": answer_id, "rating": rating, "comment": via.name},
                       headers=reader, timeout=60)
        assert r.status_code == 201, r.text
    # Question rows are written in the background (questionlog/writer.py): wait until both are there.
    _wait(lambda: set(asked) <= set(_stored(topology["database_url"])[0]), 60, "both questions in PostgreSQL",
          [a.proc, b.proc])
    rows, feedback = _stored(topology["database_url"])
    assert {i: rows[i]["question"] for i in asked} == asked
    assert {(rows[on_a]["top_entry"], rows[on_b]["top_entry"])} == {("neck", "head")}
    # One reader, two replicas, one salted client key: the salt is shared through the database.
    assert rows[on_a]["client"] and rows[on_a]["client"] == rows[on_b]["client"]
    assert {(f["answer_id"], f["rating"], f["comment"]) for f in feedback} >= {(on_a, 1, "b"), (on_b, -1, "a")}
