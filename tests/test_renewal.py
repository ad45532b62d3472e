"""A platform-dex client renews its session by itself, once, and never answers empty.

Through the real kfp SDK over real HTTP to the emulator; the password comes
from the real Secret Service keyring.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles import get_client
from kfp_profiles.errors import InvalidCredentialsError, SessionError
from kfp_profiles.testing import Emulator

from .helpers import write_profiles

NAMESPACE = "kubeflow-user-example-com"
PASSWORD = "12341234"
pytestmark = pytest.mark.keyring


def dex_profile(emu: Emulator, profiles_path: Path) -> None:
    write_profiles(
        profiles_path,
        f"""
        [profiles.prod]
        kind = "platform-dex"
        host = "{emu.api_url}"
        username = "user@example.com"
        namespace = "{NAMESPACE}"
        timeout = 10
        """,
    )


@pytest.fixture
def stored_password(keyring_backend: Any) -> None:
    import keyring

    keyring.set_password("kfp-profiles", "prod", PASSWORD)


def logins(emu: Emulator) -> int:
    """Completed logins: each one ends at the door's callback."""
    counts = emu.counts
    return counts["GET /oauth2/callback"] + counts["GET /authservice/oidc/callback"]


# oauth2-proxy second config answers 401 {}, the others redirect to Dex.
DOORS = ["1.11", "1.9.0", "1.8"]


@pytest.mark.parametrize("release", DOORS)
def test_expired_session_is_renewed_once_for_get_and_post(
    release: str, stored_password: None, profiles_path: Path
) -> None:
    with Emulator.for_release(release) as emu:
        emu.add_experiment("before", namespace=NAMESPACE)
        dex_profile(emu, profiles_path)
        client = get_client("prod")
        assert logins(emu) == 1
        emu.expire_sessions()
        listed = client.list_experiments()
        assert [e.display_name for e in listed.experiments] == ["before"]
        assert logins(emu) == 2
        emu.expire_sessions()
        created = client.create_experiment("after-renewal", description="body intact")
        assert logins(emu) == 3
        assert created.display_name == "after-renewal"
        fetched = client.get_experiment(experiment_id=created.experiment_id)
        assert fetched.description == "body intact"
        assert fetched.namespace == NAMESPACE


def test_threads_on_an_expired_session_share_one_login(
    stored_password: None, profiles_path: Path
) -> None:
    with Emulator.for_release("1.11", latency=0.02) as emu:
        emu.add_experiment("shared", namespace=NAMESPACE)
        dex_profile(emu, profiles_path)
        client = get_client("prod")
        emu.expire_sessions()
        before = logins(emu)
        barrier = threading.Barrier(8)
        results: list[Any] = []
        failures: list[BaseException] = []

        def call() -> None:
            barrier.wait()
            try:
                results.append(client.list_experiments())
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        assert all(r.experiments[0].display_name == "shared" for r in results)
        assert len(results) == 8
        assert logins(emu) - before == 1


def test_wait_for_run_completion_survives_a_renewal(
    stored_password: None, profiles_path: Path
) -> None:
    with Emulator.for_release("1.11") as emu:
        dex_profile(emu, profiles_path)
        client = get_client("prod")
        experiment = client.create_experiment("runs")
        run = client.run_pipeline(
            experiment_id=experiment.experiment_id,
            job_name="renewal-run",
            pipeline_id="pipeline-1",
            version_id="version-1",
        )
        emu.expire_sessions()
        finished = client.wait_for_run_completion(run.run_id, timeout=30, sleep_duration=0)
        assert finished.state == "SUCCEEDED"


