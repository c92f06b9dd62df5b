"""The web layer over HTTP: real servers (uvicorn in a thread) around one real Assistant, real model, real index.

Each configuration (token, rate limit, origins, root path) gets its own small server; they all share the
session's Assistant so the model loads once. The hot-swap test rebuilds an index with the CLI while
requests are in flight.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("GLOSSARIAN_HOME", str(Path.home() / ".cache" / "glossarian"))

from glossarian.assistant import Assistant  # noqa: E402
from glossarian.config import REPO_ROOT, Settings  # noqa: E402
from glossarian.web import create_app  # noqa: E402
from helpers import free_port, running  # noqa: E402

pytestmark = pytest.mark.slow

CORPUS = REPO_ROOT / "corpus"
ASK = "/api/ask"


def settings_for(index: Path, corpus: Path = CORPUS, **changes) -> Settings:
    # Built explicitly, not from the environment, so a developer's GLOSSARIAN_LLM_* cannot change the answers.
    return Settings(home=Path(os.environ["GLOSSARIAN_HOME"]), corpus=corpus, index=index, rate_limit=0).with_(**changes)


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory) -> Settings:
    return settings_for(tmp_path_factory.mktemp("web-index"))


@pytest.fixture(scope="session")
def assistant(base_settings) -> Assistant:
    a = Assistant(base_settings)
    a.warm_up()  # builds the index from the shipped corpus: there is none yet in the temp folder
    return a


@pytest.fixture(scope="session")
def server(base_settings, assistant):
    with running(create_app(base_settings, assistant)) as url:
        yield url


@pytest.fixture
def serve_with(base_settings, assistant):
    """A fresh server with some settings changed, sharing the session's Assistant."""
    stack = []

    def start(**changes) -> str:
        ctx = running(create_app(base_settings.with_(**changes), assistant))
        stack.append(ctx)
        return ctx.__enter__()

    yield start
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)


def ask(url: str, payload, **kwargs) -> httpx.Response:
    return httpx.post(url + ASK, json=payload, timeout=60, **kwargs)


# ------------------------------------------------------------------------------------------ answers


def test_healthz_describes_the_loaded_index(server, assistant, base_settings, serve_with):
    r = httpx.get(server + "/healthz")
    assert r.status_code == 200
    info = r.json()
    assert info["loaded"] is True
    assert info["entries"] == len(assistant.retriever().index.entries) > 100
    assert info["encoder"] == "onnx"  # the default encoder, verified against torch at start (else "torch")
    assert "index" not in info and str(base_settings.index) not in r.text  # no folders for anonymous callers
    url = serve_with(api_token="s3cret-token")
    assert "index" not in httpx.get(url + "/healthz", headers={"Authorization": "Bearer wrong"}).json()
    admin = httpx.get(url + "/healthz", headers={"Authorization": "Bearer s3cret-token"}).json()
    assert admin["index"] == str(base_settings.index)


def test_chinese_question_gets_a_cited_chinese_answer(server):
    r = ask(server, {"question": "什么是骨干网络？"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"question", "language", "answer", "intent", "missing_term", "sources", "closest",
                         "tool_calls", "tool_errors", "answer_id"}
    assert len(body["answer_id"]) == 32  # what POST /api/feedback takes
    assert body["language"] == "zh" and body["intent"] == "define" and body["missing_term"] is None
    assert body["sources"][0]["section"] == "definition"
    assert body["sources"][0]["id"] == "backbone"
    assert body["sources"][0]["term_zh"] == "骨干网络"
    assert "[1]" in body["answer"] and "骨干网络" in body["answer"]


def test_english_question_gets_a_cited_english_answer(server):
    body = ask(server, {"question": "What is a feature pyramid network?"}).json()
    assert body["language"] == "en"
    assert body["sources"][0]["id"] == "feature-pyramid-network"
    assert "[1]" in body["answer"] and "Feature Pyramid Network" in body["answer"]


def test_follow_up_uses_the_history(server):
    first = ask(server, {"question": "什么是骨干网络？"}).json()
    history = [{"role": "user", "content": first["question"]}, {"role": "assistant", "content": first["answer"]}]
    body = ask(server, {"question": "它通常用什么学习率？", "history": history}).json()
    assert "backbone" in [s["id"] for s in body["sources"]]


def test_computation_question_reports_the_tool_call(server):
    body = ask(server, {"question": "softmax of [1, 2, 3] at temperature 0.5"}).json()
    assert body["tool_calls"], body
    call = body["tool_calls"][0]
    assert call["name"].startswith("softmax")
    assert call["result"]["has_figure"] is True
    assert "0.8668" in body["answer"]


# ------------------------------------------------------------------------------------------ bad input

BAD = [
    ({"question": ""}, 400),
    ({"question": "   \n\t "}, 400),
    ({"question": 42}, 422),
    ({"question": ["what", "is"]}, 422),
    ({"question": None}, 422),
    ({}, 422),
    ({"q": "什么是 GAP？"}, 422),
    ({"question": "什么是 GAP？", "junk": 1}, 422),
    ({"question": "什么是 GAP？", "history": "earlier"}, 422),
    ({"question": "什么是 GAP？", "history": [{"role": "system", "content": "x"}]}, 422),
    ({"question": "什么是 GAP？", "history": [{"role": "user"}]}, 422),
    ({"question": "什么是 GAP？", "history": [{"role": "user", "content": 3}]}, 422),
    ({"question": "什么是 GAP？", "history": [{"role": "user", "content": "x", "extra": 1}]}, 422),
    ({"question": "\x00\x01\x02\x03binary"}, 400),
    (["什么是 GAP？"], 422),
    ("什么是 GAP？", 422),
]


@pytest.mark.parametrize("payload,status", BAD, ids=[json.dumps(p, ensure_ascii=False)[:40] for p, _ in BAD])
def test_bad_input_is_a_clear_4xx(server, payload, status):
    r = ask(server, payload)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "hint"} and body["error"]


