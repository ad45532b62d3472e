"""Whether the front door takes the token kinds' bearer tokens, and what the OIDC provider offers.

For ``platform-token`` and ``platform-oidc`` profiles ``doctor`` reads the
bearer probe of :mod:`.fingerprint` (one request whose bearer is no JWT: a JWT
checker that says why is Istio's, Kubeflow 1.9.1+; the login instead means a
failed token is only "no session", as on 1.9.0's oauth2-proxy and on
oidc-authservice) against what each door takes (``docs/tokens.md``), and, for
``platform-oidc``, fetches the discovery document: whether its endpoints were
rewritten to the profile's issuer, and which sign-in flows it offers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..errors import KfpProfilesError
from ..models import PlatformOidc
from .findings import Finding, Status
from .token import describe_token

if TYPE_CHECKING:
    from ..resolution import ResolvedProfile
    from .fingerprint import FrontDoor

__all__ = ["bearer_finding", "oidc_findings", "profile_token_finding"]

_TOPIC = "bearer"
_ISTIO = (
    "the gateway checks bearer JWTs itself (Istio, Kubeflow 1.9.1 and later: a token that "
    "is no JWT got 401 with its reason): it takes "
)
_NO_SESSION = (
    "treats a bearer it does not take as no session (a token that is no JWT got the login "
    "redirect): it takes "
)
_1_9_0 = "oauth2-proxy (Kubeflow 1.9.0) " + _NO_SESSION
_AUTHSERVICE = "oidc-authservice (Kubeflow 1.8 and earlier) " + _NO_SESSION
_OWN = "Dex ID tokens of its own client '{own}'"
_ADMIT = (
    "; ask the cluster admin to add '{client}' (`kfp-profiles manifest oidc-client "
    "--client-id {client}` shows the line)"
)

#: What the answer to the bearer probe says, by (answer, door, who asks): who is
#: ``token`` (platform-token), ``own`` (platform-oidc with the door's own client) or
#: ``other`` (platform-oidc with another client); ``*`` matches any door.
_VERDICTS: dict[tuple[str, str, str], tuple[Status, str]] = {
    ("jwt-checker", "*", "token"): (
        "ok",
        _ISTIO + "ServiceAccount tokens of the issuers its m2m overlay trusts, and audiences "
        "only where an admin set them",
    ),
    ("jwt-checker", "*", "oidc"): (
        "ok",
        _ISTIO + "Dex ID tokens, and audiences only where an admin set them",
    ),
    ("login", "oauth2-proxy-first", "token"): (
        "warn",
        _1_9_0 + "a ServiceAccount token only for an `issuer=audience` pair in its "
        "`extra_jwt_issuers`; ask the cluster admin for it",
    ),
    ("login", "oauth2-proxy-first", "own"): ("ok", _1_9_0 + _OWN),
    ("login", "oauth2-proxy-first", "other"): (
        "warn",
        _1_9_0 + _OWN + " and of the pairs in its `extra_jwt_issuers`" + _ADMIT,
    ),
    ("login", "oidc-authservice", "token"): (
        "warn",
        _AUTHSERVICE + "a ServiceAccount token only through its TokenReview authenticator, "
        "where enabled, for its own audience",
    ),
    ("login", "oidc-authservice", "own"): ("ok", _AUTHSERVICE + _OWN),
    ("login", "oidc-authservice", "other"): (
        "fail",
        _AUTHSERVICE + _OWN + " only, not of '{client}'",
    ),
    ("login", "*", "*"): (
        "warn",
        "the door's login answered a bearer that is no JWT, with no reason: bearer requests "
        "reach oauth2-proxy here, which takes only the `issuer=audience` pairs of its "
        "`extra_jwt_issuers`, if any",
    ),
    ("api", "*", "token"): (
        "ok",
        "no front door: the KFP API reviews the token itself (TokenReview, audience "
        "pipelines.kubeflow.org)",
    ),
    ("api", "*", "oidc"): (
        "fail",
        "no front door: the KFP API takes ServiceAccount tokens only, not Dex ID tokens; use "
        "the Kubeflow gateway's /pipeline URL as the host",
    ),
    ("*", "*", "*"): (
        "info",
        "not told: a bearer that is no JWT got an answer of no known door",
    ),
}


def bearer_finding(door: FrontDoor, resolved: ResolvedProfile) -> Finding:
    """Whether ``door`` takes the bearer tokens of ``resolved``'s kind, and what for."""
    profile = resolved.profile
    client = profile.client_id if isinstance(profile, PlatformOidc) else ""
    own = door.client_id or "kubeflow-oidc-authservice"
    who = ("own" if client == own else "other") if client else "token"
    answer = str(door.bearer)
    tried = [
        (answer, door.door, who),
        (answer, "*", "oidc" if client else who),
        (answer, "*", "*"),
        ("*", "*", "*"),
    ]
    status, text = next(_VERDICTS[key] for key in tried if key in _VERDICTS)
    return Finding(_TOPIC, status, text.format(own=own, client=client))


