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
from .token import describe_token, describe_token_file, token_path_in_use

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
            finding = describe_token_file(token_path_in_use(resolved))
            if finding.status == "fail":
                raise TokenCheckError(profile=resolved.name, problem=finding.text)
            return finding.text
        if resolved.kind == "platform-token":
            return _bearer_detail(auth)
        if resolved.kind == "platform-oidc":
            return _oidc_detail(auth)
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


def _bearer_detail(auth: Credentials) -> str:
    """The platform-token the client would send: where from, and what its claims say."""
    from ..auth.bearer import BearerCredentials, CommandSource, expired_error
    from ..auth.bearer_token import jwt_claims
    from ..errors.base import Wording, pick
    from ..errors.bearer import TOKEN_SOURCE_WORDS

    assert isinstance(auth, BearerCredentials), type(auth).__name__
    source = auth.source
    token = auth.token()  # runs the command, reads the file or the keyring, as get_client does
    now = time.time()
    if token.expires_at is not None and token.expired(now):
        raise expired_error(token, source.fields(), now)  # a command that printed a dead one
    words = pick(TOKEN_SOURCE_WORDS, source.source) or source.source
    fields = {"path": "", "command": "", **source.fields()}
    where = (words.text("cli") if isinstance(words, Wording) else words).format(**fields)
    if isinstance(source, CommandSource):
        where += " (ran it)" if source.runs else " (cached)"
    claims = jwt_claims(token.text)
    if claims is None:
        return f"token from {where}: not a JWT, so its life is unknown (used until refused)"
    return f"token from {where}: {describe_token(claims, now=now).text}"


def _oidc_detail(auth: Credentials) -> str:
    """The ID token the client would send: how it was had, what its claims say, and checked."""
    from ..auth.oidc import OidcCredentials
    from ..auth.oidc_discovery import claims_problem, token_claims
    from ..errors import OidcTokenInvalidError

    assert isinstance(auth, OidcCredentials), type(auth).__name__
    id_token = auth.id_token()  # held, stored, refreshed, or a sign-in where check prompts
    sign_in = auth.current
    config = auth.config
    issuer = str(sign_in.document.get("issuer", "")) if sign_in is not None else ""
    issuer = issuer or config.issuer
    claims = token_claims(id_token)
    problem = (
        {"reason": "garbage"}
        if claims is None
        else claims_problem(claims, issuer=issuer, client_id=config.client_id)
    )
    if problem is not None or claims is None:
        raise OidcTokenInvalidError(
            profile=config.profile, issuer=issuer, client_id=config.client_id, **(problem or {})
        )
    if auth.sign_ins:
        how = "signed in"
    elif auth.refreshes:
        how = "refreshed (1 request)"
    else:
        how = "the stored sign-in"
    renews = "; renews silently" if sign_in is not None and sign_in.refresh_token else ""
    return f"ID token, {how}: {describe_token(claims).text}{renews}"
