"""The hostile servers misbehave as documented, on loopback only, and stop cleanly
(kfp_profiles/testing/hostile.py). Read with plain sockets: no library code in between."""

from __future__ import annotations

import socket
import ssl
import threading
import time

import pytest

from kfp_profiles.testing import Emulator, Hostile
from kfp_profiles.testing.hostile import BEHAVIOURS


def ask(url: str, path: str = "/x", method: str = "GET", timeout: float = 5) -> socket.socket:
    host, port = url.split("//")[1].split(":")
    assert host == "127.0.0.1"
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n".encode())
    return sock


def read_for(sock: socket.socket, seconds: float) -> bytes:
    """Everything ``sock`` sends within ``seconds``."""
    got = b""
    ends = time.monotonic() + seconds
    while (left := ends - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        got += chunk
    return got


def test_drip_sends_one_byte_per_interval() -> None:
    with Hostile("drip", interval=0.2) as url, ask(url) as sock:
        got = read_for(sock, 1.0)
    assert b"HTTP/1.1 200".startswith(got)
    assert 3 <= len(got) <= 7


def test_slow_headers_never_end_the_headers() -> None:
    with Hostile("slow-headers", interval=0.1) as url, ask(url) as sock:
        got = read_for(sock, 1.0)
    assert got.startswith(b"HTTP/1.1 200 OK\r\nX-Slow-1: still coming\r\n")
    assert got.count(b"X-Slow-") >= 4
    assert b"\r\n\r\n" not in got


def test_stall_tls_never_answers_the_hello() -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with Hostile("stall-tls") as url:
        assert url.startswith("https://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        with (
            socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw,
            pytest.raises(TimeoutError),
        ):
            context.wrap_socket(raw)


@pytest.mark.parametrize(
    ("behaviour", "kind"),
    [("endless-body", b"application/json"), ("endless-page", b"text/html; charset=utf-8")],
)
def test_endless_bodies_are_chunked_and_never_end(behaviour: str, kind: bytes) -> None:
    with Hostile(behaviour) as url, ask(url) as sock:  # type: ignore[arg-type]
        got = read_for(sock, 1.0)
    head, _, body = got.partition(b"\r\n\r\n")
    assert b"Content-Type: " + kind in head and b"Transfer-Encoding: chunked" in head
    assert len(body) > 64 * 1024
    assert b"\r\n0\r\n\r\n" not in body


def test_redirect_loop_sends_each_path_to_the_other() -> None:
    with Hostile("redirect-loop") as url:
        with ask(url, "/loop/a") as sock:
            first = read_for(sock, 0.5)
        with ask(url, "/anything") as sock:
            second = read_for(sock, 0.5)
    assert first.startswith(b"HTTP/1.1 302 Found\r\nLocation: /loop/b\r\n")
    assert second.startswith(b"HTTP/1.1 302 Found\r\nLocation: /loop/a\r\n")


def test_a_relay_forwards_what_it_does_not_pick_and_misbehaves_on_the_rest() -> None:
    with Emulator(door="none") as emu:
        relay = Hostile("slow-headers", upstream=emu.url, when=lambda method, path: path == "/slow")
        with relay as url:
            with ask(url, "/apis/v2beta1/healthz") as sock:
                relayed = read_for(sock, 1.0)
            with ask(url, "/slow") as sock:
                slow = read_for(sock, 0.3)
            assert relay.hostile_requests == 1
            assert [r.path for r in relay.requests] == ["/apis/v2beta1/healthz", "/slow"]
    assert relayed.startswith(b"HTTP/1.1 200 OK\r\n") and b'"multi_user"' in relayed
    assert emu.counts["GET /apis/v2beta1/healthz"] == 1
    assert slow == b"HTTP/1.1 200 OK\r\n"


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_stop_ends_every_connection_and_thread_and_frees_the_port(behaviour: str) -> None:
    before = set(threading.enumerate())
    server = Hostile(behaviour)  # type: ignore[arg-type]
    url = server.start()
    port = int(url.rsplit(":", 1)[1])
    held = [ask(url.replace("https", "http")) for _ in range(3)]
    time.sleep(0.2)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 5

    def left() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t not in before and t.is_alive()]

    while left() and time.monotonic() - started < 10:  # a loaded machine schedules late
        time.sleep(0.05)
    assert left() == []
    for sock in held:
        sock.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_server_nobody_stops_ends_its_misbehaviour_after_its_lifetime() -> None:
    with Hostile("slow-headers", interval=0.1, lifetime=0.5) as url, ask(url) as sock:
        started = time.monotonic()
        read_for(sock, 5.0)  # returns when the server closes the connection
        assert time.monotonic() - started < 3


def test_an_unknown_behaviour_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown behaviour 'slow'"):
        Hostile("slow")  # type: ignore[arg-type]