@pytest.mark.parametrize("body", [b"not json at all", b"\xff\xfe\x00binary\x00", b'{"question": "unterminated',
                                  b"[" * 200_000 + b"]" * 200_000], ids=["text", "binary", "truncated", "deep"])
def test_unparseable_body_is_400(server, body):
    r = httpx.post(server + ASK, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "JSON" in r.json()["error"]


def test_too_long_question_is_413_and_says_the_limit(server, base_settings):
    r = ask(server, {"question": "什" * 100_000})
    assert r.status_code == 413
    assert str(base_settings.max_question_chars) in r.json()["error"]


def test_huge_body_is_refused_before_parsing(server):
    r = httpx.post(server + ASK, content=b"{" + b" " * (2 << 20) + b"}", headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_wrong_method_and_unknown_endpoint_are_json(server):
    r = httpx.get(server + ASK)
    assert r.status_code == 405 and "POST" in r.json()["hint"]
    r = httpx.post(server + "/api/nothing", json={})
    assert r.status_code == 404 and r.json()["error"]


# ------------------------------------------------------------------------------------------ protection


def test_api_token_is_required_when_set(serve_with):
    url = serve_with(api_token="s3cret-token")
    question = {"question": "什么是骨干网络？"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"},
                    {"Authorization": "Basic s3cret-token"}):
        r = ask(url, question, headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert set(r.json()) == {"error", "hint"} and "s3cret" not in r.text
    r = ask(url, question, headers={"Authorization": "Bearer s3cret-token"})
    assert r.status_code == 200 and r.json()["sources"][0]["id"] == "backbone"


def test_rate_limit_answers_429_with_retry_after(serve_with):
    url = serve_with(rate_limit=3)
    codes = [ask(url, {"question": "什么是 GAP？"}).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = ask(url, {"question": "什么是 GAP？"})
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert "3 per minute" in r.json()["error"]


def test_rate_limit_covers_chat_submissions(serve_with):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    url = serve_with(rate_limit=2)
    client = Client(url + "/", verbose=False)
    client.predict("什么是 GAP？", api_name="/chat")
    client.predict("什么是 GAP？", api_name="/chat")
    with pytest.raises(AppError, match="Too many questions"):
        client.predict("什么是 GAP？", api_name="/chat")


def test_cors_only_for_allowed_origins(serve_with):
    url = serve_with(allowed_origins="http://wiki.example:8080")
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = httpx.options(url + ASK, headers={"Origin": "http://wiki.example:8080", **preflight})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "http://wiki.example:8080"
    evil = httpx.options(url + ASK, headers={"Origin": "http://evil.example", **preflight})
    assert "access-control-allow-origin" not in evil.headers
    r = ask(url, {"question": "什么是 GAP？"}, headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers  # the browser will not hand this to the page


def test_frame_ancestors_default_to_self_and_list_allowed_origins(server, serve_with):
    for path in ("/", "/widget/"):
        assert httpx.get(server + path).headers["content-security-policy"].endswith("; frame-ancestors 'self'")
    url = serve_with(allowed_origins="https://wiki.example, http://10.0.0.5:8080/")
    csp = httpx.get(url + "/widget/").headers["content-security-policy"]
    assert csp.endswith("; frame-ancestors 'self' https://wiki.example http://10.0.0.5:8080")
    # Only the widget is for the wiki: the full chat page stays unframeable from elsewhere.
    assert httpx.get(url + "/").headers["content-security-policy"].endswith("; frame-ancestors 'self'")


def test_bad_origin_setting_is_refused_with_a_hint(base_settings, assistant):
    from glossarian.errors import GlossarianError

    with pytest.raises(GlossarianError, match="not an origin") as info:
        create_app(base_settings.with_(allowed_origins="wiki.example.com"), assistant)
    assert "https://" in info.value.hint


def test_ui_auth_puts_the_chat_behind_a_login(serve_with):
    url = serve_with(ui_auth="editor:pa55word")
    config = httpx.get(url + "/config")
    assert config.status_code == 401
    with httpx.Client(base_url=url) as c:
        assert c.post("/login", data={"username": "editor", "password": "nope"}).status_code == 400
        assert c.post("/login", data={"username": "editor", "password": "pa55word"}).status_code == 200
        assert c.get("/config").status_code == 200
    assert ask(url, {"question": "什么是 GAP？"}).status_code == 200  # the API has its own token setting


# ------------------------------------------------------------------------------------------ pages and scripts


def test_embed_and_gradio_scripts_are_served_as_javascript(server):
    embed = httpx.get(server + "/embed.js")
    assert embed.status_code == 200
    assert embed.headers["content-type"].startswith("text/javascript")
    assert "window.Glossarian" in embed.text
    highlighter = httpx.get(server + "/highlight.js")  # loaded by embed.js when it marks terms
    assert highlighter.headers["content-type"].startswith("text/javascript") and "GlossarianTerms" in highlighter.text
    loader = httpx.get(server + "/gradio.js")
    assert loader.headers["content-type"].startswith("text/javascript")
    assert loader.headers["access-control-allow-origin"] == "*"
    imported = loader.text.split('import("./', 1)[1].split('"', 1)[0]
    asset = httpx.get(f"{server}/{imported}")  # the web component's code comes from us, not a CDN
    assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]


def test_widget_page_is_served_at_widget(server):
    r = httpx.get(server + "/widget", follow_redirects=True)
    assert r.status_code == 200 and str(r.url).endswith("/widget/")
    assert "<gradio-app" in r.text or "gradio" in r.text.lower()


def test_root_path_is_used_for_public_urls(serve_with):
    url = serve_with(root_path="/glossary", trusted_proxies="127.0.0.1")  # the proxy's X-Forwarded-* count
    for prefix in ("", "/glossary"):  # a proxy that strips the prefix, and one that passes it on
        assert httpx.get(f"{url}{prefix}/config").json()["root"] == f"{url}/glossary"
        assert httpx.get(f"{url}{prefix}/widget/config").json()["root"] == f"{url}/glossary/widget"
        assert ask(url + prefix, {"question": "什么是 GAP？"}).status_code == 200
    behind_proxy = {"X-Forwarded-Host": "wiki.example", "X-Forwarded-Proto": "https"}
    root = httpx.get(url + "/widget/config", headers=behind_proxy).json()["root"]
    assert root == "https://wiki.example/glossary/widget"


def test_gradio_client_can_chat(server):
    from gradio_client import Client

    client = Client(server + "/", verbose=False)
    text = client.predict("什么是骨干网络？", api_name="/chat")
    assert "骨干网络" in text and "[1]" in text and "backbone" in text
    follow = client.predict("它通常用什么学习率？", [{"role": "user", "content": "什么是骨干网络？"}], api_name="/chat")
    assert "backbone" in follow


def test_gradio_client_gets_clear_errors_not_tracebacks(server):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(server + "/", verbose=False)
    with pytest.raises(AppError, match="The question is empty") as info:
        client.predict("   ", api_name="/chat")
    assert "Traceback" not in str(info.value)
    with pytest.raises(AppError, match="the limit is 2000"):
        client.predict("x" * 5000, api_name="/chat")


def test_many_readers_at_once(server):
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    questions = ["什么是骨干网络？", "What is a feature pyramid network?", "什么是 GAP？", "What is dropout?"] * 2

    def chat(q: str) -> str:
        return Client(server + "/", verbose=False).predict(q, api_name="/chat")

    def api(q: str) -> int:
        return ask(server, {"question": q}).status_code

    with ThreadPoolExecutor(8) as pool:
        chats = list(pool.map(chat, questions))
        codes = list(pool.map(api, questions))
    assert all("[1]" in text for text in chats)
    assert codes == [200] * len(questions)


# ------------------------------------------------------------------------------------------ processes


def test_cli_serve_starts_and_answers(base_settings, assistant):
    port = free_port()
    env = {**os.environ, "GLOSSARIAN_INDEX": str(base_settings.index), "GLOSSARIAN_LLM_BASE_URL": ""}
    proc = subprocess.Popen([sys.executable, "-m", "glossarian", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").json().get("loaded"):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not warm up in time"
            time.sleep(0.5)
        body = ask(f"http://127.0.0.1:{port}", {"question": "什么是骨干网络？"}).json()
        assert body["sources"][0]["id"] == "backbone"
    finally:
        proc.terminate()
        proc.wait(20)


def test_importing_app_py_does_not_serve(base_settings):
    env = {**os.environ, "GLOSSARIAN_INDEX": str(base_settings.index)}
    code = "import app, fastapi; assert isinstance(app.app, fastapi.FastAPI); print('built')"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("built")


def test_index_rebuild_is_picked_up_while_serving(tmp_path, base_settings):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = settings_for(tmp_path / "index", corpus)
    swapping = Assistant(settings)
    swapping.warm_up()
    question = {"question": "什么是骨干网络？"}
    marker = "热替换标记HOTSWAP"
    with running(create_app(settings, swapping)) as url:
        assert marker not in ask(url, question).json()["answer"]
        entry = corpus / "backbone.md"
        entry.write_text(entry.read_text(encoding="utf-8").replace(
            "是整个模型中负责提取特征的主体部分。", f"是整个模型中负责提取特征的主体部分（{marker}）。"), encoding="utf-8")

        codes, stop = [], threading.Event()

        def hammer():
            with httpx.Client(timeout=60) as c:
                while not stop.is_set():
                    codes.append(c.post(url + ASK, json=question).status_code)
                    codes.append(c.get(url + "/healthz").status_code)

        workers = [threading.Thread(target=hammer) for _ in range(2)]
        for w in workers:
            w.start()
        env = {**os.environ, "GLOSSARIAN_HOME": str(settings.home)}
        build = subprocess.run([sys.executable, "-m", "glossarian", "index", "build", "--corpus", str(corpus),
                                "--index", str(settings.index)], env=env, capture_output=True, text=True, timeout=300)
        time.sleep(1)  # a few more requests against the new index
        stop.set()
        for w in workers:
            w.join(60)
        assert build.returncode == 0, build.stderr
        assert len(codes) > 10 and set(codes) == {200}, codes
        body = ask(url, question).json()
        assert marker in body["answer"], body["answer"]
        assert httpx.get(url + "/healthz").json()["stale"] is False


# ------------------------------------------------------------------------------------------ one write per answer


def _recording(protocol):
    """`protocol`, with every write that reaches the socket recorded (the raw transport, under any wrapper)."""
    writes: list[bytes] = []

    class Recorder:
        def __init__(self, transport):
            self._transport = transport

        def write(self, data):
            writes.append(bytes(data))
            self._transport.write(data)

        def __getattr__(self, name):
            return getattr(self._transport, name)

    class Recording(protocol):
        def connection_made(self, transport):
            super().connection_made(Recorder(transport))

    return Recording, writes


def test_an_answer_leaves_in_one_write_so_a_killed_replica_cannot_tear_it(base_settings, assistant):
    """A replica killed between an answer's head and its body makes nginx drop the reader (it cannot retry a response
    it has begun); the server `glossarian serve` runs writes the head with the body, so an answer is all or nothing."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    from glossarian.web.one_write import OneWriteH11Protocol

    def socket_writes(protocol) -> list[bytes]:
        recording, writes = _recording(protocol)
        with running(create_app(base_settings, assistant), http=recording) as url:
            writes.clear()  # readiness polling
            with httpx.Client(timeout=60) as http:
                reply = http.post(url + ASK, json={"question": "What is a backbone?"})
                assert reply.status_code == 200 and reply.json()["sources"][0]["id"] == "backbone"
                assert http.get(url + "/healthz").status_code == 200
        return [w for w in writes if w]

    plain = socket_writes(H11Protocol)
    assert len(plain) >= 4  # uvicorn's own protocol: head and body apart, for each of the two responses
    ours = socket_writes(OneWriteH11Protocol)
    assert len(ours) == 2, [w[:40] for w in ours]
    answer = ours[0]
    assert answer.startswith(b"HTTP/1.1 200") and b'"backbone"' in answer and answer.endswith(b"}")
