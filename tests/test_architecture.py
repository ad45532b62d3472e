"""docs/architecture.md stays true: every module is on its map, the package's public names
are what it says, and no library module outgrows one job."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import kfp_profiles

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kfp_profiles"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

#: About 400 lines a module outside testing/ (600 inside): past that it is usually two jobs.
LIMITS = {"testing": 600}
LIMIT = 420


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE).with_suffix("")
    return str(relative).replace("/__init__", "/").removesuffix("__init__") or "__init__"


def test_every_module_is_on_the_map() -> None:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE))
    missing = [
        str(path.relative_to(PACKAGE))
        for path in modules()
        if str(path.relative_to(PACKAGE)) not in listed
    ]
    assert not missing, f"add a row for each to docs/architecture.md: {missing}"
    stale = [name for name in listed if not (PACKAGE / name).exists()]
    assert not stale, f"docs/architecture.md lists modules that are gone: {stale}"


def test_every_module_says_its_job_in_its_first_line() -> None:
    for path in modules():
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        if path.name == "__init__.py" and docstring is None:
            continue
        assert docstring, f"{path.relative_to(ROOT)} has no docstring"
        assert docstring.splitlines()[0].strip(), path


def test_modules_stay_small() -> None:
    too_long = {}
    for path in modules():
        part = path.relative_to(PACKAGE).parts[0]
        limit = LIMITS.get(part, LIMIT)
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            too_long[str(path.relative_to(ROOT))] = lines
    assert not too_long, f"split these along their seams: {too_long}"


def test_public_names_are_the_lazy_table() -> None:
    assert kfp_profiles.__all__ == sorted(kfp_profiles._LAZY)
    for name in kfp_profiles.__all__:
        assert getattr(kfp_profiles, name) is not None
    # The typed re-exports for type checkers name exactly the same things.
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    exported = {
        alias.asname
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
        if alias.asname == alias.name
    }
    assert exported == set(kfp_profiles._LAZY)


def test_testing_imports_no_production_module() -> None:
    for path in (PACKAGE / "testing").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = node.module or ""
                assert (node.level < 2 and not target.startswith("kfp_profiles.")) or (
                    target.startswith("kfp_profiles.testing")
                ), f"{path.relative_to(ROOT)} imports {target}"


def test_every_error_class_is_importable_from_the_errors_package() -> None:
    import inspect

    from kfp_profiles import errors

    missing = [
        f"{path.stem}.{node.name}"
        for path in sorted((PACKAGE / "errors").glob("*.py"))
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.ClassDef) and not hasattr(errors, node.name)
    ]
    assert not missing, f"re-export these from kfp_profiles/errors/__init__.py: {missing}"
    assert all(
        issubclass(value, errors.KfpProfilesError)
        for value in vars(errors).values()
        if inspect.isclass(value) and value.__name__.endswith("Error")
    )


def test_the_readme_lists_every_error_with_its_exit_status() -> None:
    from kfp_profiles.errors import exit_status_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert exit_status_table() in readme, (
        "README.md's exit-status table is stale: paste kfp_profiles.errors.exit_status_table()"
    )
