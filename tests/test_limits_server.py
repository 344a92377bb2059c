"""A real `reportqa serve` on loopback drops slow-loris connections: stalled or trickled headers are closed after
the header deadline, a stalled body gets 408 and is closed, and /healthz answers meanwhile."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from conftest import start_server, stop_server
from tiny_index import build_tiny_index

pytestmark = pytest.mark.slow

# A guard against a hang, not a timing claim: the server must close these connections on its own.
GUARD_SECONDS = 60
ASK_HEAD = b"POST /v1/ask HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    index = build_tiny_index(tmp_path_factory.mktemp("limits-server") / "index")
    s = start_server(index, env={"REPORTQA_HEADER_TIMEOUT": "1", "REPORTQA_BODY_TIMEOUT": "1", "REPORTQA_KEEP_ALIVE_REQUESTS": "3"})
    yield s
    stop_server(s)


def _connect(url: str, payload: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(GUARD_SECONDS)
    sock.sendall(payload)
    return sock


def _read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if it never does)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_stalled_headers_and_bodies_are_dropped_while_healthz_answers(server):
    mid_header = [_connect(server.url, b"GET /healthz HTTP/1.1\r\nHost: t\r\n") for _ in range(20)]
    silent = [_connect(server.url, b"") for _ in range(5)]
    mid_body = [_connect(server.url, ASK_HEAD + b'Content-Length: 100\r\n\r\n{"question": "') for _ in range(5)]
    mid_chunk = [_connect(server.url, ASK_HEAD + b'Transfer-Encoding: chunked\r\n\r\n4\r\n{"qu\r\n') for _ in range(5)]
    try:
        assert httpx.get(server.url + "/healthz", timeout=GUARD_SECONDS).status_code == 200
        for sock in mid_header + silent:
            assert _read_to_close(sock) == b""  # closed without a response: no request ever arrived
        for sock in mid_body + mid_chunk:
            reply = _read_to_close(sock).decode()
            assert reply.startswith("HTTP/1.1 408") and '"type":"request_timeout"' in reply
    finally:
        for sock in mid_header + silent + mid_body + mid_chunk:
            sock.close()
    assert httpx.post(server.url + "/v1/ask", json={"question": "川沙新镇上半年财政总收入是多少？"},
                      timeout=GUARD_SECONDS).status_code == 200


def test_trickled_headers_are_dropped(server):
    """A byte of header now and then does not keep the connection: the deadline counts from the first byte."""
    sock = _connect(server.url, b"G")
    closed = False
    try:
        for byte in (b"ET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 500):
            time.sleep(0.1)
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # reset by the server
                closed = True
                break
            sock.setblocking(False)
            try:
                closed = sock.recv(1) == b""
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
            if closed:
                break
    finally:
        sock.close()
    assert closed


def test_a_connection_carries_keep_alive_requests_then_closes(server):
    """The third request on one connection (REPORTQA_KEEP_ALIVE_REQUESTS=3) is answered with `Connection: close`
    and the connection is closed; the client's next request goes over a new connection and is answered."""
    request = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
    sock = _connect(server.url, request)
    with sock:
        replies = [_read_response(sock)]
        for _ in range(2):
            sock.sendall(request)
            replies.append(_read_response(sock))
        rest = _read_to_close(sock)  # returns only because the server closes the connection
    assert all(r.startswith(b"HTTP/1.1 200") for r in replies)
    assert [b"connection: close" in r.lower() for r in replies] == [False, False, True]
    assert rest == b""
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def _read_response(sock: socket.socket) -> bytes:
    """One whole HTTP response (headers, then a body of its Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body
