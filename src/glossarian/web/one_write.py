"""uvicorn's HTTP/1.1 protocol (h11), except that a response's head leaves in one write with its body.

Why: behind nginx, a replica killed (SIGKILL, the OOM killer, a lost node) after writing an answer's status line
and headers but before its body leaves nginx holding a head it has already accepted. nginx can then no longer ask
the other replica, and drops the reader's connection ("server disconnected without sending a response"). Sent in
one write, a short answer is either wholly in the kernel's socket buffer or not sent at all, and "not at all" is an
upstream error that nginx retries (deploy/nginx.conf). CI's topology test, which kills a replica under load, hit
exactly that tear once in 6,566 questions.

The head waits for its body at most HOLD_S, so a streamed response (the chat's server-sent events) whose first
event comes later still starts at once. A body larger than the socket buffer can still be torn; readers retry a
dropped connection like a 502 (deploy/README.md).
"""
from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

HOLD_S = 0.005  # longest a response head waits for its body (uvicorn writes the two back to back)


class _HeadWithBody:
    """A transport that holds a response head (b"HTTP/1.x ...") until the next write, then sends both as one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport, self._loop = transport, loop
        self._head, self._timer = b"", None

    def write(self, data: bytes) -> None:
        if not self._head and data.startswith(b"HTTP/1."):
            self._head, self._timer = data, self._loop.call_later(HOLD_S, self.flush)
            return
        if self._head:
            data = self._head + data
            self._drop_head()
        self._transport.write(data)

    def flush(self) -> None:
        if self._head:
            head = self._head
            self._drop_head()
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._drop_head()
        self._transport.abort()

    def _drop_head(self) -> None:
        self._head = b""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


class OneWriteH11Protocol(H11Protocol):
    """H11Protocol whose responses leave as one write: head together with the body."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # FlowControl and the connection bookkeeping keep the real transport; request cycles write through this.
        self.transport = _HeadWithBody(transport, self.loop)  # type: ignore[assignment]
