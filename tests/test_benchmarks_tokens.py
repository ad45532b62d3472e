"""benchmarks/tokens.py, run once in its quick mode: the counts it reports are the promised ones.

Counts are behaviour (a token command runs once, a refresh is one request, a
new process sends one request); the times it prints are not checked. The
benchmark runs the real kfp SDK against the emulator and the stand-in
``kubectl create token`` (there is no cluster here), in a child process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Row label -> the counts it must show, column by column.
TOKEN_ROWS = {
    "cold: get_client + first call": ["1", "1", "1"],
    "warm: next call, same process": ["0", "0", "1"],
    "new process, token cached: get_client + first call": ["0", "0", "1"],
    "token expired: next call": ["1", "1", "1"],
    "8 threads, 2 clients, token expired": ["1", "1", "8"],
}
OIDC_ROWS = {
    "cold: device sign-in + first call": ["1", "2", "5"],
    "warm: next call, same process": ["0", "0", "1"],
    "new process, sign-in stored: get_client + first call": ["0", "0", "1"],
    "ID token expired: next call": ["1", "0", "2"],
    "8 threads, 2 clients, ID token expired": ["1", "0", "9"],
}


def tables(out: str) -> dict[str, dict[str, list[str]]]:
    """Each Markdown table of ``out`` by its title: row label -> the other cells."""
    found: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in out.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if set(cells[0]) == {"-"}:
            continue
        if current is None:
            current = found[cells[0]] = {"": cells[1:]}
        else:
            current[cells[0]] = cells[1:]
    return found


@pytest.fixture(scope="module")
def report() -> dict[str, dict[str, list[str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KFP_", "KF_PIPELINES_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "tokens.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return tables(done.stdout)


def test_platform_token_runs_its_command_once_per_token(
    report: dict[str, dict[str, list[str]]],
) -> None:
    table = report["platform-token, token_command"]
    assert table[""][:3] == ["command runs", "cluster API", "gateway requests"]
    assert {label: cells[:3] for label, cells in table.items() if label} == TOKEN_ROWS


def test_platform_oidc_refreshes_with_one_request_and_a_new_process_sends_one(
    report: dict[str, dict[str, list[str]]],
) -> None:
    table = report["platform-oidc, device flow"]
    assert table[""][:3] == ["token endpoint", "discovery + keys", "gateway requests"]
    assert {label: cells[:3] for label, cells in table.items() if label} == OIDC_ROWS
