"""The README's commands run as written (issue 12): every `kfp-profiles` line of its shell
blocks, in order, in a fresh home, through the installed console script.

Lines that need a person, a cluster or the network (a hidden prompt, a login, `check`,
`port-forward`, `doctor`) are left to the tests of those verbs.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from .helpers import HANG_BOUND, SCRIPT

ROOT = Path(__file__).resolve().parent.parent
NEEDS_MORE = ("secret set", "login", "check", "port-forward", "doctor")


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command.startswith("kfp-profiles ") and not any(
                command.startswith(f"kfp-profiles {verb}") for verb in NEEDS_MORE
            ):
                commands.append(command)
    return commands


def test_the_readme_has_commands_to_run() -> None:
    assert len(readme_commands()) >= 10


def test_every_readme_command_runs_as_written(tmp_path: Path) -> None:
    home = tmp_path / "readme-home"
    home.mkdir(mode=0o700)
    env = {"PATH": f"{SCRIPT.parent}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    for command in readme_commands():
        argv = shlex.split(command)
        done = subprocess.run(
            [str(SCRIPT), *argv[1:]], capture_output=True, text=True, env=env, timeout=HANG_BOUND
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
        assert "Traceback" not in done.stderr, command
    listed = subprocess.run(
        [str(SCRIPT), "list"], capture_output=True, text=True, env=env, timeout=HANG_BOUND
    ).stdout
    for name in ("prod", "dev", "in-pod", "standalone", "ci", "sso"):
        assert re.search(rf"^\*?\s*{name}\s", listed, flags=re.M), (name, listed)
