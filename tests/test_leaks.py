"""No secret on any surface (issue 10, point 10; issue 11): a scan of every output, DEBUG
log, repr and exception chain for the password, the tokens (ServiceAccount, bearer, ID,
refresh), the client secret and the proxy password; for the token kinds, every file
written too (the keyring keeps its own files elsewhere).

Each scenario runs the real thing (the emulator over real HTTP, the real keyring, the
console script) and collects every text a person or a log could see, then walks each
raised exception: its message, its args, its attributes (a request object and its body
included) and its ``__cause__``/``__context__`` chain.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from kfp_profiles import errors, secrets
from kfp_profiles.client import get_client, login
from kfp_profiles.resolution import resolve
from kfp_profiles.testing import Emulator

from .helpers import HANG_BOUND, SCRIPT, free_port, write_profiles
from .tokens import every_kind_file

PASSWORD = "12341234"  # the emulator's Dex user: what a login really sends
TOKEN = "sa-token-Zq8Wm3Kd9Lp2Xy7"
PROXY_PASSWORD = "proxy-pw-Hn4Rt6"
SECRETS = {"password": PASSWORD, "token": TOKEN, "proxy password": PROXY_PASSWORD}
NAMESPACE = "kubeflow-user-example-com"


def texts_of(value: Any, *, depth: int = 0, seen: set[int] | None = None) -> Iterator[str]:
    """Every text reachable from ``value``: reprs, strings, bytes, attributes, chains."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth > 6:
        return
    seen.add(id(value))
    if isinstance(value, (str, bytes, bytearray)):
        yield value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else value
        return
    if value is None or isinstance(value, (bool, int, float)):
        return
    try:
        yield repr(value)
        yield str(value)
    except Exception:  # a repr that fails shows nothing
        pass
    children: list[Any] = []
    if isinstance(value, BaseException):
        children += [value.__cause__, value.__context__, *value.args]
    if isinstance(value, dict):
        children += [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        children += list(value)
    if hasattr(value, "__dict__") and not isinstance(value, type):
        children += list(vars(value).values())
    for child in children:
        yield from texts_of(child, depth=depth + 1, seen=seen)


def leaks(surfaces: list[str]) -> dict[str, list[str]]:
    """Which secret shows up where: {secret name: [an excerpt of each surface holding it]}."""
    found: dict[str, list[str]] = {}
    for name, secret in SECRETS.items():
        for text in surfaces:
            at = text.find(secret)
            if at >= 0:
                found.setdefault(name, []).append(text[max(0, at - 60) : at + 60])
    return found


@pytest.fixture
def surfaces(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Collects texts; the DEBUG log of every logger is one of them."""
    collected: list[str] = []
    with caplog.at_level(logging.DEBUG):
        yield collected
        collected += [record.getMessage() for record in caplog.records]
        collected += [repr(record.args) for record in caplog.records]


def attempt(surfaces: list[str], call: Callable[[], Any]) -> Any:
    """Run ``call``; its result's repr, or its exception's whole tree, join the surfaces.

    A result's attributes are the values the caller asked for (a client needs the
    proxy's password to use the proxy); what it shows of itself must be masked.
    """
    try:
        result = call()
    except BaseException as exc:  # every exception, ours or not, is scanned whole
        surfaces.extend(texts_of(exc))
        return exc
    surfaces.extend([repr(result), str(result)])
    return result


def dex_file(path: Path, host: str, **extra: str) -> None:
    lines = "".join(f'{key} = "{value}"\n' for key, value in extra.items())
    write_profiles(
        path,
        f"""
        [profiles.prod]
        kind = "platform-dex"
        host = "{host}"
        username = "user@example.com"
        namespace = "{NAMESPACE}"
        """
        + lines,
    )


def test_a_dex_profile_leaks_nothing_from_login_to_renewal_to_failure(
    profiles_path: Path,
    keyring_backend: object,
    surfaces: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Emulator.for_release("1.10") as emu:
        emu.add_experiment("seen", NAMESPACE)
        dex_file(profiles_path, emu.url)
        secrets.set_password("prod", SecretStr(PASSWORD))
        client = attempt(surfaces, lambda: get_client("prod"))
        attempt(surfaces, lambda: client.list_experiments())
        emu.expire_sessions()  # the next call renews the session: a second login
        attempt(surfaces, lambda: client.list_experiments())
        attempt(surfaces, lambda: login("prod"))
        surfaces += [repr(client), repr(resolve("prod")), repr(client.resolved)]
        # A wrong password, from each source.
        attempt(surfaces, lambda: login("prod", password=PASSWORD + "x"))
        monkeypatch.setenv("KFP_PASSWORD", PASSWORD + "y")
        attempt(surfaces, lambda: login("prod"))
    # The host is gone now: a refused connection, with the password at hand.
    monkeypatch.setenv("KFP_PASSWORD", PASSWORD)
    dead = attempt(surfaces, lambda: login("prod"))
    assert isinstance(dead, errors.ConnectionFailedError)
    assert leaks(surfaces) == {}


def test_a_token_profile_leaks_nothing_whether_the_token_is_taken_or_refused(
    profiles_path: Path, tmp_path: Path, surfaces: list[str]
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    tokens = {TOKEN: f"system:serviceaccount:{NAMESPACE}:default-editor"}
    with Emulator(door="none", multi_user=True, tokens=tokens) as emu:
        emu.add_experiment("seen", NAMESPACE)
        write_profiles(
            profiles_path,
            f"""
            [profiles.pod]
            kind = "platform-in-cluster"
            host = "{emu.api_url}"
            namespace = "{NAMESPACE}"
            token_path = "{token_file}"
            """,
        )
        client = attempt(surfaces, lambda: get_client("pod"))
        attempt(surfaces, lambda: client.list_experiments())
        token_file.write_text(TOKEN[::-1])  # a token the API refuses
        attempt(surfaces, lambda: client.list_experiments())
        token_file.write_text(TOKEN + "\nsecond line " + TOKEN)  # a malformed file
        attempt(surfaces, lambda: get_client("pod").list_experiments())
    assert leaks(surfaces) == {}


def test_a_proxy_password_never_shows(
    profiles_path: Path, surfaces: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = f"http://me:{PROXY_PASSWORD}@127.0.0.1:{free_port()}"  # nothing listens there
    write_profiles(
        profiles_path,
        f"""
        [profiles.dev]
        kind = "standalone-in-cluster"
        host = "http://kfp.invalid"
        proxy = "{proxy}"
        timeout = 2
        """,
    )
    attempt(surfaces, lambda: resolve("dev"))
    attempt(surfaces, lambda: get_client("dev").list_experiments())
    monkeypatch.setenv("KFP_PROXY", f"ftp://me:{PROXY_PASSWORD}@bad")  # an invalid one
    attempt(surfaces, lambda: resolve("dev"))
    assert leaks(surfaces) == {}


def test_the_command_line_leaks_nothing_even_with_debug(
    profiles_path: Path, tmp_path: Path
) -> None:
    outputs: list[str] = []
    with Emulator.for_release("1.10") as emu:
        dex_file(profiles_path, emu.url, proxy=f"http://me:{PROXY_PASSWORD}@127.0.0.1:9")
        env = {"KFP_PASSWORD": PASSWORD, "KFP_PROFILES_FILE": str(profiles_path)}
        for args in (
            ["list"],
            ["show", "prod"],
            ["show", "prod", "--sources"],
            ["show", "prod", "--json"],
            ["env", "prod"],
            ["login", "prod"],
            ["check", "prod"],
            ["doctor", "prod"],
        ):
            done = subprocess.run(
                [str(SCRIPT), "--debug", *args],
                capture_output=True,
                text=True,
                timeout=HANG_BOUND,
                env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
            )
            outputs += [done.stdout, done.stderr]
    assert leaks(outputs) == {}
    assert any("prod" in text for text in outputs)  # the commands did run


# --- the token kinds: the bearer token, the ID and refresh tokens, the client secret ------


CLIENT_SECRET = "oidc-client-secret-Vb5Nq2"


@pytest.mark.keyring
def test_the_token_kinds_leak_no_token_refresh_token_or_client_secret(
    profiles_path: Path,
    tmp_path: Path,
    keyring_backend: Any,
    surfaces: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json
    import os
    import time
    from functools import partial

    from kfp_profiles.auth import bearer
    from kfp_profiles.auth.oidc_store import SignInStore
    from kfp_profiles.testing import StaticClient

    from .helpers import FAKES

    bearer._SHARED.clear()
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    confidential = StaticClient("kfp-profiles", secret=CLIENT_SECRET, name="kfp-profiles")
    texts: list[str] = []  # every secret seen, collected as the scenario makes them
    # ID tokens of 2 s: due for renewal after 1 s, so the refreshes happen for real.
    with Emulator.for_release(
        "1.11", device_interval=0, clients=[confidential], id_token_lifetime=2
    ) as emu:
        monkeypatch.setenv("FAKE_KUBECTL_API", emu.kube_url)
        emu.add_experiment("seen", NAMESPACE)
        emu.auto_approve_devices()
        every_kind_file(profiles_path, emu)
        stored = emu.service_account_token(NAMESPACE)
        texts += [stored]

        def console(*args: str, stdin: str | None = None) -> None:
            done = subprocess.run(
                [str(SCRIPT), "--debug", *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=HANG_BOUND,
                env=dict(os.environ),
            )
            surfaces.extend([done.stdout, done.stderr])

        console("secret", "set", "bot", "--token", stdin=stored + "\n")
        console("secret", "set", "sso", "--client-secret", stdin=CLIENT_SECRET + "\n")
        for name in ("ci", "bot"):
            client = attempt(surfaces, partial(get_client, name))
            attempt(surfaces, client.list_experiments)
            surfaces.append(repr(client))
        client = attempt(surfaces, lambda: get_client("sso", prompt=True))
        attempt(surfaces, lambda: client.list_experiments())
        signed_in = SignInStore("sso").load()
        assert signed_in is not None and signed_in.refresh_token
        texts += [signed_in.id_token, signed_in.refresh_token, CLIENT_SECRET]
        surfaces += [repr(signed_in), repr(client), repr(resolve("sso"))]
        time.sleep(1.2)  # the next call refreshes, with the client secret
        attempt(surfaces, lambda: client.list_experiments())
        renewed = SignInStore("sso").load()
        assert renewed is not None and renewed.id_token != signed_in.id_token
        texts += [renewed.id_token, str(renewed.refresh_token)]
        cached = keyring_backend.get_password("kfp-profiles-session", "ci#token")
        assert cached is not None
        texts += [str(json.loads(cached)["token"])]

        for args in (
            ["list", "--status"],
            ["show", "bot", "--sources"],
            ["show", "sso", "--json"],
            ["env", "ci"],
            ["login", "ci"],
            ["check", "ci"],
            ["check", "bot"],
            ["check", "sso"],
            ["doctor", "ci"],
            ["doctor", "sso"],
        ):
            console(*args)
        # Refused: a revoked sign-in, and a token the gateway does not take.
        emu.revoke_sign_ins()
        time.sleep(1.2)
        attempt(surfaces, lambda: client.list_experiments())
        attempt(surfaces, lambda: get_client("bot", token=stored[::-1]).list_experiments())
        console("check", "sso")
        console("logout", "sso")
    bearer._SHARED.clear()

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files, "the scenario wrote files (the profiles file at least)"
    surfaces += [p.read_text(errors="replace") for p in files]
    found = {
        f"secret {index}": [text[max(0, text.find(secret) - 60) :][:120]]
        for index, secret in enumerate(texts)
        for text in surfaces
        if secret and secret in text
    }
    assert found == {}
    assert any("Stored the token of 'bot'" in text for text in surfaces)  # the commands ran
