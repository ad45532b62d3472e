"""`timeout` is a deadline from connect to last byte, on both hops (kfp_profiles/deadline.py).

The hostile-server suite: real loopback sockets (kfp_profiles.testing.Hostile),
the real kfp SDK client of a standalone profile, and the real Dex login of a
platform-dex profile (alone, or through a relay in front of the emulator, so
the steps before the hostile one are real). Every case ends with a typed
error within a generous bound: timeout + 5 s.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles import deadline, get_client
from kfp_profiles.errors import (
    ConnectionFailedError,
    DeadlineExceededError,
    KfpProfilesError,
    LoginFlowError,
    ResponseTooLargeError,
    SessionError,
)
from kfp_profiles.testing import Emulator, Hostile

from .helpers import DEX_NAMESPACE, DEX_PASSWORD, DEX_USER, write_profiles

TIMEOUT = 2
BOUND = TIMEOUT + 5  # generous: the promise is "at the deadline", not "in 2.00 s"
FIX = "check the server, or raise `timeout` in the profile."


def standalone(profiles_path: Path, url: str, timeout: float = TIMEOUT) -> None:
    write_profiles(
        profiles_path,
        f"""
        [profiles.api]
        kind = "standalone-in-cluster"
        host = "{url}"
        timeout = {timeout}
        verify_tls = false
        """,
    )


def dex(profiles_path: Path, api_url: str, timeout: float = TIMEOUT) -> None:
    write_profiles(
        profiles_path,
        f"""
        [profiles.dex]
        kind = "platform-dex"
        host = "{api_url}"
        username = "{DEX_USER}"
        namespace = "{DEX_NAMESPACE}"
        timeout = {timeout}
        verify_tls = false
        """,
    )


def timed(call: Any) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(KfpProfilesError) as caught:
        call()
    return caught.value, time.monotonic() - started


# --- the API hop: the real SDK client ------------------------------------------------------

API_STAGES = {
    "drip": "no answer came (not even its whole status line)",
    "slow-headers": "the answer's headers were still coming",
    "stall-tls": "the TLS handshake did not finish",
    "endless-body": "the answer's body was still coming",
}


@pytest.mark.parametrize("behaviour", list(API_STAGES))
def test_an_api_call_ends_at_the_deadline_naming_the_request_and_its_stage(
    behaviour: Any, profiles_path: Path
) -> None:
    with Hostile(behaviour) as url:
        standalone(profiles_path, url)
        client = get_client("api")
        error, elapsed = timed(client.list_experiments)
    assert isinstance(error, DeadlineExceededError)
    assert isinstance(error, ConnectionFailedError) and error.exit_code == 5
    assert elapsed < BOUND
    assert str(error) == (
        f"{url} did not finish GET /apis/v2beta1/experiments for profile 'api' within the "
        f"2 s `timeout`: {API_STAGES[behaviour]}; {FIX}"
    )


def test_an_api_redirect_loop_is_not_followed(profiles_path: Path) -> None:
    with Hostile("redirect-loop") as server:
        standalone(profiles_path, server)
        error, elapsed = timed(get_client("api").list_experiments)
    assert isinstance(error, SessionError)
    assert "redirect (302) to /loop/a" in str(error)
    assert elapsed < 1


def test_a_second_call_gets_a_fresh_deadline(profiles_path: Path) -> None:
    # Slow but within the timeout, three times on one keep-alive connection: each request
    # has its own deadline. The previous request's deadline passes in the middle of the
    # next one (0.6 + 0.1 + 0.3 s): a watch left on the pooled socket would cut it.
    with Emulator(door="none", latency=0.6) as emu:
        emu.add_experiment("slow")
        standalone(profiles_path, emu.url, timeout=1)
        client = get_client("api")
        for _ in range(3):
            listed = client.list_experiments()
            assert [e.display_name for e in listed.experiments] == ["slow"]
            time.sleep(0.1)


# --- the login hop: one deadline for the whole login -----------------------------------------

LOGIN_STAGES = {
    "drip": "no answer came (not even its whole status line)",
    "slow-headers": "the answer's headers were still coming",
    "stall-tls": "the TLS handshake did not finish",
}


@pytest.mark.parametrize("behaviour", list(LOGIN_STAGES))
def test_a_login_ends_at_the_deadline_naming_its_step(
    behaviour: Any, profiles_path: Path, no_keyring: None
) -> None:
    with Hostile(behaviour) as url:
        dex(profiles_path, url + "/pipeline")
        error, elapsed = timed(lambda: get_client("dex", password=DEX_PASSWORD))
    assert isinstance(error, DeadlineExceededError)
    assert elapsed < BOUND
    assert str(error) == (
        f"{url} did not finish the login (at its start step, GET /oauth2/start) for profile "
        f"'dex' within the 2 s `timeout`: {LOGIN_STAGES[behaviour]}; {FIX}"
    )


@pytest.mark.parametrize("behaviour", ["endless-page", "endless-body"])
def test_an_endless_login_page_is_cut_at_the_cap(
    behaviour: Any, profiles_path: Path, no_keyring: None
) -> None:
    with Hostile(behaviour) as url:
        dex(profiles_path, url + "/pipeline")
        error, elapsed = timed(lambda: get_client("dex", password=DEX_PASSWORD))
    assert isinstance(error, ResponseTooLargeError)
    assert elapsed < BOUND
    assert str(error) == (
        f"{url} answered the login (at its start step, GET /oauth2/start) for profile 'dex' "
        "with more than 1 MiB, more than any login page or probe answer holds; check that "
        "`host` is the Kubeflow gateway's pipeline URL, or check the server."
    )


def test_a_login_redirect_loop_ends_well_within_the_deadline(
    profiles_path: Path, no_keyring: None
) -> None:
    with Hostile("redirect-loop") as server:
        dex(profiles_path, server + "/pipeline")
        error, elapsed = timed(lambda: get_client("dex", password=DEX_PASSWORD))
    assert isinstance(error, LoginFlowError)
    assert "keeps redirecting without reaching Dex" in str(error)
    assert elapsed < 1


def test_the_login_request_cap_holds_against_a_real_redirect_loop() -> None:
    # A flow that follows every redirect, as a door that loops would lead a login.
    from kfp_profiles.auth.exchange import DexLoginSettings, HttpRequest, HttpResponse
    from kfp_profiles.auth.http import DEFAULT_MAX_REQUESTS, run_flow
    from kfp_profiles.errors import TooManyRedirectsError

    def follow_every_redirect(url: str) -> Generator[HttpRequest, HttpResponse, None]:
        answer: HttpResponse = yield HttpRequest("GET", url)
        while answer.location:
            answer = yield HttpRequest("GET", answer.location)

    loop = Hostile("redirect-loop")
    with loop as server:
        settings = DexLoginSettings(profile="p", api_url=server, username=DEX_USER, timeout=2)
        flow = follow_every_redirect(server + "/loop/a")
        error, elapsed = timed(lambda: run_flow(flow, settings))
        sent = len(loop.requests)
    assert isinstance(error, TooManyRedirectsError)
    assert elapsed < 1
    assert sent == DEFAULT_MAX_REQUESTS


@pytest.fixture
def relay_to_dex() -> Iterator[tuple[Emulator, Hostile]]:
    """The 1.11 emulator behind a relay that drips Dex's answer to the password."""
    with Emulator.for_release("1.11") as emu:
        relay = Hostile(
            "drip",
            upstream=emu.url,
            when=lambda method, path: method == "POST" and path.startswith("/dex/"),
        )
        with relay:
            yield emu, relay


