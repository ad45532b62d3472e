"""Credentials go only where they were meant to go (issue 10, point 4; issue 11).

The stored password and the cached session belong to the origin of the host in the
file (a platform-oidc client secret and sign-in to its issuer too); an override that
changes the origin gets neither, and a password goes over plain HTTP only where the
file itself names an http:// host. Against the emulator over real HTTP: the plain-HTTP
server must see no request that carries the password.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kfp_profiles import errors
from kfp_profiles.client import get_client
from kfp_profiles.session import SessionCache
from kfp_profiles.testing import Emulator

from .helpers import write_profiles

PASSWORD = "12341234"  # the emulator's Dex user
USER = "user@example.com"
HTTPS_HOME = "https://kubeflow.example.invalid"


@pytest.fixture
def plain_http_kubeflow() -> Iterator[Emulator]:
    with Emulator.for_release("1.10") as emu:
        yield emu


def password_requests(emu: Emulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emu.requests if PASSWORD.encode() in r.body]


def home_profile(profiles_path: Path, host: str = HTTPS_HOME) -> None:
    write_profiles(
        profiles_path,
        f"""
        [profiles.prod]
        kind = "platform-dex"
        host = "{host}"
        username = "{USER}"
        namespace = "kubeflow-user-example-com"
        """,
    )


def test_a_stored_password_never_follows_kfp_host_to_plain_http(
    profiles_path: Path,
    keyring_backend: object,
    plain_http_kubeflow: Emulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import SecretStr

    from kfp_profiles import secrets

    home_profile(profiles_path)
    secrets.set_password("prod", SecretStr(PASSWORD))
    monkeypatch.setenv("KFP_HOST", plain_http_kubeflow.url)
    with pytest.raises(errors.StoredSecretElsewhereError) as caught:
        get_client("prod")
    assert str(caught.value) == (
        f"Profile 'prod' keeps its password for {HTTPS_HOME}, but KFP_HOST points it at "
        f"{plain_http_kubeflow.url}/pipeline: a stored password never follows an override "
        "to another host; pass password= (or set KFP_PASSWORD) for that host, or add a "
        "profile for it."
    )
    assert password_requests(plain_http_kubeflow) == []


def test_even_an_explicit_password_is_not_sent_over_plain_http_to_an_override(
    profiles_path: Path, plain_http_kubeflow: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    home_profile(profiles_path)
    monkeypatch.setenv("KFP_HOST", plain_http_kubeflow.url)
    monkeypatch.setenv("KFP_PASSWORD", PASSWORD)
    with pytest.raises(errors.PlainHttpOverrideError) as caught:
        get_client("prod")
    message = str(caught.value)
    assert message.startswith(
        "Refusing to send the password of profile 'prod' over plain HTTP to "
        f"{plain_http_kubeflow.url}/dex/auth/local/login"
    )
    assert f"the profiles file names {HTTPS_HOME}" in message
    assert PASSWORD not in message
    assert password_requests(plain_http_kubeflow) == []


def test_a_file_that_names_a_plain_http_host_logs_in_over_it(
    profiles_path: Path, plain_http_kubeflow: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    home_profile(profiles_path, host=plain_http_kubeflow.url)
    plain_http_kubeflow.add_experiment("at home", "kubeflow-user-example-com")
    monkeypatch.setenv("KFP_PASSWORD", PASSWORD)
    listed = get_client("prod").list_experiments().experiments
    assert [experiment.display_name for experiment in listed] == ["at home"]
    assert len(password_requests(plain_http_kubeflow)) == 1


def test_an_override_neither_reads_nor_overwrites_the_cached_session(
    profiles_path: Path, plain_http_kubeflow: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator.for_release("1.10") as other:
        home_profile(profiles_path, host=plain_http_kubeflow.url)
        monkeypatch.setenv("KFP_PASSWORD", PASSWORD)
        get_client("prod")  # logs in at home and caches the session
        home_session = SessionCache().load("prod")
        assert home_session is not None
        # The other emulator is also plain HTTP, but on another port: another origin, and
        # the file names an http host, so the explicit password may go there.
        monkeypatch.setenv("KFP_HOST", other.url)
        get_client("prod").list_experiments()
        assert len(password_requests(other)) == 1  # its own login: the home session stayed home
        assert SessionCache().load("prod") == home_session


@pytest.mark.keyring
def test_a_stored_client_secret_never_follows_kfp_issuer_to_another_provider(
    profiles_path: Path, keyring_backend: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from pydantic import SecretStr

    from kfp_profiles.auth.oidc_store import SignInStore
    from kfp_profiles.secrets import set_client_secret
    from kfp_profiles.testing import StaticClient

    from .tokens import oidc_profile

    secret = "home-client-secret-Qw7Er9"
    confidential = StaticClient("kfp-profiles", secret=secret, name="kfp-profiles")
    with (
        Emulator.for_release("1.11", clients=[confidential]) as home,
        Emulator.for_release("1.11", device_interval=0, device_lifetime=5) as elsewhere,
    ):
        elsewhere.auto_approve_devices()
        oidc_profile(profiles_path, home)
        set_client_secret("o", SecretStr(secret))
        monkeypatch.setenv("KFP_ISSUER", f"{elsewhere.url}/dex")
        with pytest.raises(errors.KfpProfilesError):
            # Signed in at the other provider, the token is for its issuer: the home
            # gateway refuses it. What matters is what the other provider was sent.
            get_client("o", prompt=True).list_experiments()
        sent = elsewhere.requests
    assert any(r.path.startswith("/dex/") for r in sent)  # the sign-in did go there
    assert SignInStore("o").load() is None  # nor was that sign-in kept as the profile's
    basic = base64.b64encode(f"kfp-profiles:{secret}".encode()).decode()
    for request in sent:
        assert secret.encode() not in request.body
        assert basic not in request.headers.get("authorization", "")
