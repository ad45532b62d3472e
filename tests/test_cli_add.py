"""`add` (cli/add.py): its options and prompts come from the field table."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from kfp_profiles.fields import FIELDS
from tests.helpers import cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def test_help_lists_one_option_per_field_with_its_metavar_and_kinds() -> None:
    done = cli("add", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())  # click wraps long help lines
    for spec in FIELDS.values():
        if spec.secret:  # stored with `secret set`, never a flag
            assert not re.search(re.escape(spec.flag) + r"(?![-\w])", text), spec.flag
            continue
        expected = f"{spec.flag} {spec.metavar}" if spec.metavar else spec.flag
        assert expected in text, spec.name
    assert "Local port; 0 lets kubectl pick one [standalone-port-forward]" in text
    assert "--verify-tls / --no-verify-tls" in text


def test_options_are_typed_and_written_in_table_order(profiles_path: Path) -> None:
    done = cli(
        "add", "dev", "--kind", "standalone-port-forward", "--local-port", "3005",
        "--no-manage", "--timeout", "2.5", "--service", "svc",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = tomllib.loads(profiles_path.read_text())["profiles"]["dev"]
    assert table == {
        "kind": "standalone-port-forward",
        "timeout": 2.5,
        "service": "svc",
        "local_port": 3005,
        "manage": False,
    }
    assert list(table) == ["kind", "timeout", "service", "local_port", "manage"]


def test_a_token_kind_profile_says_what_it_needs_before_its_first_call(
    profiles_path: Path,
) -> None:
    host = "https://kf.example.com"
    done = cli("add", "bot", "--kind", "platform-token", "--host", host, "--namespace", "ns")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout.splitlines()[-1] == (
        "Store its token with `kfp-profiles secret set bot --token` (or set KFP_TOKEN), "
        "or give it a --token-command."
    )
    done = cli(
        "add", "ci", "--kind", "platform-token", "--host", host, "--namespace", "ns",
        "--token-command", "kubectl -n ns create token default-editor",
    )  # fmt: skip
    assert done.stdout.splitlines() == [f"Added profile 'ci' (platform-token) in {profiles_path}."]
    done = cli(
        "add", "sso", "--kind", "platform-oidc", "--host", host, "--namespace", "ns",
        "--client-id", "kfp-profiles",
    )  # fmt: skip
    assert done.stdout.splitlines()[-1] == (
        "Sign in with `kfp-profiles login sso`; the sign-in then renews itself."
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--kind", "standalone-in-cluster", "--username", "me"],
            "--username does not apply to kind 'standalone-in-cluster'; its options are "
            "--host, --namespace, --ui-host, --verify-tls, --ca-bundle, --proxy, --timeout, "
            "--description, --k8s-namespace.",
        ),
        (
            ["--kind", "standalone-port-forward", "--local-port", "many"],
            "Invalid value for '--local-port': 'many' is not a valid integer;",
        ),
        (
            ["--no-input"],
            "Profile 'x' needs a kind: pass --kind with one of standalone-in-cluster, "
            "standalone-port-forward, platform-in-cluster, platform-dex, platform-token, "
            "platform-oidc.",
        ),
    ],
)
def test_bad_options_get_one_line(profiles_path: Path, args: list[str], message: str) -> None:
    done = cli("add", "x", *args)
    assert done.returncode == 2
    assert message in " ".join(done.stderr.split())
    assert not profiles_path.exists()