def test_a_login_whose_password_step_drips_ends_at_the_deadline_naming_that_step(
    relay_to_dex: tuple[Emulator, Hostile], profiles_path: Path, no_keyring: None
) -> None:
    emu, relay = relay_to_dex
    dex(profiles_path, relay.url + "/pipeline")
    error, elapsed = timed(lambda: get_client("dex", password=DEX_PASSWORD))
    assert isinstance(error, DeadlineExceededError)
    assert elapsed < BOUND
    assert str(error) == (
        f"{relay.url} did not finish the login (at its password step, POST "
        f"/dex/auth/local/login) for profile 'dex' within the 2 s `timeout`: no answer came "
        f"(not even its whole status line); {FIX}"
    )
    # The steps before were real: the emulator answered them through the relay.
    assert emu.counts["GET /oauth2/start"] == 1
    assert relay.hostile_requests == 1


def secrets_in_chain(error: BaseException, secret: str) -> list[str]:
    """Where ``secret`` shows in ``error``, its cause, context, args and their attributes."""
    found: list[str] = []
    seen: set[int] = set()
    pending: list[tuple[str, object]] = [("error", error)]
    while pending:
        where, value = pending.pop()
        if id(value) in seen or value is None:
            continue
        seen.add(id(value))
        if isinstance(value, (str, bytes)):
            if secret in (value if isinstance(value, str) else value.decode("latin-1")):
                found.append(where)
            continue
        if isinstance(value, BaseException):
            pending.append((where + ".str", str(value)))
            pending += [(f"{where}.args[{i}]", a) for i, a in enumerate(value.args)]
            pending += [(where + ".__cause__", value.__cause__)]
            pending += [(where + ".__context__", value.__context__)]
        for name, attribute in vars(value).items() if hasattr(value, "__dict__") else ():
            if isinstance(attribute, (str, bytes, BaseException)) or hasattr(attribute, "body"):
                pending.append((f"{where}.{name}", attribute))
            if hasattr(attribute, "body"):
                pending.append((f"{where}.{name}.body", attribute.body))
    return found


