"""Start-up as a user and an orchestrator see it: the port opens at once, /healthz says loading /
building-index until the first question can be answered in normal time (503), then ready (200); /livez is
always 200; a question asked during start-up gets a clear 503 with Retry-After, never a silent wait; HEAD
works wherever GET does; and the README's run command itself starts a server that answers."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from glossarian.config import REPO_ROOT, Settings
from glossarian.web.readiness import BUILDING, DEGRADED, LOADING, READY, Readiness
from helpers import copy_entries, free_port

# ------------------------------------------------------------------ the state machine, phase by phase


class GatedAssistant:
    """Stands in for the Assistant so each start-up phase can be held open and observed: the real model
    loads too fast and too unpredictably to catch a phase reliably. The gates are the only fake part."""

    def __init__(self, index: Path, fail: str | None = None):
        self.settings = Settings(index=index)
        self.model_gate, self.index_gate = threading.Event(), threading.Event()
        self.fail = fail

    @property
    def embedder(self):
        self.model_gate.wait(10)
        return object()

    def warm_up(self):
        self.index_gate.wait(10)
        if self.fail:
            raise RuntimeError(self.fail)

    def health(self):
        return {"entries": 4, "loaded": True}


def settle(readiness: Readiness, state: str) -> None:
    deadline = time.monotonic() + 10
    while readiness.state != state:
        assert time.monotonic() < deadline, f"never reached {state}, stuck at {readiness.state}"
        time.sleep(0.01)


def test_phases_without_an_index_are_loading_then_building_then_ready(tmp_path):
    fake = GatedAssistant(tmp_path / "no-index-yet")
    r = Readiness(fake).start()

    status, body = r.report()
    assert (status, body["status"], body["ready"]) == (503, LOADING, False)
    assert "Retry" in r.waiting_message("en")[1] and "加载" in r.waiting_message("zh")[0]
    fake.model_gate.set()
    settle(r, BUILDING)
    assert r.report()[0] == 503 and "索引" in r.waiting_message("zh")[0]
    fake.index_gate.set()
    settle(r, READY)
    status, body = r.report()
    assert status == 200 and body["ready"] is True and body["entries"] == 4 and body["ready_in_s"] >= 0


def test_with_an_index_there_is_no_building_phase(tmp_path):
    index = tmp_path / "index"
    index.mkdir()
    (index / "current").symlink_to("builds/x")
    fake = GatedAssistant(index)
    fake.model_gate.set()
    r = Readiness(fake).start()
    time.sleep(0.2)
    assert r.state == LOADING  # still warming up the index it has; not "building"
    fake.index_gate.set()
    assert r.wait(10) is True


def test_a_failed_start_is_degraded_503_and_says_why(tmp_path):
    fake = GatedAssistant(tmp_path, fail="the corpus has 2 problems")
    fake.model_gate.set(), fake.index_gate.set()
    r = Readiness(fake).start()
    assert r.wait(10) is False
    status, body = r.report()
    assert status == 503 and body["status"] == DEGRADED and "2 problems" in body["error"]
    assert "2 problems" in r.waiting_message("en")[0]


# ------------------------------------------------------------------ a real server, real model, real index


def _serve(env: dict, port: int, cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def _stop(proc: subprocess.Popen) -> str:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    return out


def _until_ready(url: str, proc: subprocess.Popen, deadline_s: float) -> list[tuple[int, str]]:
    """Poll /healthz until it is 200; return every (status code, state) seen on the way."""
    seen: list[tuple[int, str]] = []
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            r = httpx.get(url + "/healthz", timeout=10)
            seen.append((r.status_code, r.json()["status"]))
            if r.status_code == 200:
                return seen
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not ready in {deadline_s} s; seen {seen[-5:]}")


@pytest.mark.slow
def test_a_server_is_503_until_it_can_answer_then_200(tmp_path, embedder):
    corpus = copy_entries(tmp_path / "corpus")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GLOSSARIAN_")},
           "GLOSSARIAN_HOME": os.environ["GLOSSARIAN_HOME"], "GLOSSARIAN_CORPUS": str(corpus),
           "GLOSSARIAN_INDEX": str(tmp_path / "index"), "GLOSSARIAN_PORT": str(port)}
    proc = _serve(env, port, [str(Path(os.sys.executable)), "-m", "glossarian", "serve"])
    try:
        early = None
        deadline = time.monotonic() + 60
        while early is None and time.monotonic() < deadline:  # the port opens before the model is loaded
            try:
                early = httpx.post(url + "/api/ask", json={"question": "什么是 GAP？"}, timeout=30)
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(url + "/livez").status_code == 200
        seen = _until_ready(url, proc, 300)
        assert all(code == 503 and state in (LOADING, BUILDING) for code, state in seen[:-1])
        assert seen[-1] == (200, READY)
        if early.status_code == 503:  # asked during start-up: told so, in the question's language
            assert early.headers["Retry-After"].isdigit() and "启动" in early.json()["error"]
        else:  # the model was already warm enough to answer within the grace period
            assert early.status_code == 200
        r = httpx.post(url + "/api/ask", json={"question": "什么是 GAP？"}, timeout=60)
        assert r.status_code == 200 and r.json()["sources"][0]["id"] == "global-average-pooling"
        for path in ("/healthz", "/livez", "/embed.js", "/", "/widget/"):
            head, get = httpx.head(url + path, timeout=30), httpx.get(url + path, timeout=30)
            assert head.status_code == get.status_code == 200, path
            assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"], path
    finally:
        out = _stop(proc)
    assert "ready in" in out and "Traceback" not in out


@pytest.mark.slow
def test_the_readme_run_command_serves_and_answers(tmp_path, embedder):
    """CI runs the README's quick-start command itself: a broken `scripts/serve.sh` turns CI red."""
    readme = (REPO_ROOT / "README.md").read_text("utf-8")
    assert "    bash scripts/serve.sh\n" in readme  # the command this test runs is the one the README gives
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GLOSSARIAN_")},
           "GLOSSARIAN_HOME": os.environ["GLOSSARIAN_HOME"], "GLOSSARIAN_PORT": str(port)}
    # Reuse the venv the tests run in (a fresh one downloads ~1.7 GB); the script still runs its installs.
    venv = Path(os.sys.executable).parent.parent
    if (venv / "bin" / "pip").exists():
        env["GLOSSARIAN_VENV"] = str(venv)
    # On its embedded defaults the server builds the repo's own index/ the first time (minutes on 2 cores).
    proc = _serve(env, port, ["bash", "scripts/serve.sh"])
    try:
        _until_ready(url, proc, 900)
        r = httpx.post(url + "/api/ask", json={"question": "What is a backbone?"}, timeout=60)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["language"] == "en" and body["sources"][0]["id"] == "backbone" and "[1]" in body["answer"]
    finally:
        out = _stop(proc)
    assert "ready in" in out, out[-2000:]
