"""The package as a user installs it: the wheel builds, its metadata is complete, and a
fresh virtualenv with only that wheel installed runs `kfp-profiles --version` and imports
`get_client`.

The fresh venv borrows the test venv's already installed dependencies (kfp and the rest,
through a .pth line) instead of downloading them again; kfp_profiles itself comes from the
wheel alone, which the test checks.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import kfp_profiles

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        timeout=600,
    )
    (built,) = dist.glob("kfp_profiles-*.whl")
    return built


def test_the_wheel_carries_the_package_and_complete_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = Parser().parsestr(
            archive.read(f"kfp_profiles-{kfp_profiles.__version__}.dist-info/METADATA").decode()
        )
        entry_points = archive.read(
            f"kfp_profiles-{kfp_profiles.__version__}.dist-info/entry_points.txt"
        ).decode()
    assert "kfp_profiles/py.typed" in names and "kfp_profiles/cli/__init__.py" in names
    assert not [name for name in names if name.startswith("tests/")]
    assert metadata["Name"] == "kfp-profiles"
    assert metadata["Version"] == kfp_profiles.__version__
    assert metadata["Summary"] and metadata["Requires-Python"] == ">=3.10"
    assert metadata["License-Expression"] == "Apache-2.0"
    requires = metadata.get_all("Requires-Dist") or []
    for dependency in ("kfp", "requests", "pydantic-settings", "keyring", "tomli-w"):
        assert any(line.lower().startswith(dependency) for line in requires), dependency
    assert "kfp-profiles = kfp_profiles.cli:main" in entry_points
    assert str(metadata.get_payload()).startswith("# kfp-profiles")  # the README


def test_a_fresh_venv_runs_the_installed_command(wheel: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True)
    python = fresh / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         str(wheel)],
        check=True,
        timeout=300,
    )  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    version = subprocess.run(
        [str(fresh / "bin" / "kfp-profiles"), "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout == f"kfp-profiles, version {kfp_profiles.__version__}\n"
    imported = subprocess.run(
        [str(python), "-c", "import kfp_profiles; from kfp_profiles import get_client; "
         "print(kfp_profiles.__file__)"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(site)  # the wheel's copy, not the checkout
