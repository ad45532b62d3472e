"""The emulator as a whole: releases, counters, latency, TLS, shutdown, the fixture.

kfp_profiles/testing/emulator.py (the releases and the counters),
server.py (latency, TLS, a prompt stop), tls.py, blackhole.py, the
package's lazy imports and the ``kfp_emulator`` fixture of plugin.py.

Everything runs over real HTTP on loopback, driven with ``requests`` and
with ``http.client`` (tests/browser.py); nothing here is mocked.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from kfp_profiles.testing import Blackhole, Emulator

from .browser import (
    API,
    NAMESPACE,
    TIMEOUT,
    browser_login,
    dex_minor,
    port_of,
    raw,
)

# --- releases ------------------------------------------------------------------------------


@pytest.mark.parametrize("release", Emulator.RELEASES)
def test_every_release_logs_a_browser_in(release: str) -> None:
    with Emulator.for_release(release) as emu, requests.Session() as session:
        emu.add_experiment("mine", namespace=NAMESPACE)
        anonymous = raw(emu, "GET", f"/pipeline{API}/healthz")
        wrong = browser_login(emu, requests.Session(), password="wrong")
        landed = browser_login(emu, session)
        listed = session.get(
            f"{emu.api_url}{API}/experiments", params={"namespace": NAMESPACE}, timeout=TIMEOUT
        )
        assert emu.api_url == emu.url + "/pipeline"
    assert emu.release == release
    expected_anonymous = 401 if emu.door == "oauth2-proxy" else 302
    assert anonymous.status == expected_anonymous
    assert wrong.status_code == (200 if dex_minor(emu.dex_version) < 36 else 401)
    assert landed.status_code == 200 and urlsplit(landed.url).path == "/pipeline/"
    assert [e["display_name"] for e in listed.json()["experiments"]] == ["mine"]


def test_release_presets_accept_overrides() -> None:
    emu = Emulator.for_release("1.9.0", dex="v2.41", latency=0.01)
    assert (emu.door, emu.dex_version, emu.latency, emu.release) == (
        "oauth2-proxy-first",
        "v2.41",
        0.01,
        "1.9.0",
    )
    with pytest.raises(ValueError, match=r"1\.4"):
        Emulator.for_release("1.4")


# --- counters, latency, TLS, shutdown ------------------------------------------------------


def test_counts_and_recorded_requests() -> None:
    with Emulator() as emu:
        requests.get(f"{emu.url}{API}/healthz?a=1", timeout=TIMEOUT)
        requests.get(f"{emu.url}{API}/healthz?a=2", timeout=TIMEOUT)
        requests.post(
            f"{emu.url}{API}/experiments",
            json={"display_name": "x"},
            headers={"Authorization": "Bearer secret-token", "Cookie": "c=secret-cookie"},
            timeout=TIMEOUT,
        )
        snapshot = emu.counts
        snapshot["GET /elsewhere"] += 5
        counts, total = emu.counts, emu.total_requests
        last = emu.requests[-1]
        emu.reset_counts()
        after_reset = (emu.total_requests, emu.counts, emu.requests)
    assert counts == {f"GET {API}/healthz": 2, f"POST {API}/experiments": 1}
    assert total == 3
    assert (last.method, last.path, last.query) == ("POST", f"{API}/experiments", {})
    assert last.headers["authorization"] == last.headers["Authorization"] == "Bearer secret-token"
    assert last.cookies == {"c": "secret-cookie"}
    assert "secret" not in repr(last)
    assert after_reset == (0, {}, [])


def test_latency_is_really_slept_and_can_change_while_running() -> None:
    with Emulator(latency=1.0) as emu:
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(f"{emu.url}{API}/healthz", timeout=(TIMEOUT, 0.2))
        emu.latency = 0.0
        quick = requests.get(f"{emu.url}{API}/healthz", timeout=(TIMEOUT, 0.9))
    assert quick.status_code == 200


def test_tls_serves_a_loopback_certificate_signed_by_the_generated_ca() -> None:
    with Emulator(tls=True) as emu:
        assert emu.url.startswith("https://127.0.0.1:") and emu.ca_path is not None
        ca_path = emu.ca_path
        trusted = requests.get(f"{emu.url}{API}/healthz", verify=str(ca_path), timeout=TIMEOUT)
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{emu.url}{API}/healthz", timeout=TIMEOUT)
        port = port_of(emu.url)
        connection = http.client.HTTPSConnection(
            "localhost",
            port,
            timeout=TIMEOUT,
            context=ssl.create_default_context(cafile=str(ca_path)),
        )
        connection.request("GET", f"{API}/healthz")
        by_name = connection.getresponse().status
        connection.close()
    assert trusted.status_code == 200 and by_name == 200
    assert not ca_path.exists()  # removed with the emulator


def emulator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("kfp-emulator")]


def test_stop_is_prompt_with_keep_alive_and_slow_requests_in_flight() -> None:
    emu = Emulator(latency=60.0).start()
    port = port_of(emu.url)
    idle = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)  # says nothing
    outcome: list[BaseException | int] = []

    def slow_request() -> None:
        try:
            outcome.append(requests.get(f"{emu.url}{API}/healthz", timeout=TIMEOUT).status_code)
        except requests.RequestException as error:
            outcome.append(error)

    worker = threading.Thread(target=slow_request)
    worker.start()
    while not emu.total_requests:
        time.sleep(0.01)
    began = time.monotonic()
    emu.stop()
    stopped_in = time.monotonic() - began
    worker.join(TIMEOUT)
    idle.close()
    assert stopped_in < 5.0  # generous: a hang would take the 60 s latency
    assert not worker.is_alive() and len(outcome) == 1  # the slow request ended too
    assert emulator_threads() == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()


def test_many_emulators_run_at_once_on_their_own_ports() -> None:
    doors = ["none", "oauth2-proxy", "oauth2-proxy-first", "oidc-authservice"]
    emulators = [Emulator(door=door).start() for door in doors]
    try:
        ports = {port_of(emu.url) for emu in emulators}
        statuses = [raw(emu, "GET", f"/pipeline{API}/healthz").status for emu in emulators]
    finally:
        for emu in emulators:
            emu.stop()
    assert len(ports) == len(doors)
    assert statuses == [200, 401, 302, 302]
    assert emulator_threads() == []


def test_blackhole_accepts_and_never_answers() -> None:
    hole = Blackhole()
    with hole as url:
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(url, timeout=(TIMEOUT, 0.3))
        assert hole.accepted == 1
    port = port_of(url)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()


def test_importing_the_testing_package_loads_no_heavy_module() -> None:
    code = (
        "import sys, kfp_profiles.testing as t; t.Emulator; t.Blackhole; "
        "print(','.join(m for m in ('kfp', 'requests', 'keyring') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert loaded == ""


# --- the pytest fixture --------------------------------------------------------------------


def test_kfp_emulator_fixture_starts_and_stops_emulators(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import urllib.request, urllib.error

        URLS = []

        def test_uses_it(kfp_emulator):
            plain = kfp_emulator()
            door = kfp_emulator(release="1.11")
            URLS.extend([plain.url, door.url])
            with urllib.request.urlopen(plain.api_url + "/apis/v2beta1/healthz", timeout=10) as r:
                assert r.status == 200
            try:
                urllib.request.urlopen(door.api_url + "/apis/v2beta1/healthz", timeout=10)
            except urllib.error.HTTPError as error:
                assert error.code == 401
            else:
                raise AssertionError("the door let a request with no session through")

        def test_they_are_stopped():
            for url in URLS:
                try:
                    urllib.request.urlopen(url, timeout=10)
                except urllib.error.URLError as error:
                    assert isinstance(error.reason, ConnectionRefusedError)
                else:
                    raise AssertionError(url + " still answers")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
