"""How fast is `kfp-profiles list` on a 200-profile file? (A benchmark, not a test.)

Prints, side by side and measured in one run (interleaved, median of several
runs each), the wall time of:

- ``kfp-profiles list`` on a file of 200 profiles of all four kinds, every one
  validated by the same pydantic models the library uses;
- ``python -c "import kfp"``: what any command that imported the SDK would pay;
- ``python -c "import tomllib, click; from pydantic import BaseModel"``: the
  floor, the libraries `list` cannot do without.

Goals (issue 4): at most 45% of `import kfp`, at most 1.8 times the floor.
A fourth row, the floor plus one pydantic model defined and validated, is
printed for reference: it shows how much of the distance to the floor is
pydantic's own cost of having a model at all.

    .venv/bin/python benchmarks/cli_list.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROFILES = 200
GOAL_VS_KFP = 0.45
GOAL_VS_FLOOR = 1.8


#: The floor plus what any pydantic model costs: `Field` and the plugin loader
#: (which imports importlib.metadata) load when the first model is built.
ONE_MODEL = (
    "import sys\n"
    "if sys.version_info >= (3, 11): import tomllib\n"
    "else: import tomli\n"
    "import click\n"
    "from pydantic import BaseModel, Field\n"
    "class Profile(BaseModel):\n"
    "    host: str = Field(default='', description='URL')\n"
    "Profile.model_validate({'host': 'http://localhost:3000'})\n"
)


def profiles_file(folder: Path) -> Path:
    """200 valid profiles, the four kinds in turn, with a realistic spread of fields."""
    lines = [
        '#:schema ./profiles.schema.json\n# 200 profiles for the benchmark\ndefault = "p000"\n'
    ]
    for n in range(PROFILES):
        name = f"p{n:03d}"
        kind = n % 4
        if kind == 0:
            body = (
                'kind = "standalone-port-forward"\n'
                f'local_port = {3000 + n}\nkube_context = "kind-{n}"\n'
            )
        elif kind == 1:
            body = (
                'kind = "platform-dex"\n'
                f'host = "https://kf{n}.example.com/pipeline"\n'
                f'username = "user{n}@example.com"\n'
                f'namespace = "kubeflow-user-{n}"\n'
                'connector = "ldap"\nca_bundle = "~/certs/corp-ca.pem"\ntimeout = 20\n'
            )
        elif kind == 2:
            body = f'kind = "platform-in-cluster"\nnamespace = "team-{n}"\n'
        else:
            body = f'kind = "standalone-in-cluster"\nk8s_namespace = "kfp-{n}"\n'
        lines.append(f"\n# profile number {n}\n[profiles.{name}]\n{body}")
    path = folder / "profiles.toml"
    path.write_text("".join(lines), encoding="utf-8")
    path.chmod(0o600)
    return path


def compile_package() -> None:
    """Write kfp_profiles' bytecode, as ``pip install`` does for an installed package.

    An editable install run with PYTHONDONTWRITEBYTECODE (set on many CI machines)
    would otherwise recompile every module of ours on every run, while the libraries
    it is compared with load their .pyc files: a cost no user of an installed package
    pays, and one that would blur what this benchmark measures.
    """
    import compileall

    import kfp_profiles

    compileall.compile_dir(Path(kfp_profiles.__file__).parent, quiet=1)


def list_command() -> list[str]:
    script = shutil.which("kfp-profiles", path=str(Path(sys.executable).parent))
    return [script, "list"] if script else [sys.executable, "-m", "kfp_profiles", "list"]


def time_once(argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one run of ``argv``."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each command (median)")
    args = parser.parse_args()

    compile_package()
    toml_module = "tomllib" if sys.version_info >= (3, 11) else "tomli"
    with tempfile.TemporaryDirectory(prefix="kfp-bench-") as tmp:
        path = profiles_file(Path(tmp))
        env = {**os.environ, "KFP_PROFILES_FILE": str(path), "HOME": tmp}
        env.pop("KFP_PROFILE", None)
        commands = {
            f"kfp-profiles list ({PROFILES} profiles)": list_command(),
            "python -c 'import kfp'": [sys.executable, "-c", "import kfp"],
            "floor: tomllib, click, pydantic.BaseModel": [
                sys.executable,
                "-c",
                f"import {toml_module}, click; from pydantic import BaseModel",
            ],
            # Not a goal, an explanation: what the floor costs once one model exists.
            "reference: floor + 1 model validated": [sys.executable, "-c", ONE_MODEL],
        }

        shown = subprocess.run(list_command(), env=env, capture_output=True, text=True)
        rows = shown.stdout.splitlines()[1:]
        assert len(rows) == PROFILES and "broken" not in shown.stdout, shown.stdout[-500:]

        for argv in commands.values():  # warm the page cache and the .pyc files
            time_once(argv, env)
        samples: dict[str, list[float]] = {label: [] for label in commands}
        for _ in range(args.runs):
            for label, argv in commands.items():  # interleaved: load drifts hit all alike
                samples[label].append(time_once(argv, env))

    width = max(len(label) for label in samples)
    print(f"{'command'.ljust(width)}   median      best   "
          f"(n={args.runs}, Python {sys.version.split()[0]})")  # fmt: skip
    for label, values in samples.items():
        print(
            f"{label.ljust(width)}   {statistics.median(values) * 1000:6.0f} ms "
            f"{min(values) * 1000:6.0f} ms"
        )
    print()
    # The median is the goal's measure; the best run, the least disturbed by a shared
    # machine, shows whether a miss is the code or the noise.
    for measure, pick in (("median", statistics.median), ("best", min)):
        listing, kfp, floor, _ = (pick(values) for values in samples.values())
        vs_kfp, vs_floor = listing / kfp, listing / floor
        print(
            f"{measure:6}  list / import kfp = {vs_kfp:.2f} (goal <= {GOAL_VS_KFP}: "
            f"{'met' if vs_kfp <= GOAL_VS_KFP else 'NOT met'})   list / floor = {vs_floor:.2f} "
            f"(goal <= {GOAL_VS_FLOOR}: {'met' if vs_floor <= GOAL_VS_FLOOR else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
