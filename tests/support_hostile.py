"""Hostile HTTP targets as real local servers on raw asyncio sockets (aiohttp's server is too
well-behaved to misbehave like this): each serves every connection its own way, forever.

* ``slowloris``: accepts, then sends the status line and headers one byte every ``drip``
  seconds, never ending the header block.
* ``endless-chunked``: ``200`` with ``Transfer-Encoding: chunked``, then 64 KiB chunks for ever.
* ``endless-length``: ``200`` announcing a 1 TiB ``Content-Length``, then bytes for ever.
* ``huge-header``: ``200`` then header lines for ever (as fast as the client reads them), so
  megabytes of header block arrive before any body.
* ``long-header``: ``200`` then one header line that never ends.
* ``redirect-loop``: ``302`` to itself, every time.

Also ``serve_well``: a small well-behaved 200 target (``GET /...`` → ``ok``) on the same kind of
socket, so the normal monitors' figures are not the test server's. Bytes written are counted
per kind (``HostileServer.sent``), to show a client stopped reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

KINDS = (
    "slowloris",
    "endless-chunked",
    "endless-length",
    "huge-header",
    "long-header",
    "redirect-loop",
)

_CHUNK = 64 * 1024


@dataclass
class HostileServer:
    """One listening socket serving ``kind``; ``url`` is where to point a monitor."""

    kind: str
    server: asyncio.Server
    connections: int = 0
    open_connections: int = 0
    sent: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.kind}"

    async def close(self) -> None:
        self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 5)


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    """The request head (the probes send no body), or b"" if the client went away."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return b""


def _path(head: bytes) -> str:
    try:
        return head.split(b" ", 2)[1].decode("latin-1")
    except IndexError:
        return "/"


async def _slowloris(srv: HostileServer, writer: asyncio.StreamWriter, drip: float) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Slow: "
    for byte in itertools.chain(head, itertools.cycle(b"a")):
        writer.write(bytes([byte]))
        srv.sent += 1
        await writer.drain()
        await asyncio.sleep(drip)


async def _endless_body(srv: HostileServer, writer: asyncio.StreamWriter, chunked: bool) -> None:
    if chunked:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = b"%x\r\n%s\r\n" % (_CHUNK, b"x" * _CHUNK)
    else:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % 2**40)
        piece = b"x" * _CHUNK
    while True:
        writer.write(piece)
        srv.sent += len(piece)
        await writer.drain()  # only as fast as the client reads


async def _huge_header(srv: HostileServer, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\n")
    lines = b"".join(b"X-Filler-%06d: %s\r\n" % (i, b"y" * 40) for i in range(1000))
    while True:
        writer.write(lines)
        srv.sent += len(lines)
        await writer.drain()


async def _long_header(srv: HostileServer, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nX-Long: ")
    piece = b"z" * _CHUNK
    while True:
        writer.write(piece)
        srv.sent += len(piece)
        await writer.drain()


async def _redirect_loop(srv: HostileServer, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter, head: bytes) -> None:  # fmt: skip
    while head:
        location = _path(head).encode("latin-1")
        reply = b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % location
        writer.write(reply)
        srv.sent += len(reply)
        await writer.drain()
        head = await _read_request(reader)  # the same connection, if the client keeps it


async def serve_hostile(kind: str, *, drip: float = 0.05) -> HostileServer:
    """Start a hostile target of ``kind`` (one of :data:`KINDS`) on 127.0.0.1."""
    if kind not in KINDS:
        raise ValueError(f"unknown hostile kind {kind!r}")
    srv: HostileServer

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        srv.tasks.add(task)
        srv.connections += 1
        srv.open_connections += 1
        try:
            head = await _read_request(reader)
            if not head:
                return
            if kind == "slowloris":
                await _slowloris(srv, writer, drip)
            elif kind in ("endless-chunked", "endless-length"):
                await _endless_body(srv, writer, chunked=kind == "endless-chunked")
            elif kind == "huge-header":
                await _huge_header(srv, writer)
            elif kind == "long-header":
                await _long_header(srv, writer)
            else:
                await _redirect_loop(srv, reader, writer, head)
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client hung up (as it should), or we are closing
        finally:
            srv.open_connections -= 1
            srv.tasks.discard(task)
            writer.transport.abort()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    srv = HostileServer(kind, server)
    return srv


async def serve_well(body: bytes = b"ok") -> HostileServer:
    """A well-behaved target: every request answered ``200`` with ``body``, keep-alive."""
    srv: HostileServer
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        srv.tasks.add(task)
        srv.connections += 1
        try:
            while await _read_request(reader):
                writer.write(reply)
                srv.sent += len(reply)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            srv.tasks.discard(task)
            writer.transport.abort()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    srv = HostileServer("well", server)
    return srv


async def close_all(servers: list[HostileServer]) -> None:
    await asyncio.gather(*(s.close() for s in servers))


async def _serve_forever(copies: int, drip: float) -> None:
    """Serve ``copies`` servers of each kind plus one well-behaved one; print their URLs as one
    JSON line ({"well": url, kind: [url, ...]}); run until stdin closes."""
    servers = [await serve_well()]
    urls: dict[str, object] = {"well": servers[0].url.rsplit("/", 1)[0]}
    for kind in KINDS:
        mine = [await serve_hostile(kind, drip=drip) for _ in range(copies)]
        servers += mine
        urls[kind] = [s.url for s in mine]
    print(json.dumps(urls), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    await close_all(servers)


@contextlib.contextmanager
def hostile_process(copies: int = 1, drip: float = 0.05) -> Iterator[dict[str, Any]]:
    """The targets of :func:`_serve_forever` in a process of their own (so that serving them
    costs the scheduler under test nothing), stopped on exit."""
    child = subprocess.Popen(
        [sys.executable, __file__, str(copies), str(drip)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise RuntimeError("the hostile targets' process died before listening")
        yield json.loads(line)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    asyncio.run(_serve_forever(int(sys.argv[1]), float(sys.argv[2])))
