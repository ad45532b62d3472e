"""What does `get_client("name")` cost a new process, next to `import kfp`? (A benchmark.)

Prints, measured in one run (interleaved, median of several runs each):

- ``python -c "import kfp"``: the SDK every client needs, the floor of get_client;
- a new process doing ``get_client("dev")`` for a standalone profile (no network
  until the first call), and its ratio to the floor (goal: at most 1.20);
- with ``KFP_TIMEOUT`` set, which makes the environment layer (pydantic-settings) load;
- the breakdown of get_client's own imports after kfp (``-X importtime``): pydantic,
  pydantic-settings, keyring, requests, kfp_profiles' modules.

`benchmarks/cli_list.py` prints the `list` ratios the same way.

    .venv/bin/python benchmarks/get_client.py [--runs 11]
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.20
GET_CLIENT = "from kfp_profiles import get_client; get_client('dev')"


def wall_seconds(code: str, env: dict[str, str], runs: int) -> list[float]:
    """Wall seconds of ``runs`` new processes running ``code``."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        times.append(time.perf_counter() - started)
    return times


def breakdown(env: dict[str, str]) -> dict[str, float]:
    """Cumulative import time in ms of the packages get_client may load, beyond kfp."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", GET_CLIENT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    cumulative: dict[str, float] = {}
    for line in err.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[1].strip().isdigit():
            cumulative.setdefault(parts[2].strip(), int(parts[1]) / 1000)
    watched = ("kfp", "pydantic", "pydantic_settings", "keyring", "requests", "kfp_profiles")
    return {name: cumulative.get(name, 0.0) for name in watched}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    runs = parser.parse_args().runs
    compileall.compile_dir(str(ROOT / "kfp_profiles"), quiet=1)  # as an install would
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "profiles.toml"
        path.write_text('[profiles.dev]\nkind = "standalone-in-cluster"\n', encoding="utf-8")
        path.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KFP_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["KFP_PROFILES_FILE"] = str(path)
        with_variable = {**env, "KFP_TIMEOUT": "20"}
        cases = {
            "import kfp (the floor)": ("import kfp", env),
            "get_client('dev')": (GET_CLIENT, env),
            "get_client('dev') with KFP_TIMEOUT set": (GET_CLIENT, with_variable),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(runs):  # interleaved: a busy moment hits every case alike
            for name, (code, case_env) in cases.items():
                samples[name] += wall_seconds(code, case_env, 1)
        floor = statistics.median(samples["import kfp (the floor)"])
        print(f"{'new process':45} {'median ms':>10} {'best ms':>8} {'/ kfp':>7}")
        for name, times in samples.items():
            median = statistics.median(times)
            print(f"{name:45} {median * 1000:10.0f} {min(times) * 1000:8.0f} {median / floor:7.2f}")
        print(f"goal: get_client at most {GOAL:.2f} x import kfp")
        print("\ncumulative import ms in a get_client process (-X importtime):")
        for name, ms in breakdown(env).items():
            print(f"  {name:20} {ms:7.1f}" if ms else f"  {name:20} not imported")


if __name__ == "__main__":
    main()
