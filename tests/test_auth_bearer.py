"""platform-token's credentials: which source wins, the token's life, the cache, the errors.

Resolved from real profiles files; tokens are real JWTs signed by the emulator
(no gateway is needed for most of these), commands are real processes, the
cache is the real 0600 file store (keyring's fail backend: no keyring) or the
real Secret Service.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from kfp_profiles.auth import bearer
from kfp_profiles.auth.bearer import BearerCredentials
from kfp_profiles.auth.bearer_token import BearerToken, TokenCache, check_token_text, jwt_expiry
from kfp_profiles.errors import (
    StoredTokenElsewhereError,
    TokenExpiredError,
    TokenFileTrustError,
    TokenMissingError,
    TokenPathError,
)
from kfp_profiles.resolution import resolve
from kfp_profiles.testing import Emulator

from .helpers import write_profiles

HOST = "https://kubeflow.example.com"


pytestmark = pytest.mark.usefixtures("fresh_token_sources")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """Only for its signing keys: tokens with real claims."""
    with Emulator.for_release("1.11") as emulator:
        yield emulator


def profile(path: Path, *lines: str) -> None:
    body = "\n".join(lines)
    write_profiles(
        path,
        f"""
        [profiles.ci]
        kind = "platform-token"
        host = "{HOST}"
        namespace = "team"
        {body}
        """,
    )


def counter_command(tmp_path: Path, token: str) -> str:
    """A token_command line: a Python helper that prints ``token`` and counts its runs."""
    script = tmp_path / "helper.py"
    script.write_text(
        "import sys\n"
        f"open({str(tmp_path / 'runs')!r}, 'a').write('x')\n"
        f"print(open({str(tmp_path / 'token')!r}).read())\n"
    )
    (tmp_path / "token").write_text(token)
    return f"token_command = {json.dumps([sys.executable, str(script)])}"


def runs(tmp_path: Path) -> int:
    path = tmp_path / "runs"
    return len(path.read_text()) if path.exists() else 0


def header(credentials: BearerCredentials) -> str:
    headers: dict[str, str] = {}
    credentials.before_request(headers)
    return headers["Authorization"]


# --- the token's text and life ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("abc.def.ghi", None),
        ("", "it is empty"),
        ("abc def", "it has whitespace at character 4, so it is more than one token"),
        ("abc\x00def", "it has a control character at character 4"),
        ("abcdéf", "it has a character that is not ASCII at character 5"),
    ],
)
def test_token_text(text: str, problem: str | None) -> None:
    assert check_token_text(text) == problem


def test_expiry_comes_from_a_jwts_exp_and_short_tokens_renew_halfway(emu: Emulator) -> None:
    token = emu.mint_token(issuer="kubernetes", lifetime=600)
    expiry = jwt_expiry(token)
    assert expiry is not None and abs(expiry - (time.time() + 600)) < 5
    assert jwt_expiry("opaque") is None
    long = BearerToken("t", expires_at=1000.0, got_at=0.0)
    assert long.renew_at(60) == 940.0  # the margin before expiry
    short = BearerToken("t", expires_at=100.0, got_at=0.0)
    assert short.renew_at(60) == 50.0  # not before half its life
    assert BearerToken("t", None, 0.0).renew_at(60) is None


# --- which source wins -----------------------------------------------------------------------


def test_no_source_at_all_is_a_typed_error_that_lists_them(
    profiles_path: Path, no_keyring: None
) -> None:
    profile(profiles_path)
    with pytest.raises(TokenMissingError) as caught:
        BearerCredentials.for_profile(resolve("ci"))
    assert caught.value.exit_code == 3
    assert "pass token=..., set KFP_TOKEN, set `token_command` or `token_path`" in str(caught.value)


@pytest.mark.keyring
def test_a_keyring_token_never_follows_an_override_to_another_host(
    profiles_path: Path, keyring_backend: Any, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kfp_profiles.secrets import set_token

    token = emu.mint_token(issuer="kubernetes")
    set_token("ci", SecretStr(token))
    profile(profiles_path)
    assert header(BearerCredentials.for_profile(resolve("ci"))) == f"Bearer {token}"
    monkeypatch.setenv("KFP_HOST", "https://elsewhere.example.com")
    with pytest.raises(StoredTokenElsewhereError) as caught:
        BearerCredentials.for_profile(resolve("ci"))
    assert str(caught.value) == (
        "Profile 'ci' keeps its token for https://kubeflow.example.com, but KFP_HOST points it "
        "at https://elsewhere.example.com/pipeline: a stored token never follows an override "
        "to another host; pass token= (or set KFP_TOKEN) for that host, or add a profile for it."
    )
    assert token not in str(caught.value)


def test_an_expired_static_token_names_its_source(
    profiles_path: Path, emu: Emulator, tmp_path: Path
) -> None:
    profile(profiles_path, counter_command(tmp_path, "unused"))
    old = emu.mint_token(issuer="kubernetes", lifetime=-10)
    with pytest.raises(TokenExpiredError) as caught:
        BearerCredentials.for_profile(resolve("ci", token=old)).before_request({})
    assert "the token from the token= argument expired at " in str(caught.value)
    assert caught.value.cli_message.endswith("; give a current token.")
    assert runs(tmp_path) == 0  # the argument wins over the command


def test_a_token_file_problem_names_the_file_and_the_setting(
    profiles_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nothing-here"
    monkeypatch.setenv("KFP_TOKEN_PATH", str(missing))
    profile(profiles_path)
    with pytest.raises(TokenPathError) as caught:
        BearerCredentials.for_profile(resolve("ci"))
    assert str(caught.value) == (
        f"Profile 'ci': the token file {missing} does not exist; point KFP_TOKEN_PATH at the "
        "file that holds the token, or unset it."
    )
    loose = tmp_path / "loose"
    loose.write_text("abc")
    loose.chmod(0o666)
    monkeypatch.setenv("KFP_TOKEN_PATH", str(loose))
    with pytest.raises(TokenFileTrustError):
        BearerCredentials.for_profile(resolve("ci"))


def test_a_token_file_is_read_again_only_when_it_changes(
    profiles_path: Path, tmp_path: Path, emu: Emulator
) -> None:
    path = tmp_path / "token"
    first, second = (
        emu.mint_token(issuer="kubernetes"),
        emu.mint_token(issuer="kubernetes", lifetime=99),
    )
    path.write_text(first)
    profile(profiles_path, f'token_path = "{path}"')
    credentials = BearerCredentials.for_profile(resolve("ci"))
    assert not credentials.renewable
    assert header(credentials) == f"Bearer {first}"
    path.write_text(second)
    assert header(credentials) == f"Bearer {second}"


# --- the command: runs, renewal, cache ---------------------------------------------------------


def test_a_command_token_is_cached_for_its_origin_and_command_only(
    profiles_path: Path, tmp_path: Path, emu: Emulator, no_keyring: None, isolated_home: Path
) -> None:
    token = emu.mint_token(issuer="kubernetes")
    line = counter_command(tmp_path, token)
    profile(profiles_path, line)
    credentials = BearerCredentials.for_profile(resolve("ci"))
    assert header(credentials) == f"Bearer {token}"
    assert header(credentials) == f"Bearer {token}"
    assert runs(tmp_path) == 1
    (cached,) = (isolated_home / ".cache" / "kfp-profiles").iterdir()
    assert cached.name == "session-ci%23token.json"
    assert cached.stat().st_mode & 0o777 == 0o600
    record = json.loads(cached.read_text())
    assert record["origin"] == HOST and record["token"] == token
    bearer._SHARED.clear()  # a new process: the cache serves it
    header(BearerCredentials.for_profile(resolve("ci")))
    assert runs(tmp_path) == 1
    bearer._SHARED.clear()  # another command: the cached token is not its own
    profile(profiles_path, line.replace("]", ', "--other"]'))
    header(BearerCredentials.for_profile(resolve("ci")))
    assert runs(tmp_path) == 2


def test_a_refused_command_token_is_dropped_and_the_command_runs_once(
    profiles_path: Path, tmp_path: Path, emu: Emulator, no_keyring: None
) -> None:
    first = emu.mint_token(issuer="kubernetes")
    profile(profiles_path, counter_command(tmp_path, first))
    credentials = BearerCredentials.for_profile(resolve("ci"))
    assert credentials.renewable
    refused = {"Authorization": header(credentials)}
    second = emu.mint_token(issuer="kubernetes", lifetime=1234)
    (tmp_path / "token").write_text(second)
    credentials.refresh(refused)
    credentials.refresh(refused)  # a second thread that failed together: no second run
    assert header(credentials) == f"Bearer {second}"
    assert runs(tmp_path) == 2
    assert TokenCache().load("ci", HOST, "x") is None


def test_logout_forgets_the_cached_token(
    profiles_path: Path, tmp_path: Path, emu: Emulator, no_keyring: None
) -> None:
    profile(profiles_path, counter_command(tmp_path, emu.mint_token(issuer="kubernetes")))
    header(BearerCredentials.for_profile(resolve("ci")))
    assert bearer.forget_cached_token("ci") is True
    assert bearer.forget_cached_token("ci") is False
    header(BearerCredentials.for_profile(resolve("ci")))
    assert runs(tmp_path) == 2


@pytest.mark.keyring
def test_with_a_keyring_the_cache_is_in_it_and_in_no_file(
    profiles_path: Path, tmp_path: Path, emu: Emulator, keyring_backend: Any, isolated_home: Path
) -> None:
    import keyring

    token = emu.mint_token(issuer="kubernetes")
    profile(profiles_path, counter_command(tmp_path, token))
    header(BearerCredentials.for_profile(resolve("ci")))
    stored = keyring.get_password("kfp-profiles-session", "ci#token")
    assert stored is not None and json.loads(stored)["token"] == token
    cache = isolated_home / ".cache"
    assert not any(token in p.read_text() for p in cache.rglob("*") if p.is_file())


def test_the_credentials_repr_shows_no_token(
    profiles_path: Path, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = emu.mint_token(issuer="kubernetes")
    monkeypatch.setenv("KFP_TOKEN", token)
    profile(profiles_path)
    resolved = resolve("ci")
    credentials = BearerCredentials.for_profile(resolved)
    header(credentials)
    assert token not in repr(credentials) + repr(resolved) + str(resolved.describe())
    assert repr(credentials).startswith(
        "BearerCredentials(source='env:KFP_TOKEN', token=BearerToken(text='***'"
    )


@pytest.mark.parametrize(
    "content", ["not json", '{"token": 1}', '{"token": "a b", "origin": "x"}', "[]"]
)
def test_an_unreadable_cached_token_is_ignored_and_the_command_runs(
    content: str,
    profiles_path: Path,
    tmp_path: Path,
    emu: Emulator,
    no_keyring: None,
    isolated_home: Path,
) -> None:
    token = emu.mint_token(issuer="kubernetes")
    profile(profiles_path, counter_command(tmp_path, token))
    folder = isolated_home / ".cache" / "kfp-profiles"
    folder.mkdir(parents=True, mode=0o700)
    cached = folder / "session-ci%23token.json"
    cached.write_text(content)
    cached.chmod(0o600)
    assert header(BearerCredentials.for_profile(resolve("ci"))) == f"Bearer {token}"
    assert runs(tmp_path) == 1
    assert json.loads(cached.read_text())["token"] == token  # replaced by the new one
