"""What ``kfp-profiles doctor`` and ``kfp-profiles check`` find out.

``doctor`` reports what a user would otherwise debug by hand: which profiles
file is used and its permissions, the keyring backend and whether it answers,
whether this is a pod, the ServiceAccount token with its decoded audience,
expiry and namespace (never the token), ``kubectl`` and its contexts, and a
fingerprint of the front door at a host: none, oauth2-proxy (first or second
config), oidc-authservice, the Dex connectors offered and whether Dex will
show its approval page, with the profile it suggests.

``check`` tries a profile the way ``get_client`` uses it, one timed step at a
time: resolve, port-forward (where managed), authenticate, healthz, list
experiments. The first failing step stops it.

The fingerprint is a generator of HTTP requests in the style of
:mod:`kfp_profiles.auth.dex_flow` (no I/O of its own), run over the profile's
TLS, CA and proxy settings by :func:`kfp_profiles.auth.http.run_flow`. It
never logs in: it only follows the door's first redirects into Dex.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urljoin, urlsplit

from .constants import DEFAULT_TOKEN_PATH, POD_NAMESPACE_PATH
from .errors import ConfigError, ConnectionFailedError, KfpProfilesError

if TYPE_CHECKING:
    from .auth.dex_flow import HttpRequest, HttpResponse
    from .files import ProfilesConfig
    from .resolution import ResolvedProfile

Status = Literal["ok", "warn", "fail", "info"]

HEALTHZ_PATH = "/apis/v2beta1/healthz"
TOKEN_AUDIENCE = "pipelines.kubeflow.org"
_KUBECTL_TIMEOUT = 10.0
_MAX_HOPS = 4


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report."""

    topic: str
    status: Status
    text: str


# --- the front door ---------------------------------------------------------------------------

DoorName = Literal["none", "oauth2-proxy", "oauth2-proxy-first", "oidc-authservice", "unknown"]

DOOR_DESCRIPTIONS: dict[str, str] = {
    "none": "no front door: the KFP API answers with no login (standalone KFP, or a port-forward)",
    "oauth2-proxy": "second config, Kubeflow 1.9.1 and later: API paths answer 401",
    "oauth2-proxy-first": "first config, Kubeflow 1.9.0: every path redirects into Dex",
    "oidc-authservice": "Kubeflow 1.8 and earlier: every path redirects into Dex",
    "unknown": "not a front door this tool knows",
}


@dataclass(frozen=True)
class FrontDoor:
    """What stands in front of the KFP API at a URL."""

    url: str
    door: DoorName
    #: Why the door is what it is, or what was seen when it is unknown.
    evidence: str
    multi_user: bool | None = None
    kfp_version: str | None = None
    connectors: tuple[str, ...] = ()
    #: "shown", "not shown" or "auto-approved"; None when there is no Dex.
    approval: str | None = None
    old_dex_paths: bool = False

    @property
    def description(self) -> str:
        return DOOR_DESCRIPTIONS[self.door]

    def suggestion(self) -> dict[str, Any]:
        """The profile fields this door calls for; `<...>` marks what only the user knows."""
        if self.door in ("oauth2-proxy", "oauth2-proxy-first", "oidc-authservice"):
            suggested: dict[str, Any] = {"kind": "platform-dex", "host": self.url}
            suggested["username"] = "<your Dex login, e.g. user@example.com>"
            if self.connectors:
                suggested["connector"] = self.connectors[0]
            suggested["namespace"] = "<your profile namespace, e.g. kubeflow-user-example-com>"
            return suggested
        if self.door == "none":
            parts = urlsplit(self.url)
            if self.multi_user:
                return {"kind": "platform-in-cluster", "host": self.url}
            local = parts.hostname in ("localhost", "127.0.0.1", "::1")
            if local and parts.port and parts.path in ("", "/"):
                return {"kind": "standalone-port-forward", "local_port": parts.port}
            return {"kind": "standalone-in-cluster", "host": self.url}
        return {}


FingerprintFlow = Generator["HttpRequest", "HttpResponse", FrontDoor]