def test_a_login_cut_at_its_password_step_keeps_the_password_out_of_the_error_chain(
    relay_to_dex: tuple[Emulator, Hostile], profiles_path: Path, no_keyring: None
) -> None:
    _, relay = relay_to_dex
    dex(profiles_path, relay.url + "/pipeline", timeout=1)
    error, _ = timed(lambda: get_client("dex", password=DEX_PASSWORD))
    assert isinstance(error, DeadlineExceededError)
    assert error.__context__ is None and error.__cause__ is None
    assert secrets_in_chain(error, DEX_PASSWORD) == []


def test_an_endless_dex_form_is_cut_at_the_cap(profiles_path: Path, no_keyring: None) -> None:
    with Emulator.for_release("1.11") as emu:
        relay = Hostile(
            "endless-page",
            upstream=emu.url,
            when=lambda method, path: method == "GET" and path.startswith("/dex/auth/"),
        )
        with relay:
            dex(profiles_path, relay.url + "/pipeline")
            error, elapsed = timed(lambda: get_client("dex", password=DEX_PASSWORD))
    assert isinstance(error, ResponseTooLargeError)
    assert "the login (at its connector step, GET /dex/auth/local)" in str(error)
    assert elapsed < BOUND


def test_one_login_shares_one_deadline_across_its_requests(
    profiles_path: Path, no_keyring: None
) -> None:
    # Each of the login's 4 requests takes 0.8 s, well under the 2 s timeout; together
    # they take 3.2 s, so the login as a whole fails at its deadline.
    with Emulator.for_release("1.11", latency=0.8) as emu:
        dex(profiles_path, emu.api_url)
        error, elapsed = timed(lambda: get_client("dex", password=DEX_PASSWORD))
        sent, origin = emu.total_requests, emu.url
    assert isinstance(error, DeadlineExceededError)
    assert str(error).startswith(f"{origin} did not finish the login (at its ")
    assert "within the 2 s `timeout`" in str(error)
    assert sent >= 3
    assert TIMEOUT - 0.1 < elapsed < BOUND


# --- the clock and the watchdog ------------------------------------------------------------


def socket_pair_reader() -> tuple[socket.socket, socket.socket]:
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    return client, server


def test_the_watchdog_wakes_a_blocked_read_at_the_deadline() -> None:
    client, server = socket_pair_reader()
    try:
        with deadline.within(0.3) as clock, clock.watching(client):
            started = time.monotonic()
            assert client.recv(10) == b""  # woken by the shutdown, not by the peer
            elapsed = time.monotonic() - started
        assert clock.fired and clock.passed
        assert 0.2 < elapsed < 3
    finally:
        client.close()
        server.close()


def test_a_cancelled_watch_never_fires() -> None:
    client, server = socket_pair_reader()
    try:
        with deadline.within(0.2) as clock:
            clock.watch(client).cancel()
            time.sleep(0.4)
        assert not clock.fired
        server.sendall(b"still open")
        assert client.recv(10) == b"still open"
    finally:
        client.close()
        server.close()


def test_a_clock_is_this_threads_and_nested_clocks_restore_the_outer_one() -> None:
    seen: list[deadline.Clock | None] = []
    with deadline.within(5) as outer:
        thread = threading.Thread(target=lambda: seen.append(deadline.current()))
        thread.start()
        thread.join()
        with deadline.within(1) as inner:
            assert deadline.current() is inner
        assert deadline.current() is outer
    assert deadline.current() is None
    assert seen == [None]


def test_the_stage_a_fired_clock_hit_is_the_one_reported() -> None:
    with deadline.within(0.01) as clock:
        clock.enter("headers")
        clock.fired = True
        clock.enter("body")  # what EOF after a shutdown looks like to http.client
    error = deadline.late(clock, host="http://h", profile="p", step="GET /x")
    assert error.fields["stage"] == "the answer's headers were still coming"
    assert error.fields["cause"] == (
        "GET /x did not finish within 0.01 s: the answer's headers were still coming"
    )


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [([], b""), ([3, 4], b"aaaaaaa"), ([1 << 20], b"a" * (1 << 20)), ([1 << 20, 1], None)],
)
def test_read_capped_stops_past_the_cap(sizes: list[int], expected: bytes | None) -> None:
    assert deadline.read_capped(b"a" * n for n in sizes) == expected


def test_read_capped_does_not_read_past_the_cap() -> None:
    pulled = 0

    def endless() -> Iterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield b"x" * 65536

    assert deadline.read_capped(endless()) is None
    assert pulled == 17  # 16 chunks are exactly 1 MiB; the 17th is one too many