def oidc_findings(resolved: ResolvedProfile) -> Iterator[Finding]:
    """The discovery document of a platform-oidc profile: rewritten or not, and its flows."""
    from ..auth.oidc import config_for
    from ..auth.oidc_discovery import auto_flow, discover, offered_flows, rewritten_from

    profile = resolved.profile
    assert isinstance(profile, PlatformOidc), profile.kind
    config = config_for(resolved)
    try:
        document = discover(config)
    except KfpProfilesError as exc:
        yield Finding("oidc", "fail", str(exc))
        return
    issuer = document["issuer"]
    moved = rewritten_from(document)
    if moved:
        yield Finding(
            "oidc",
            "ok",
            f"discovery at {config.issuer}: issuer {issuer}, whose endpoints on {moved} "
            f"were rewritten to {config.issuer} (ID tokens are still checked for that issuer)",
        )
    else:
        yield Finding(
            "oidc",
            "ok",
            f"discovery at {config.issuer}: issuer {issuer}, endpoints used as published",
        )
    flows = offered_flows(document)
    offered = ", ".join(flows) or "none"
    if profile.flow == "auto":
        status: Status = "ok" if flows else "fail"
        chosen = f'`flow = "auto"` signs in with the {auto_flow(document)} flow'
        yield Finding("oidc", status, f"flows offered: {offered}; {chosen}")
    elif profile.flow in flows:
        yield Finding("oidc", "ok", f"flows offered: {offered}; the profile's flow is offered")
    else:
        other = "browser" if profile.flow == "device" else "device"
        yield Finding(
            "oidc",
            "fail",
            f"flows offered: {offered}; the profile's flow `{profile.flow}` is not: run "
            f"`kfp-profiles set {resolved.name} flow={other}` (or flow=auto)",
        )


def profile_token_finding(resolved: ResolvedProfile) -> Finding:
    """The token a token-kind profile holds now, described (never shown); nothing is run.

    platform-token: the argument, KFP_TOKEN, the file or the keyring, and a
    command's cached token (the command itself runs in ``check``);
    platform-oidc: the stored sign-in's ID token.
    """
    from ..auth.bearer_token import jwt_claims

    topic = "token"
    label = f"profile {resolved.name}"
    if isinstance(resolved.profile, PlatformOidc):
        from ..auth.oidc_store import SignInStore

        sign_in = SignInStore(resolved.name).load() if resolved.at_home else None
        if sign_in is None:
            return Finding(topic, "info", f"{label}: no stored sign-in (`kfp-profiles login`)")
        claims = jwt_claims(sign_in.id_token) or {}
        found = describe_token(claims, topic=topic)
        if found.status == "fail" and sign_in.refresh_token:
            found = Finding(topic, "ok", f"{found.text}; renews silently at the next call")
        return Finding(topic, found.status, f"{label}: ID token: {found.text}")
    from ..auth.bearer import CommandSource, source_for

    try:
        source = source_for(resolved)
    except KfpProfilesError as exc:
        return Finding(topic, "fail", str(exc))
    token = source.cached() if isinstance(source, CommandSource) else source.held()
    if token is None:
        return Finding(topic, "info", f"{label}: no cached token (`check` runs the command)")
    token_claims = jwt_claims(token.text)
    if token_claims is None:
        return Finding(topic, "info", f"{label}: {source.source}: not a JWT (life unknown)")
    found = describe_token(token_claims, topic=topic)
    return Finding(topic, found.status, f"{label}: {source.source}: {found.text}")