def fingerprint_flow(url: str) -> FingerprintFlow:
    """Find the door at KFP API URL ``url``, one request at a time (see the module docstring)."""
    from .auth.dex_flow import HttpRequest, oauth2_start_url, query_params
    from .transport import origin

    url = url.rstrip("/")
    target = url + HEALTHZ_PATH
    response = None
    for _ in range(_MAX_HOPS):
        response = yield HttpRequest("GET", target)
        location = response.location
        if location and not _is_dex_auth(location) and origin(location) == origin(url):
            target = location  # e.g. a trailing-slash redirect on the gateway
            continue
        break
    assert response is not None
    status = response.status
    content_type = (response.header("Content-Type") or "").lower()

    if 200 <= status < 300:
        payload = _json_object(response.body_text)
        if payload is None:
            return FrontDoor(
                url, "unknown", f"healthz answered {status} {content_type or 'without JSON'}"
            )
        multi_user = payload.get("multi_user")
        return FrontDoor(
            url,
            "none",
            f"healthz answered {status} with no login",
            multi_user=multi_user if isinstance(multi_user, bool) else None,
            kfp_version=payload.get("tag_name") or None,
        )

    location = response.location
    if location and _is_dex_auth(location):
        redirect_uri = query_params(location).get("redirect_uri", "")
        cookies = " ".join(response.header_values("Set-Cookie"))
        if "/authservice/" in redirect_uri or "oidc_state_csrf" in cookies:
            door: DoorName = "oidc-authservice"
            evidence = "the API path redirects into Dex with an /authservice/ callback"
        else:
            door = "oauth2-proxy-first"
            evidence = "the API path redirects into Dex with an /oauth2/ callback"
        dex = yield from _read_dex(location, door)
        return FrontDoor(url, door, evidence, **dex)

    if status in (401, 403):
        started = yield HttpRequest("GET", oauth2_start_url(url))
        dex_url = started.location
        if dex_url and _is_dex_auth(dex_url):
            evidence = f"the API path answers {status} and /oauth2/start leads into Dex"
            dex = yield from _read_dex(dex_url, "oauth2-proxy")
            return FrontDoor(url, "oauth2-proxy", evidence, **dex)
        return FrontDoor(
            url,
            "unknown",
            f"healthz answered {status} but /oauth2/start answered {started.status}, not Dex",
        )

    if status == 404:
        hint = (
            " (behind a Kubeflow gateway the API is under /pipeline)"
            if "/pipeline" not in url
            else ""
        )
        return FrontDoor(url, "unknown", f"no KFP API at {target}: 404{hint}")
    seen = f"redirect to {urlsplit(location).path}" if location else content_type or "no body"
    return FrontDoor(url, "unknown", f"healthz answered {status} ({seen})")


def _read_dex(
    dex_auth_url: str, door: DoorName
) -> Generator[HttpRequest, HttpResponse, dict[str, Any]]:
    """Connectors offered, old paths, and the approval page, from Dex's /auth answer."""
    from .auth.dex_flow import HttpRequest, query_params

    params = query_params(dex_auth_url)
    if door == "oidc-authservice":
        approval = "auto-approved"  # Kubeflow's Dex config sets skipApprovalScreen
    elif params.get("approval_prompt") == "force" or params.get("prompt") == "consent":
        approval = "shown"
    else:
        approval = "not shown"
    response = yield HttpRequest("GET", dex_auth_url)
    connectors: list[str] = []
    old_paths = False
    location = response.location
    if location:
        connector = _connector_of(location)
        if connector:
            connectors.append(connector)
            query = query_params(location)
            old_paths = "req" in query and "client_id" not in query
    elif response.status == 200:
        for link in re.findall(r"""href\s*=\s*["']([^"']+)["']""", response.body_text):
            connector = _connector_of(urljoin(response.url, html.unescape(link)))
            if connector and connector not in connectors:
                connectors.append(connector)
    if approval == "shown" and old_paths:
        approval = "auto-approved"
    return {"connectors": tuple(connectors), "approval": approval, "old_dex_paths": old_paths}


def _is_dex_auth(url: str) -> bool:
    return urlsplit(url).path.rstrip("/").endswith("/dex/auth")


