"""``kfp-profiles import``: profiles from Elyra's KFP runtimes or the SDK's context.json."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ._common import profiles_config

if TYPE_CHECKING:
    from ..importing import ImportReport, ImportResult, Source

#: The statuses in the summary's order, and the words of a dry run where they differ.
_ORDER = ("added", "replaced", "updated", "unchanged", "skipped", "failed")
_DRY = {"added": "would add", "replaced": "would replace", "updated": "would update"}


@click.command(name="import")
@click.option(
    "--from-kfp-context",
    "from_context",
    is_flag=True,
    help="Import the KFP SDK's ~/.config/kfp/context.json instead of Elyra's runtimes.",
)
@click.option(
    "--host",
    metavar="URL",
    help="With --from-kfp-context: the KFP URL (else KF_PIPELINES_ENDPOINT).",
)
@click.option("--username", help="With --from-kfp-context: a Dex user, for a platform-dex profile.")
@click.option("--namespace", help="With --from-kfp-context: the namespace, if not the file's.")
@click.option(
    "--name", metavar="NAME", help="With --from-kfp-context: the profile's name (kfp-context)."
)
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option(
    "--overwrite", is_flag=True, help="Replace profiles of the same name with other values."
)
def import_command(from_context: bool, **options: Any) -> int:
    """Write profiles from what you already have; secrets go to the OS keyring.

    Without options: Elyra's Kubeflow Pipelines runtime configurations, from each
    folder of ELYRA_METADATA_PATH and Jupyter's data folder (metadata/runtimes/).
    With --from-kfp-context: the KFP SDK's context.json (its cookies are never
    imported). Run again, it changes nothing; the files it reads are never changed.
    """
    from ..importing import import_profiles

    source: Source = "kfp-context" if from_context else "elyra"
    report = import_profiles(source, config=profiles_config(), **options)
    if not report.results:
        where = ", ".join(str(path) for path in report.looked_in)
        click.echo(
            f"No Elyra runtimes found in {where} (set ELYRA_METADATA_PATH or JUPYTER_DATA_DIR "
            "if they are elsewhere)."
        )
        return 0
    _print(report)
    return 2 if report.failed else 0


def _print(report: ImportReport) -> None:
    folder = None
    heading = "Elyra runtimes" if report.source == "elyra" else "The KFP SDK's context"
    for result in report.results:
        if result.source.parent != folder:
            folder = result.source.parent
            click.echo(f"{heading} in {folder}:")
        click.echo(f"  {result.source.name}: {_line(result, report.dry_run)}")
        if report.dry_run and result.toml and result.status not in ("skipped", "unchanged"):
            for line in result.toml.splitlines():
                click.echo(f"      {line}")
    counts = ", ".join(
        f"{report.counts[status]} {_words(status, report.dry_run)}"
        for status in _ORDER
        if report.counts.get(status)
    )
    if report.dry_run:
        click.echo(f"Dry run, nothing written: {counts} (profiles file {report.profiles_file}).")
    else:
        click.echo(f"{counts[:1].upper()}{counts[1:]} (profiles file {report.profiles_file}).")


def _line(result: ImportResult, dry_run: bool) -> str:
    if result.status == "failed":
        message = result.error.cli_message if result.error is not None else "not imported"
        return f"failed: {message}"
    if result.status == "skipped":
        fix = "; pass --overwrite to replace it" if result.conflict else ""
        return f"skipped: {result.reason}{fix}"
    words = _words(result.status, dry_run)
    notes = "".join(f"; {note}" for note in result.notes)
    if result.status == "unchanged":
        return f"profile '{result.profile}' unchanged{notes}"
    return f"{words} profile '{result.profile}'{notes}"


def _words(status: str, dry_run: bool) -> str:
    return _DRY.get(status, status) if dry_run else status


COMMANDS = [import_command]
