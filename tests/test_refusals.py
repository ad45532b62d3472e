"""The KFP API's refusals, typed and explained (issue 10, point 8; errors/refusals.py).

A standalone profile at a Kubeflow Platform names the front door on every
release, a refused token names its path and the setting that named it, and a
403 names the identity and how it gets access. Each case runs through the real
kfp SDK against the emulated Kubeflow over real HTTP on loopback (the Python
wording, ``str(exc)``) and through the command line in-process
(``kfp_profiles.cli.run``, what the console script calls; the CLI wording),
and asserts the exact message.
"""

from __future__ import annotations

import base64
import json
import shlex
import time
from pathlib import Path
from typing import Any

import pytest

from kfp_profiles import errors
from kfp_profiles.cli import run
from kfp_profiles.client import get_client
from kfp_profiles.testing import Emulator

from .helpers import DEX_FILE, DEX_PASSWORD, DEX_USER, write_profiles

ACCOUNT = "system:serviceaccount:team-a:default-editor"


def jwt(claims: dict[str, Any]) -> str:
    """An unsigned JWT: `check` reads its audience and expiry, the emulator its value."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.signature"


def pod_token(path: Path) -> str:
    """A token `check` finds fine (audience, expiry) and writes to ``path``."""
    token = jwt({"aud": ["pipelines.kubeflow.org"], "exp": int(time.time()) + 3600})
    path.write_text(token)
    return token


def chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = run(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- point 8: a standalone profile at a Kubeflow Platform, on every release ----------------

REDIRECT = "a redirect to its login page (302)"
AUTHSERVICE = "oidc-authservice, the login of Kubeflow 1.8 and earlier"
PROXY_SECOND = "oauth2-proxy, the login of Kubeflow 1.9.1 and later"

#: release -> (what the API URL answered, the door the message names): front-door.md's rows.
RELEASE_ANSWERS: dict[str, tuple[str, str]] = {
    "1.5": (REDIRECT, AUTHSERVICE),
    "1.6": (REDIRECT, AUTHSERVICE),
    "1.7": (REDIRECT, AUTHSERVICE),
    "1.8": (REDIRECT, AUTHSERVICE),
    "1.9.0": (REDIRECT, "oauth2-proxy, the login of Kubeflow 1.9.0"),
    "1.9.1": ("401 Unauthorized", PROXY_SECOND),
    "1.10": ("401 Unauthorized", PROXY_SECOND),
    "1.11": ("401 Unauthorized", PROXY_SECOND),
}


def platform(release: str | None) -> Emulator:
    """The emulated Kubeflow of ``release``; None: a multi-user KFP API with no door in front
    (what a port-forward to a platform's ml-pipeline-ui reaches)."""
    if release is None:
        return Emulator(door="none", multi_user=True)
    return Emulator.for_release(release)


@pytest.mark.parametrize("release", Emulator.RELEASES)
def test_a_standalone_profile_at_a_platform_names_the_front_door(
    release: str, profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set(Emulator.RELEASES) == set(RELEASE_ANSWERS)
    why, door = RELEASE_ANSWERS[release]
    with platform(release) as emu:
        url = emu.api_url
        write_profiles(
            profiles_path, f'[profiles.lab]\nkind = "standalone-in-cluster"\nhost = "{url}"\n'
        )
        with pytest.raises(errors.BehindLoginError) as caught:
            get_client("lab").list_experiments()
        status, out, err = cli_error(["check", "lab"], capsys)
    said = (
        f"{url} answered {why} for profile 'lab' (kind standalone-in-cluster): "
        f"this host sits behind {door}; "
    )
    assert str(caught.value) == said + (
        'use a platform-dex profile for it (kind = "platform-dex", with your Dex `username` '
        "and `namespace`)."
    )
    assert chain(caught.value) == [caught.value], "no SDK exception (headers, cookies) chained"
    assert status == 6
    cli_said = said + (
        f"make it a platform-dex profile: `kfp-profiles add lab --replace --kind platform-dex "
        f"--host {url} --username EMAIL --namespace NAMESPACE`."
    )
    assert err == f"kfp-profiles: error: check of profile 'lab' failed: {cli_said}\n"
    assert (out + err).count(cli_said) == 1, "check says a failure once"


def test_a_standalone_profile_at_a_multi_user_api_with_no_door(profiles_path: Path) -> None:
    # A port-forward to a platform's ml-pipeline-ui: no door, but the API wants an identity.
    # (Listing with no namespace is refused first, 400, as KFP does: getting one is not.)
    with platform(None) as emu:
        url = emu.api_url
        experiment = emu.add_experiment("theirs", namespace="team-a")
        write_profiles(
            profiles_path, f'[profiles.lab]\nkind = "standalone-port-forward"\nhost = "{url}"\n'
        )
        with pytest.raises(errors.BehindLoginError) as caught:
            get_client("lab").get_experiment(experiment_id=experiment["experiment_id"])
    said = (
        f"{url} answered 401 Unauthorized for profile 'lab' (kind standalone-port-forward): "
        "this host is a multi-user KFP API, which needs to know who is calling; from a laptop "
    )
    assert str(caught.value) == said + (
        "use a platform-dex profile at the Kubeflow gateway's /pipeline URL; in a pod, a "
        "platform-in-cluster profile."
    )
    # What the command line prints for it (cli/__init__.py prints cli_message).
    assert caught.value.cli_message == said + (
        "add a platform-dex profile at the Kubeflow gateway's /pipeline URL (`kfp-profiles add "
        "NAME --kind platform-dex`); in a pod, a platform-in-cluster profile."
    )


# --- point 8: a refused token, and a 403 ---------------------------------------------------


@pytest.mark.parametrize(
    ("release", "why"),
    [
        (
            None,
            "401 (Failed to authenticate the request: TokenReview rejected the bearer "
            "token for audience pipelines.kubeflow.org)",
        ),
        # Istio checks a bearer at the 1.9.1+ gateway before the KFP API sees it.
        ("1.11", "401 (Jwt signature is an invalid Base64url encoded)"),
        ("1.8", "a redirect to its login page (302)"),
    ],
)
def test_a_refused_token_is_typed_and_names_its_path(
    release: str | None,
    why: str,
    tmp_path: Path,
    profiles_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token_file = tmp_path / "token"
    token = pod_token(token_file)  # a token the emulated TokenReview does not know
    with platform(release) as emu:
        url = emu.api_url
        write_profiles(
            profiles_path,
            f'[profiles.pod]\nkind = "platform-in-cluster"\nhost = "{url}"\n'
            f'namespace = "team-a"\ntoken_path = "{token_file}"\n',
        )
        with pytest.raises(errors.TokenRefusedError) as caught:
            get_client("pod").list_experiments()
        status, out, err = cli_error(["check", "pod"], capsys)
    said = (
        f"Profile 'pod': {url} refused the token in {token_file} (named by `token_path` in "
        f"{profiles_path}) with {why}; check that it has audience pipelines.kubeflow.org and "
        "has not expired (`kfp-profiles doctor pod` shows both)."
    )
    assert str(caught.value) == said
    assert chain(caught.value) == [caught.value]
    assert caught.value.exit_code == 4
    assert status == 4
    assert err == f"kfp-profiles: error: check of profile 'pod' failed: {said}\n"
    assert token not in out + err + repr(caught.value.fields)


@pytest.mark.parametrize(
    ("variables", "named_by"),
    [
        ({"KFP_TOKEN_PATH": "{token}"}, "KFP_TOKEN_PATH"),
        ({"KF_PIPELINES_SA_TOKEN_PATH": "{token}"}, "KF_PIPELINES_SA_TOKEN_PATH"),
        (
            {"KFP_TOKEN_PATH": "{token}", "KF_PIPELINES_SA_TOKEN_PATH": "/elsewhere/token"},
            "KFP_TOKEN_PATH",  # it outranks the SDK's variable
        ),
    ],
)
def test_a_refused_token_names_the_variable_that_won(
    variables: dict[str, str],
    named_by: str,
    tmp_path: Path,
    profiles_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token_file = tmp_path / "token"
    pod_token(token_file)
    for name, value in variables.items():
        monkeypatch.setenv(name, value.format(token=token_file))
    with platform(None) as emu:
        write_profiles(
            profiles_path,
            f'[profiles.pod]\nkind = "platform-in-cluster"\nhost = "{emu.url}"\n'
            'namespace = "team-a"\ntoken_path = "/from/the/file"\n',
        )
        with pytest.raises(errors.TokenRefusedError) as caught:
            get_client("pod").list_experiments()
    assert f"refused the token in {token_file} (named by {named_by}) with 401 (" in str(
        caught.value
    )


def test_a_403_for_a_service_account_gives_the_rolebinding_that_grants_it(
    tmp_path: Path, profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "token"
    token = pod_token(token_file)
    with Emulator(door="none", multi_user=True, tokens={token: ACCOUNT}) as emu:
        emu.add_experiment("theirs", namespace="team-b")
        write_profiles(
            profiles_path,
            f'[profiles.pod]\nkind = "platform-in-cluster"\nhost = "{emu.url}"\n'
            f'namespace = "team-b"\ntoken_path = "{token_file}"\n',
        )
        client = get_client("pod")
        with pytest.raises(errors.NamespaceAccessError) as caught:
            client.list_experiments()
        status, out, err = cli_error(["check", "pod"], capsys)
        command = (
            "kfp-profiles manifest rolebinding --namespace team-b --from-namespace team-a "
            "--service-account default-editor"
        )
        said = (
            f"Profile 'pod': the KFP API at {emu.url} refused ServiceAccount 'default-editor' "
            "of namespace 'team-a' access to namespace 'team-b' (403, list experiments); "
            f"grant it access with `{command} | kubectl apply -f -`."
        )
        assert str(caught.value) == said
        assert chain(caught.value) == [caught.value]
        assert (status, caught.value.exit_code) == (7, 7)
        assert err == f"kfp-profiles: error: check of profile 'pod' failed: {said}\n"
        assert (out + err).count(said) == 1

        # The command it gives makes the RoleBinding for exactly that ServiceAccount...
        assert run(shlex.split(command)[1:]) == 0
        binding = capsys.readouterr().out
        assert "namespace: team-b" in binding
        assert "- kind: ServiceAccount\n  name: default-editor\n  namespace: team-a\n" in binding
        # ...and once it is applied (here: the emulator's access table), the call works.
        emu.add_user_namespace(ACCOUNT, "team-b")
        assert [e.display_name for e in client.list_experiments().experiments] == ["theirs"]


def test_a_403_for_a_person_says_to_ask_the_owner_for_contributor_access(
    profiles_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KFP_PASSWORD", DEX_PASSWORD)
    with Emulator.for_release("1.11") as emu:
        write_profiles(
            profiles_path, DEX_FILE.format(host=emu.api_url, user=DEX_USER, namespace="team-b")
        )
        with pytest.raises(errors.NamespaceAccessError) as caught:
            get_client("prod").list_experiments()
        status, out, err = cli_error(["check", "prod"], capsys)
        said = (
            f"Profile 'prod': the KFP API at {emu.api_url} refused '{DEX_USER}' access to "
            "namespace 'team-b' (403, list experiments); ask the owner of namespace 'team-b' "
            f"to add '{DEX_USER}' as a contributor (Manage Contributors in the Kubeflow "
            "dashboard), or use a namespace of your own."
        )
    assert str(caught.value) == said
    assert chain(caught.value) == [caught.value], "the SDK's exception carries the cookies"
    assert "oauth2_proxy" not in repr(caught.value.fields)
    assert status == 7
    assert err == f"kfp-profiles: error: check of profile 'prod' failed: {said}\n"
    assert (out + err).count(said) == 1


@pytest.mark.parametrize(
    ("message", "identity", "namespace", "request_"),
    [
        # Kubeflow Pipelines' own wording (backend resource_manager.go), as users report it.
        (
            "Failed to list v1beta1 runs: Failed to list runs due to authorization error. "
            "Check if you have permission to access namespace kubeflow-user-example-com: "
            "PermissionDenied: User 'system:serviceaccount:default:default' is not "
            "authorized with reason:  (request: &ResourceAttributes{Namespace:"
            "kubeflow-user-example-com,Verb:list,Group:pipelines.kubeflow.org,Version:v1beta1,"
            "Resource:runs,Subresource:,Name:,}): Unauthorized access",
            "system:serviceaccount:default:default",
            "kubeflow-user-example-com",
            ", list runs",
        ),
        ("RBAC: access denied", "", "team-b", ""),
    ],
)
def test_the_403_is_read_from_the_apis_own_words(
    message: str, identity: str, namespace: str, request_: str
) -> None:
    from kfp_profiles.kfp_client import _IDENTITY, _NAMESPACE, _RESOURCE, _VERB, _search

    assert _search(_IDENTITY, message) == identity
    assert (_search(_NAMESPACE, message) or "team-b") == namespace
    verb, resource = _search(_VERB, message), _search(_RESOURCE, message)
    assert (f", {verb} {resource}" if verb and resource else "") == request_