def _connector_of(url: str) -> str | None:
    found = re.search(r"/dex/auth/([^/?#]+)", urlsplit(url).path)
    return found.group(1) if found else None


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def fingerprint(
    url: str,
    *,
    profile: str = "doctor",
    verify_tls: bool = True,
    ca_bundle: str | None = None,
    proxy: str | None = None,
    timeout: float = 10.0,
) -> FrontDoor:
    """Run :func:`fingerprint_flow` over real HTTP (imports ``requests``)."""
    from .auth.dex_flow import DexLoginSettings
    from .auth.http import run_flow

    settings = DexLoginSettings(
        profile=profile,
        api_url=url,
        username="",
        verify_tls=verify_tls,
        ca_bundle=ca_bundle,
        proxy=proxy,
        timeout=timeout,
    )
    return run_flow(fingerprint_flow(url), settings, max_requests=_MAX_HOPS + 3)


def fingerprint_profile(resolved: ResolvedProfile) -> FrontDoor:
    profile = resolved.profile
    return fingerprint(
        resolved.host,
        profile=resolved.name,
        verify_tls=profile.verify_tls,
        ca_bundle=profile.ca_bundle,
        proxy=profile.proxy,
        timeout=min(profile.timeout, 10.0),
    )


def describe_door(door: FrontDoor) -> list[str]:
    """The fingerprint as report lines."""
    lines = [f"{door.url}: {door.door} ({door.description})", f"seen: {door.evidence}"]
    if door.door == "none":
        mode = {True: "multi-user", False: "single-user", None: "mode unknown"}[door.multi_user]
        version = f", KFP {door.kfp_version}" if door.kfp_version else ""
        lines.append(f"KFP: {mode}{version}")
    if door.approval is not None:
        offered = ", ".join(door.connectors) if door.connectors else "none seen"
        old = "; old Dex paths (v2.28 or earlier)" if door.old_dex_paths else ""
        lines.append(f"Dex connectors: {offered}; approval page: {door.approval}{old}")
    return lines


def render_suggestion(suggested: dict[str, Any]) -> list[str]:
    """TOML lines for the suggested profile fields."""
    lines = []
    for key, value in suggested.items():
        rendered = json.dumps(value) if isinstance(value, str) else str(value).lower()
        lines.append(f"{key} = {rendered}")
    return lines


# --- the ServiceAccount token ---------------------------------------------------------------


