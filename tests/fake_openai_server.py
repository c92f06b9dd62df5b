"""A real HTTP server speaking just enough of POST /v1/chat/completions for tests: scripted replies, recorded requests.

Each request takes the next scripted reply from a queue; the reply helpers below build them. Streaming
requests get SSE `data: {chunk}` lines and `data: [DONE]`; non-streaming ones get one chat.completion.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


# ---------------------------------------------------------------- scripted replies


def text(*pieces: str, delay: float = 0.0) -> dict:
    """A plain answer streamed as one chunk per piece."""
    return {"deltas": [{"content": p} for p in pieces], "finish": "stop", "delay": delay}


def tool_call(name: str, arguments: str, pieces: int = 3, call_id: str = "call_1") -> dict:
    """One tool call whose JSON arguments arrive split over `pieces` chunks, as OpenAI streams them."""
    size = max(1, -(-len(arguments) // pieces))
    deltas = [{"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                               "function": {"name": name, "arguments": ""}}]}]
    deltas += [{"tool_calls": [{"index": 0, "function": {"arguments": arguments[i:i + size]}}]}
               for i in range(0, len(arguments), size)]
    return {"deltas": deltas, "finish": "tool_calls"}


def then_raw(reply: dict, tail: bytes) -> dict:
    """A streamed reply that breaks off into `tail` (e.g. invalid JSON) instead of ending properly."""
    return {**reply, "tail": tail}


def raw(body: bytes, status: int = 200, content_type: str = "text/event-stream") -> dict:
    """Exactly these bytes, whatever the request asked for."""
    return {"raw": body, "status": status, "content_type": content_type}


def http_error(status: int, message: str) -> dict:
    body = json.dumps({"error": {"message": message, "type": "server_error", "code": None}}).encode()
    return raw(body, status, "application/json")


def slow(seconds: float, reply: dict) -> dict:
    """`reply`, but only after `seconds` of silence before the response headers."""
    return {**reply, "sleep": seconds}


def pinging(seconds: float, reply: dict, every: float = 0.2) -> dict:
    """`reply`, after `seconds` of SSE keep-alive comments and nothing else, as llama-cpp-python's server sends
    while it reads a long prompt (": ping" every 15 s there)."""
    return {**reply, "pings": int(seconds / every), "ping_every": every}


# ---------------------------------------------------------------- the server


class FakeOpenAI:
    def __init__(self, model: str = "fake-model"):
        self.model = model
        self.replies: deque[dict] = deque()
        self.requests: list[dict] = []
        self.stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fake-openai", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def start(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # wakes handlers that are sleeping on a slow reply
        self.httpd.shutdown()
        self.httpd.server_close()

    def script(self, *replies: dict) -> None:
        self.replies.extend(replies)

    def reset(self) -> None:
        self.replies.clear()
        self.requests.clear()

    # -- bodies ------------------------------------------------------------------------------
    def chunk(self, delta: dict, finish: str | None = None) -> bytes:
        data = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": self.model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"

    def completion(self, reply: dict) -> bytes:
        content = "".join(d.get("content", "") for d in reply["deltas"]) or None
        calls: dict[int, dict] = {}
        for d in reply["deltas"]:
            for part in d.get("tool_calls", []):
                call = calls.setdefault(part["index"], {"id": "", "type": "function",
                                                        "function": {"name": "", "arguments": ""}})
                call["id"] = part.get("id") or call["id"]
                call["function"]["name"] += part.get("function", {}).get("name", "")
                call["function"]["arguments"] += part.get("function", {}).get("arguments", "")
        message = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = [calls[k] for k in sorted(calls)]
        data = {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": self.model,
                "choices": [{"index": 0, "message": message, "finish_reason": reply["finish"]}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        return json.dumps(data, ensure_ascii=False).encode()


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self._send(404, b'{"error": {"message": "not found"}}', "application/json")
            try:
                request = json.loads(body)
            except ValueError:
                request = {"unparsed": body.decode("utf-8", "replace")}
            request["_headers"] = {k.lower(): v for k, v in self.headers.items()}
            fake.requests.append(request)
            if not fake.replies:
                return self._send(500, b'{"error": {"message": "the test scripted no reply for this request"}}',
                                  "application/json")
            reply = fake.replies.popleft()
            if fake.stopping.wait(reply.get("sleep", 0)):
                return
            try:
                if "raw" in reply:
                    self._send(reply["status"], reply["raw"], reply["content_type"])
                elif request.get("stream"):
                    self._stream(reply)
                else:
                    self._send(200, fake.completion(reply), "application/json")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. its timeout); nothing left to do

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, reply: dict) -> None:
            # HTTP/1.0 (the handler's default): the body ends when the connection closes, as SSE servers do.
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            try:
                for _ in range(reply.get("pings", 0)):
                    if fake.stopping.wait(reply["ping_every"]):
                        return
                    self.wfile.write(b": ping\n\n")
                    self.wfile.flush()
            except OSError:  # the client gave up
                return
            self.wfile.write(fake.chunk({"role": "assistant", "content": ""}))
            for delta in reply["deltas"]:
                if fake.stopping.wait(reply.get("delay", 0)):
                    return
                self.wfile.write(fake.chunk(delta))
                self.wfile.flush()
            if "tail" in reply:
                self.wfile.write(reply["tail"])
                return
            self.wfile.write(fake.chunk({}, reply["finish"]))
            self.wfile.write(b"data: [DONE]\n\n")

    return Handler


# Fixtures for test modules that talk to the fake server: import both names into the module
# (`from fake_openai_server import fake, server`). One server per module; each test starts from a reset script
# and must consume every reply it scripted.
import pytest  # noqa: E402


@pytest.fixture(scope="module")
def server():
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server):
    server.reset()
    yield server
    assert not server.replies, "every scripted reply should have been requested"
