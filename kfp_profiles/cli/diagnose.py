"""Commands that try a profile against the real thing: check, doctor, port-forward."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import click

from ..errors import ApiError, HostOptionError, KfpProfilesError
from ._common import (
    PROG,
    error_line,
    file_option,
    person_at_terminal,
    profile_argument,
    profiles_config,
    profiles_files,
)

if TYPE_CHECKING:
    from ..doctor.check import Step
    from ..doctor.findings import Finding

#: Exit status of a failed ``check`` step whose error is neither ours nor the SDK's.
_OTHER_FAILURE_EXIT = 1


def _exit_code_of(error: BaseException | None) -> int:
    if isinstance(error, KfpProfilesError):
        return error.exit_code
    if type(error).__name__ == "ApiException":  # kfp_server_api's, raised by the SDK
        return ApiError.exit_code
    return _OTHER_FAILURE_EXIT


@click.command()
@profile_argument(required=False)
@click.pass_context
def check(ctx: click.Context, name: str | None) -> None:
    """Try profile NAME step by step, timing each: resolve, port-forward, authenticate,
    healthz, list experiments. The exit status is 0 only when every step passed."""
    from ..doctor.check import CHECK_STEPS, run_check

    width = max(len(step) for step in CHECK_STEPS)
    failed: Step | None = None
    profile = name
    for step in run_check(name, prompt=person_at_terminal(), config=profiles_config()):
        timing = f"{step.seconds:6.2f} s" if step.status != "skip" else " " * 8
        # A failure is said once, on the error line below: its step line only marks it.
        detail = "" if step.status == "fail" else step.detail
        click.echo(
            f"{step.name.ljust(width)}  {step.status.upper():4}  {timing}  {detail}".rstrip()
        )
        profile = step.profile
        if step.status == "fail":
            failed = step
    if failed is not None:
        reason = failed.error.cli_message if isinstance(failed.error, KfpProfilesError) else None
        click.echo(
            error_line(f"check of profile '{profile or '?'}' failed: {reason or failed.detail}"),
            err=True,
        )
        ctx.exit(_exit_code_of(failed.error))
    click.echo(f"Profile '{profile}' works.")


_MARKS = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "info": "--"}


@click.command()
@profile_argument(required=False)
@click.option(
    "--host", metavar="URL", help="Fingerprint the front door at URL instead of the profile's host."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0, 3600, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Bound on probing --host (default 10 s; a profile's host: its own timeout).",
)
@click.option("--offline", is_flag=True, help="Do not contact the profile's host.")
@click.pass_context
def doctor(
    ctx: click.Context, name: str | None, host: str | None, timeout: float | None, offline: bool
) -> None:
    """Diagnose the machine and profile NAME (default: the selected one).

    Reports the profiles file and its permissions, the keyring backend, whether
    this is a pod, the ServiceAccount token (audience, expiry, namespace; never
    the token), kubectl and its contexts, and which front door guards the
    profile's host (oauth2-proxy, oidc-authservice, none; Dex connectors and
    approval page), with the profile fields it suggests; for platform-token
    and platform-oidc profiles, the profile's token (never shown), whether the
    front door takes bearer tokens, and the OIDC provider's discovery document
    and flows. Exit status 1 when something failed.
    """
    from ..doctor.report import run_doctor

    if host is not None:
        _check_host_option(host)
    chosen_by = "from --file" if file_option() else None
    run = run_doctor(
        name,
        host=host,
        probe=not offline,
        files=profiles_files(),
        files_chosen_by=chosen_by,
        timeout=timeout,
    )
    findings = list(_each_printed(run))
    if any(finding.status == "fail" for finding in findings):
        ctx.exit(1)


def _check_host_option(host: str) -> None:
    """--host passes the rule a profile's `host` passes (scheme and a host), or HostOptionError."""
    from ..models import check_url

    try:
        check_url(host)
    except ValueError:
        raise HostOptionError(host=host) from None


def _each_printed(findings: Iterable[Finding]) -> Iterator[Finding]:
    """Print each finding as soon as it is known (a slow probe comes last)."""
    for finding in findings:
        click.echo(f"{finding.topic:<11} {_MARKS[finding.status]:<4}  {finding.text}")
        yield finding


@click.command(name="port-forward")
@profile_argument()
def port_forward(name: str) -> None:
    """Run the kubectl port-forward of profile NAME in the foreground (Ctrl-C stops it)."""
    from ..portforward import spec_for
    from ..resolution import resolve as resolve_profile
    from .foreground import run_foreground

    spec = spec_for(resolve_profile(name))  # NotAPortForwardProfileError for another kind
    status = run_foreground(spec)
    if status:
        raise click.exceptions.Exit(status)


COMMANDS = [check, doctor, port_forward]

__all__ = ["COMMANDS", "PROG"]