def test_a_second_refusal_is_a_typed_error(
    stored_password: None, profiles_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kfp_profiles.testing.doors import OAuth2Proxy

    with Emulator.for_release("1.11") as emu:
        dex_profile(emu, profiles_path)
        client = get_client("prod")
        # From now on the door knows no session at all: logins still complete,
        # but the API keeps answering 401, as a misconfigured gateway would.
        monkeypatch.setattr(OAuth2Proxy, "_session_value", lambda self, cookies: None)
        with pytest.raises(SessionError) as caught:
            client.list_experiments()
        assert "right after a new login" in str(caught.value)
        assert "profile 'prod'" in str(caught.value)
        assert logins(emu) == 2, "one renewal, not a loop"


def test_new_process_reuses_the_cached_session_with_one_request(
    stored_password: None, profiles_path: Path
) -> None:
    with Emulator.for_release("1.11") as emu:
        emu.add_experiment("cached", namespace=NAMESPACE)
        dex_profile(emu, profiles_path)
        get_client("prod")  # logs in and caches the session in the keyring
        emu.reset_counts()
        script = (
            "from kfp_profiles import get_client\n"
            "r = get_client('prod').list_experiments()\n"
            "print(r.experiments[0].display_name)\n"
        )
        env = dict(os.environ)
        env.pop("KFP_PASSWORD", None)
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "cached"
        assert emu.total_requests == 1
        assert logins(emu) == 0


def test_wrong_password_is_typed_and_never_leaks(
    keyring_backend: Any,
    profiles_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "Wr0ng-Secret-Passw0rd"
    import keyring

    keyring.set_password("kfp-profiles", "prod", wrong)
    caplog.set_level(logging.DEBUG)
    with Emulator.for_release("1.11") as emu:
        dex_profile(emu, profiles_path)
        with pytest.raises(InvalidCredentialsError) as caught:
            get_client("prod")
    message = str(caught.value)
    assert "user@example.com" in message and "'local'" in message and "'prod'" in message
    captured = capsys.readouterr()
    everything = [message, repr(caught.value), caplog.text, captured.out, captured.err]
    everything += [repr(record.args) for record in caplog.records]
    assert not any(wrong in text for text in everything)
    assert caplog.records, "DEBUG logging was on and the login logged its steps"


class _HtmlWhereJsonBelongs(BaseHTTPRequestHandler):
    """A proxy that answers the API with a 200 sign-in page."""

    def do_GET(self) -> None:
        body = b"<html><body><form action='/login'>Sign in</form></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def html_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlWhereJsonBelongs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_html_where_json_belongs_is_an_error_not_an_empty_list(
    html_server: str, profiles_path: Path
) -> None:
    write_profiles(
        profiles_path,
        f"""
        [profiles.lab]
        kind = "standalone-in-cluster"
        host = "{html_server}"
        """,
    )
    with pytest.raises(SessionError) as caught:
        get_client("lab").list_experiments()
    assert "HTML page" in str(caught.value)


# Every release row of front-door.md (with the Dex it shipped), through the real SDK.
@pytest.mark.parametrize("release", Emulator.RELEASES)
def test_every_release_through_the_sdk(
    release: str, stored_password: None, profiles_path: Path
) -> None:
    with Emulator.for_release(release) as emu:
        emu.add_experiment(f"on-{release}", namespace=NAMESPACE)
        dex_profile(emu, profiles_path)
        assert [e.display_name for e in get_client("prod").list_experiments().experiments] == [
            f"on-{release}"
        ]
        assert logins(emu) == 1


@pytest.mark.parametrize(
    ("connector", "options"),
    [
        ("ldap", {"connectors": ("local", "ldap")}),
        ("local", {"connectors": ("local", "ldap")}),
        ("local", {"approval_screen": True}),
        ("local", {"dex": "v2.28", "door": "oidc-authservice"}),
    ],
    ids=["two-connectors-ldap", "two-connectors-local", "approval-page", "pre-v2.29-paths"],
)
def test_connectors_approval_and_old_dex_through_the_sdk(
    connector: str,
    options: dict[str, Any],
    stored_password: None,
    profiles_path: Path,
) -> None:
    with Emulator(**{"door": "oauth2-proxy", "dex": "v2.44", **options}) as emu:
        emu.add_experiment("reached", namespace=NAMESPACE)
        dex_profile(emu, profiles_path)
        client = get_client("prod", connector=connector)
        assert [e.display_name for e in client.list_experiments().experiments] == ["reached"]
        if options.get("approval_screen"):
            assert emu.counts["POST /dex/approval"] == 1
        if options.get("connectors"):
            assert emu.counts[f"POST /dex/auth/{connector}/login"] == 1


def test_ca_bundle_wins_over_the_environment_on_both_hops(
    stored_password: None, profiles_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unrelated = tmp_path / "unrelated-ca.pem"
    with Emulator(door="none", tls=True) as other:
        assert other.ca_path is not None
        unrelated.write_bytes(other.ca_path.read_bytes())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(unrelated))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(unrelated))
    with Emulator.for_release("1.11", tls=True) as emu:
        emu.add_experiment("over-tls", namespace=NAMESPACE)
        dex_profile(emu, profiles_path)
        client = get_client("prod", ca_bundle=str(emu.ca_path))
        assert [e.display_name for e in client.list_experiments().experiments] == ["over-tls"]
