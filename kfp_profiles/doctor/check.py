"""``check NAME``: a profile tried the way ``get_client`` uses it, one timed step at a time.

The steps: resolve, port-forward (where managed), authenticate, healthz, list
experiments. The first failing step stops it; the steps after it are
reported as not run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..errors import TokenCheckError
from ..models import PlatformDex
from ..transport import describe_failure
from .token import describe_token, token_path_in_use

if TYPE_CHECKING:
    from ..auth import Credentials
    from ..files import ProfilesConfig
    from ..kfp_client import ProfileClient
    from ..resolution import ResolvedProfile

__all__ = ["CHECK_STEPS", "Step", "run_check"]


@dataclass
class Step:
    """One step of ``check``: its name, outcome, time taken and what it found."""

    name: str
    status: Literal["ok", "fail", "skip"] = "skip"
    seconds: float = 0.0
    detail: str = ""
    error: BaseException | None = field(default=None, repr=False)
    #: The profile checked: its resolved name once ``resolve`` passed, else the name asked for.
    profile: str | None = None


CHECK_STEPS = ("resolve", "port-forward", "authenticate", "healthz", "list experiments")


def run_check(
    name: str | None, *, prompt: bool = False, config: ProfilesConfig | None = None
) -> Iterator[Step]:
    """Try profile ``name`` step by step; each Step is yielded when done. Stops at a failure.

    ``config``: the profiles to pick from (default: :func:`~kfp_profiles.files.load_config`).
    """
    trial = _Trial(name, prompt, config)
    runners: dict[str, Callable[[], str | None]] = {
        "resolve": trial.resolve,
        "port-forward": trial.forward,
        "authenticate": trial.authenticate,
        "healthz": trial.healthz,
        "list experiments": trial.list_experiments,
    }
    failed = False
    for step_name in CHECK_STEPS:
        step = Step(step_name)
        if failed:
            step.detail = "not run"
        else:
            started = time.perf_counter()
            try:
                detail = runners[step_name]()
            except Exception as exc:  # every failure is reported as the step's result
                step.status, step.error = "fail", exc
                step.detail = describe_failure(exc).cause
                failed = True
            else:
                step.status = "ok" if detail is not None else "skip"
                step.detail = detail if detail is not None else trial.skip_reason(step_name)
            step.seconds = time.perf_counter() - started
        step.profile = trial.resolved.name if trial.resolved is not None else name
        yield step


class _Trial:
    """What the steps of one check found so far; each step needs those before it to have passed."""

    def __init__(self, name: str | None, prompt: bool, config: ProfilesConfig | None) -> None:
        self.name = name
        self.prompt = prompt
        self.config = config
        self.resolved: ResolvedProfile | None = None
        self.base_url = ""
        self.auth: Credentials | None = None
        self.client: ProfileClient | None = None

    @property
    def checked(self) -> ResolvedProfile:
        """The profile checked, once the resolve step passed."""
        assert self.resolved is not None, "the resolve step passed"
        return self.resolved

    def resolve(self) -> str:
        from ..resolution import resolve

        resolved = self.resolved = resolve(self.name, config=self.config)
        return f"{resolved.name} ({resolved.kind}) -> {resolved.host}"

    def forward(self) -> str | None:
        from ..client import base_url_for

        self.base_url = base_url_for(self.checked)
        if not self.checked.forward_is_managed:
            return None
        return f"KFP answers at {self.base_url}"

    def authenticate(self) -> str | None:
        from ..auth import credentials_for

        resolved = self.checked
        auth = self.auth = credentials_for(resolved, prompt=self.prompt)
        if isinstance(resolved.profile, PlatformDex):
            return _dex_login_detail(resolved, resolved.profile, auth)
        if resolved.kind == "platform-in-cluster":
            finding = describe_token(token_path_in_use(resolved))
            if finding.status == "fail":
                raise TokenCheckError(profile=resolved.name, problem=finding.text)
            return finding.text
        return None

    def healthz(self) -> str:
        from ..kfp_client import ProfileClient

        assert self.auth is not None, "the authenticate step passed"
        self.client = ProfileClient(self.checked, self.auth, base_url=self.base_url)
        answer = self.client._healthz_api.healthz_service_get_healthz()
        multi_user = getattr(answer, "multi_user", None)
        mode = "multi-user" if multi_user else "single-user"
        version = getattr(answer, "tag_name", None)
        return f"{mode} KFP{' ' + version if version else ''}"

    def list_experiments(self) -> str:
        assert self.client is not None, "the healthz step passed"
        answer = self.client.list_experiments(page_size=1)
        total = getattr(answer, "total_size", None)
        listed = len(getattr(answer, "experiments", None) or [])
        count = total if isinstance(total, int) else listed
        namespace = self.checked.profile.namespace
        where = f" in namespace {namespace}" if namespace else ""
        return f"{count} experiment{'s' if count != 1 else ''}{where}"

    def skip_reason(self, step: str) -> str:
        kind = self.resolved.kind if self.resolved is not None else "?"
        if step == "port-forward":
            return f"not a managed port-forward ({kind})"
        if step == "authenticate":
            return f"no login for kind {kind}"
        return ""


def _dex_login_detail(resolved: ResolvedProfile, profile: PlatformDex, auth: Credentials) -> str:
    """Whether the authenticate step logged in (and through which door) or reused a session."""
    from ..auth.dex import DexAuth

    headers: dict[str, str] = {}
    auth.before_request(headers)  # logs in when no live session is cached
    cookie = headers.get("Cookie")
    dex = auth if isinstance(auth, DexAuth) else None
    door = dex.door if dex is not None else None
    if not cookie:
        return f"{resolved.host} needs no login (no front door)"
    if dex is not None and dex.logins:
        return (
            f"logged in as {profile.username} through {door} ({dex.last_login_requests} requests)"
        )
    return f"reused the cached session of {profile.username} ({door})"