# --- through a proxy: its pools keep the deadline too ------------------------------------------


def test_a_dripping_proxy_ends_an_api_call_at_the_deadline(profiles_path: Path) -> None:
    with Emulator(door="none") as emu, Hostile("drip") as proxy:
        write_profiles(
            profiles_path,
            f"""
            [profiles.api]
            kind = "standalone-in-cluster"
            host = "{emu.url}"
            proxy = "{proxy}"
            timeout = {TIMEOUT}
            """,
        )
        error, elapsed = timed(get_client("api").list_experiments)
    assert isinstance(error, DeadlineExceededError)
    assert elapsed < BOUND
    assert "did not finish GET /apis/v2beta1/experiments" in str(error)


def test_a_dripping_proxy_ends_a_login_at_the_deadline(
    profiles_path: Path, no_keyring: None
) -> None:
    with Emulator.for_release("1.11") as emu, Hostile("drip") as proxy:
        write_profiles(
            profiles_path,
            f"""
            [profiles.dex]
            kind = "platform-dex"
            host = "{emu.api_url}"
            username = "{DEX_USER}"
            namespace = "{DEX_NAMESPACE}"
            proxy = "{proxy}"
            timeout = {TIMEOUT}
            """,
        )
        error, elapsed = timed(lambda: get_client("dex", password=DEX_PASSWORD))
    assert isinstance(error, DeadlineExceededError)
    assert elapsed < BOUND
    assert "did not finish the login (at its start step, GET /oauth2/start)" in str(error)


# --- the library's own probes and reads ----------------------------------------------------------


@pytest.mark.parametrize("behaviour", ["drip", "slow-headers"])
def test_the_port_forward_probe_ends_at_its_deadline(behaviour: Any) -> None:
    from kfp_profiles.portforward.probe import answers_http

    with Hostile(behaviour) as url:
        port = int(url.rsplit(":", 1)[1])
        started = time.monotonic()
        assert not answers_http("127.0.0.1", port, 1.0)
        assert time.monotonic() - started < 1 + 5


def test_the_port_forward_probe_reads_an_endless_answer_only_to_its_cap() -> None:
    from kfp_profiles.portforward import port_state

    with Hostile("endless-body") as url:
        started = time.monotonic()
        assert port_state(int(url.rsplit(":", 1)[1]), 1.0) == "other"
        assert time.monotonic() - started < 1 + 5


def test_the_doctors_front_door_probe_ends_at_its_deadline() -> None:
    from kfp_profiles.doctor import fingerprint

    with Hostile("drip") as url:
        error, elapsed = timed(lambda: fingerprint(url, timeout=1))
    assert isinstance(error, DeadlineExceededError)
    assert elapsed < 1 + 5
    assert str(error) == (
        f"{url} did not finish the front-door probe (at GET /apis/v2beta1/healthz) for "
        f"profile 'doctor' within the 1 s `timeout`: no answer came (not even its whole "
        f"status line); {FIX}"
    )


def test_the_doctors_front_door_probe_reads_at_most_the_cap() -> None:
    from kfp_profiles.doctor import fingerprint

    with Hostile("endless-page") as url:
        error, elapsed = timed(lambda: fingerprint(url, timeout=5))
    assert isinstance(error, ResponseTooLargeError)
    assert "more than 1 MiB" in str(error)
    assert elapsed < 5 + 5


def test_an_endless_token_file_is_never_read(tmp_path: Path) -> None:
    from kfp_profiles.auth.token import read_token
    from kfp_profiles.errors import TokenFileTrustError

    # /dev/zero is writable by everyone: refused before a byte is read.
    with pytest.raises(TokenFileTrustError) as caught:
        read_token("pod", "/dev/zero")
    assert "/dev/zero can be written by other users, so it is not used" in str(caught.value)


def test_a_token_file_is_read_at_most_to_the_cap(tmp_path: Path) -> None:
    from kfp_profiles.auth.token import read_token
    from kfp_profiles.errors import TokenFileError

    big = tmp_path / "token"
    big.write_bytes(b"t" * (deadline.READ_CAP + 1))
    path = str(big)
    with pytest.raises(TokenFileError) as caught:
        read_token("pod", path)
    assert f"the ServiceAccount token file {path} is larger than 1 MiB, far more than a " in str(
        caught.value
    )


def test_a_token_of_the_cap_exactly_is_read(tmp_path: Path) -> None:
    from kfp_profiles.auth.token import read_token

    path = tmp_path / "token"
    path.write_bytes(b"t" * deadline.READ_CAP)
    assert len(read_token("pod", str(path))) == deadline.READ_CAP