def decode_jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, unverified (for display only); None when it is not a JWT."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def describe_token(path: str, now: float | None = None) -> Finding:
    """Audience, expiry, namespace and ServiceAccount of the token at ``path``; never the token."""
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return Finding("token", "info", f"{path} does not exist (not a pod with the token volume)")
    except (OSError, UnicodeError) as exc:
        return Finding("token", "fail", f"{path} cannot be read ({type(exc).__name__})")
    if not token:
        return Finding("token", "fail", f"{path} is empty")
    claims = decode_jwt_claims(token)
    if claims is None:
        return Finding("token", "fail", f"{path} does not hold a JWT")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience] if audience else []
    kubernetes = claims.get("kubernetes.io")
    kubernetes = kubernetes if isinstance(kubernetes, dict) else {}
    namespace = kubernetes.get("namespace")
    account = kubernetes.get("serviceaccount")
    account_name = account.get("name") if isinstance(account, dict) else None
    parts = [f"audience {', '.join(map(str, audiences)) or 'none'}"]
    status: Status = "ok"
    expiry = claims.get("exp")
    if isinstance(expiry, (int, float)):
        left = expiry - (now if now is not None else time.time())
        when = datetime.fromtimestamp(expiry, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        if left <= 0:
            status = "fail"
            parts.append(f"expired {when} ({_duration(-left)} ago)")
        else:
            parts.append(f"expires {when} (in {_duration(left)})")
    if namespace:
        parts.append(f"namespace {namespace}")
    if account_name:
        parts.append(f"service account {account_name}")
    if TOKEN_AUDIENCE not in audiences:
        status = "fail"
        parts.append(f"the KFP API needs audience {TOKEN_AUDIENCE}")
    return Finding("token", status, f"{path}: " + "; ".join(parts))


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"


# --- the rest of the machine -----------------------------------------------------------------


def check_files() -> tuple[list[Finding], ProfilesConfig | KfpProfilesError]:
    """The profiles files in use: found, permissions, profiles, broken ones, default.

    Also returns the loaded profiles (or why they did not load), so that the
    profile is resolved from what was checked, without reading the files again.
    """
    from .files import FILE_ENV, check_permissions, load_config, profile_files
    from .models import validate_profile

    findings: list[Finding] = []
    chosen_by = f"from {FILE_ENV}" if os.environ.get(FILE_ENV) else "the default location"
    for path in profile_files():
        if not path.exists():
            findings.append(
                Finding(
                    "file", "warn", f"{path} ({chosen_by}) does not exist: run `kfp-profiles init`"
                )
            )
            continue
        try:
            permissions = check_permissions(path, warn=False)  # reported here, not logged
        except KfpProfilesError as exc:
            findings.append(Finding("file", "fail", str(exc)))
            continue
        mode = permissions.mode
        if permissions.readable_by_others:
            findings.append(
                Finding(
                    "file",
                    "warn",
                    f"{path} is mode {mode:04o}, readable by others: run `chmod 600 {path}`",
                )
            )
        else:
            findings.append(Finding("file", "ok", f"{path} ({chosen_by}), mode {mode:04o}"))
    try:
        config = load_config()
    except KfpProfilesError as exc:
        findings.append(Finding("profiles", "fail", str(exc)))
        return findings, exc
    broken = 0
    for name, entry in config.profiles.items():
        try:
            validate_profile(name, entry.data, str(entry.file))
        except KfpProfilesError as exc:
            broken += 1
            findings.append(Finding("profiles", "fail", str(exc)))
    default = f"default '{config.default}'" if config.default else "no default"
    if config.default and config.default not in config.profiles:
        findings.append(
            Finding("profiles", "fail", f"the default '{config.default}' is not a profile")
        )
    status: Status = "ok" if not broken else "warn"
    count = len(config.profiles)
    findings.append(
        Finding(
            "profiles",
            status,
            f"{count} profile{'s' if count != 1 else ''}, {broken} broken, {default}",
        )
    )
    return findings, config


def check_keyring() -> Finding:
    """Which keyring backend answers, without reading any secret.

    A missing keyring is a warning, not a failure: KFP_PASSWORD works without one.
    """
    from . import secrets
    from .errors import KeyringUnavailableError

    fix = (
        "passwords must come from KFP_PASSWORD; start a Secret Service or choose a backend "
        "with PYTHON_KEYRING_BACKEND to store them"
    )
    try:
        backend = secrets.backend_name()
        secrets.keyring_get(secrets.PASSWORD_SERVICE, "kfp-profiles-doctor-probe")
    except KeyringUnavailableError as exc:
        return Finding("keyring", "warn", f"unusable ({exc.fields['reason']}): {fix}")
    except Exception as exc:  # a backend failing in a way keyring does not wrap
        return Finding("keyring", "warn", f"unusable ({secrets.failure_reason(exc)}): {fix}")
    if secrets.stores_nothing():
        return Finding("keyring", "warn", f"{backend} stores nothing: {fix}")
    return Finding("keyring", "ok", f"{backend} answers")


def check_in_cluster() -> Finding:
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    try:
        namespace = Path(POD_NAMESPACE_PATH).read_text(encoding="utf-8").strip()
    except OSError:
        namespace = ""
    if host or namespace:
        where = f"namespace {namespace}" if namespace else "namespace unknown"
        return Finding("in-cluster", "info", f"in a pod ({where})")
    return Finding("in-cluster", "info", "not in a pod (KUBERNETES_SERVICE_HOST is unset)")


def token_path_in_use(resolved: ResolvedProfile | None) -> str:
    if resolved is not None and resolved.kind == "platform-in-cluster":
        return str(getattr(resolved.profile, "token_path"))  # noqa: B009
    return os.environ.get("KF_PIPELINES_SA_TOKEN_PATH") or DEFAULT_TOKEN_PATH


def check_kubectl(executable: str = "kubectl") -> Finding:
    """kubectl's version and contexts, read from the kubeconfig only (no cluster is asked)."""
    found = shutil.which(executable)
    if found is None:
        return Finding(
            "kubectl",
            "info",
            f"'{executable}' is not on PATH (needed by port-forward profiles only)",
        )

    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(
                [found, *args],
                capture_output=True,
                text=True,
                timeout=_KUBECTL_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    version = "version unknown"
    reported = run("version", "--client", "-o", "json")
    if reported:
        info = _json_object(reported) or {}
        client = info.get("clientVersion")
        if isinstance(client, dict) and client.get("gitVersion"):
            version = str(client["gitVersion"])
    contexts = (run("config", "get-contexts", "-o", "name") or "").split()
    current = run("config", "current-context")
    if contexts:
        listed = ", ".join(f"{c} (current)" if c == current else c for c in contexts)
        return Finding("kubectl", "ok", f"{found} {version}; contexts: {listed}")
    return Finding("kubectl", "warn", f"{found} {version}; no contexts in the kubeconfig")


def run_doctor(
    name: str | None, *, host: str | None = None, probe: bool = True
) -> Iterator[Finding]:
    """Every finding, in report order; profile-specific ones for ``name`` (or the selected one)."""
    from .resolution import PROFILE_ENV, resolve

    file_findings, loaded = check_files()
    yield from file_findings
    yield check_keyring()
    yield check_in_cluster()

    resolved: ResolvedProfile | None = None
    problem: KfpProfilesError | None = None
    if isinstance(loaded, KfpProfilesError):
        problem = loaded
    else:
        try:
            resolved = resolve(name, config=loaded)
        except KfpProfilesError as exc:
            problem = exc
    if resolved is not None:
        yield Finding("profile", "ok", f"{resolved.name} ({resolved.kind}) -> {resolved.host}")
    else:
        # A profile asked for, by argument or KFP_PROFILE, that does not resolve makes
        # get_client() fail: a failure. With none asked for, nothing selected is a note.
        status: Status = "fail" if name or os.environ.get(PROFILE_ENV) else "info"
        yield Finding("profile", status, str(problem))
    yield describe_token(token_path_in_use(resolved))
    kubectl = "kubectl"
    if resolved is not None and resolved.kind == "standalone-port-forward":
        kubectl = str(getattr(resolved.profile, "kubectl"))  # noqa: B009
    yield check_kubectl(kubectl)

    if not probe:
        return
    url = host
    if url is None and resolved is not None:
        if resolved.kind == "platform-in-cluster" and not os.environ.get("KUBERNETES_SERVICE_HOST"):
            yield Finding(
                "front door", "info", "not probed: the profile's host is reached from pods"
            )
            return
        url = resolved.host
    if url is None:
        return
    try:
        if host is not None:
            door = fingerprint(host)
        else:
            assert resolved is not None
            door = fingerprint_profile(resolved)
    except ConnectionFailedError as exc:
        cause = f"nothing answers at {url}: {exc.fields.get('cause', exc)}"
        if resolved is not None and host is None and resolved.forward_is_managed:
            yield Finding(
                "front door",
                "info",
                f"{cause}; get_client starts the port-forward when needed "
                f"(or run `kfp-profiles port-forward {resolved.name}`)",
            )
        else:
            yield Finding("front door", "fail", cause)
        return
    except KfpProfilesError as exc:
        yield Finding("front door", "fail", str(exc))
        return
    status = "warn" if door.door == "unknown" else "ok"
    for line in describe_door(door):
        yield Finding("front door", status, line)
    suggested = door.suggestion()
    if suggested:
        mismatch = resolved is not None and host is None and resolved.kind != suggested["kind"]
        yield Finding(
            "suggests",
            "warn" if mismatch else "info",
            "; ".join(render_suggestion(suggested))
            + (f" (the profile is of kind {resolved.kind})" if mismatch and resolved else ""),
        )


# --- check NAME ----------------------------------------------------------------------------


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


def run_check(name: str | None, *, prompt: bool = False) -> Iterator[Step]:
    """Try profile ``name`` step by step; each Step is yielded when done. Stops at a failure."""
    state: dict[str, Any] = {}

    def resolve_step() -> str:
        from .resolution import resolve

        resolved = resolve(name)
        state["resolved"] = resolved
        return f"{resolved.name} ({resolved.kind}) -> {resolved.host}"

    def forward_step() -> str | None:
        from .client import base_url_for

        resolved: ResolvedProfile = state["resolved"]
        state["base_url"] = base_url_for(resolved)
        if not resolved.forward_is_managed:
            return None
        return f"KFP answers at {state['base_url']}"

    def auth_step() -> str | None:
        from .auth import credentials_for

        resolved: ResolvedProfile = state["resolved"]
        auth = credentials_for(resolved, prompt=prompt)
        state["auth"] = auth
        if resolved.kind == "platform-dex":
            headers: dict[str, str] = {}
            auth.before_request(headers)
            cookie = headers.get("Cookie")
            user = getattr(resolved.profile, "username", "?")
            door = getattr(auth, "door", None)
            if not cookie:
                return f"{resolved.host} needs no login (no front door)"
            if getattr(auth, "logins", 0):
                requests = getattr(auth, "last_login_requests", "?")
                return f"logged in as {user} through {door} ({requests} requests)"
            return f"reused the cached session of {user} ({door})"
        if resolved.kind == "platform-in-cluster":
            finding = describe_token(token_path_in_use(resolved))
            if finding.status == "fail":
                raise ConfigError(f"Profile '{resolved.name}': the token {finding.text}.")
            return finding.text
        return None

    def healthz_step() -> str:
        from .kfp_client import ProfileClient

        resolved: ResolvedProfile = state["resolved"]
        client = ProfileClient(resolved, state["auth"], base_url=state["base_url"])
        state["client"] = client
        answer = client._healthz_api.healthz_service_get_healthz()
        multi_user = getattr(answer, "multi_user", None)
        mode = "multi-user" if multi_user else "single-user"
        version = getattr(answer, "tag_name", None)
        return f"{mode} KFP{' ' + version if version else ''}"

    def experiments_step() -> str:
        resolved: ResolvedProfile = state["resolved"]
        answer = state["client"].list_experiments(page_size=1)
        total = getattr(answer, "total_size", None)
        listed = len(getattr(answer, "experiments", None) or [])
        count = total if isinstance(total, int) else listed
        where = f" in namespace {resolved.profile.namespace}" if resolved.profile.namespace else ""
        return f"{count} experiment{'s' if count != 1 else ''}{where}"

    runners: list[tuple[str, Callable[[], str | None]]] = [
        ("resolve", resolve_step),
        ("port-forward", forward_step),
        ("authenticate", auth_step),
        ("healthz", healthz_step),
        ("list experiments", experiments_step),
    ]
    failed = False
    for step_name, runner in runners:
        step = Step(step_name)
        if failed:
            step.detail = "not run"
        else:
            started = time.perf_counter()
            try:
                detail = runner()
            except Exception as exc:  # every failure is reported as the step's result
                step.status, step.error = "fail", exc
                step.detail = describe_failure(exc)
                failed = True
            else:
                step.status = "ok" if detail is not None else "skip"
                step.detail = detail if detail is not None else _skip_reason(step_name, state)
            step.seconds = time.perf_counter() - started
        resolved = state.get("resolved")
        step.profile = resolved.name if resolved is not None else name
        yield step


def _skip_reason(step: str, state: dict[str, Any]) -> str:
    resolved = state.get("resolved")
    kind = resolved.kind if resolved is not None else "?"
    if step == "port-forward":
        return f"not a managed port-forward ({kind})"
    if step == "authenticate":
        return f"no login for kind {kind}"
    return ""


def describe_failure(exc: BaseException) -> str:
    """One line for a failed step, naming what the server said where it said something."""
    if isinstance(exc, KfpProfilesError):
        return str(exc)
    status = getattr(exc, "status", None)
    if status is not None and type(exc).__name__ == "ApiException":
        body = getattr(exc, "body", None) or ""
        message = ""
        parsed = _json_object(body if isinstance(body, str) else "")
        if parsed is not None:
            message = str(parsed.get("message") or parsed.get("error") or "")
        reason = getattr(exc, "reason", "") or ""
        return f"the KFP API answered {status} {reason}".rstrip() + (
            f": {message}" if message else ""
        )
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
