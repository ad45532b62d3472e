"""`python -m kfp_profiles.testing`: the emulator in the foreground, tried as the README says."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from .helpers import HANG_BOUND, cli


def test_the_emulator_runs_in_the_foreground_and_a_profile_reaches_it(
    profiles_path: Path,
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "kfp_profiles.testing", "--release", "1.9.1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        printed: list[str] = []
        while not printed or printed[-1] != "Ctrl-C stops it.\n":
            printed.append(child.stdout.readline())
            assert printed[-1], "the emulator ended before it was ready"
        text = "".join(printed)
        host = re.search(r"host\s+(\S+)", text)
        assert host is not None and text.startswith("Kubeflow 1.9.1 (front door oauth2-proxy")
        # The lines it prints are the commands to type.
        add = next(line for line in printed if "kfp-profiles add local" in line).split()
        assert cli(*add[1:]).returncode == 0
        done = cli("check", "local", env={"KFP_PASSWORD": "12341234"})
        assert done.returncode == 0, done.stdout + done.stderr
        assert host.group(1) in profiles_path.read_text()
    finally:
        child.send_signal(signal.SIGINT)
        assert child.wait(HANG_BOUND) == 0
