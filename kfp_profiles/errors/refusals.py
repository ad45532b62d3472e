"""Errors of the KFP API's refusals: a login where the API should be, a refused token, a
refused namespace (exits 6, 4 and 7).

Each names what refused and how to get in, picked from a table by what the
answer says (the door, ``auth.doors.DoorName``), by the kind of credential, or
by the identity the API names; the token kinds of later issues add rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .auth import ApiError, SessionError, TokenFileError
from .base import Advice, Tables, Wording

# --- a refused token -------------------------------------------------------------------------

#: What named the token file, by the source of ``token_path`` (``ResolvedProfile.sources``):
#: ``arg`` > ``KFP_TOKEN_PATH`` > ``KF_PIPELINES_SA_TOKEN_PATH`` > the file > the default.
TOKEN_PATH_NAMED_BY: Mapping[str, Advice] = {
    "arg": Wording("the token_path= argument", cli="an override of `token_path`"),
    "env:KFP_TOKEN_PATH": "KFP_TOKEN_PATH",
    "env:KF_PIPELINES_SA_TOKEN_PATH": "KF_PIPELINES_SA_TOKEN_PATH",
    "file:": "`token_path` in {named_in}",
    "*": "the default path",
}

#: How to get a token the server takes, by kind (the token kinds of later issues add rows).
TOKEN_REFUSED_FIXES: Mapping[str, Advice] = {
    "platform-in-cluster": (
        "check that it has audience pipelines.kubeflow.org and has not expired "
        "(`kfp-profiles doctor {profile}` shows both)"
    ),
    "*": "check the token's audience and expiry with `kfp-profiles doctor {profile}`",
}


class TokenRefusedError(TokenFileError):
    """The server refused the bearer token (401, or a redirect to a login page)."""

    fmt = (
        "Profile '{profile}': {url} refused the token in {path} (named by {named_by}) "
        "with {why}; {fix}."
    )
    tables: ClassVar[Tables] = {
        "fix": ("kind", TOKEN_REFUSED_FIXES),
        "named_by": ("source", TOKEN_PATH_NAMED_BY),
    }


# --- a login where the API should be --------------------------------------------------------

#: What the answer says about the host, by the door that gave it (``auth.doors.DoorName``).
DOOR_FINDINGS: Mapping[str, Advice] = {
    "oauth2-proxy": "this host sits behind oauth2-proxy, the login of Kubeflow 1.9.1 and later",
    "oauth2-proxy-first": "this host sits behind oauth2-proxy, the login of Kubeflow 1.9.0",
    "oidc-authservice": (
        "this host sits behind oidc-authservice, the login of Kubeflow 1.8 and earlier"
    ),
    "none": "this host is a multi-user KFP API, which needs to know who is calling",
    "*": "this host sits behind a login",
}

_ADD_DEX = (
    "`kfp-profiles add {profile} --replace --kind platform-dex --host {url} "
    "--username EMAIL --namespace NAMESPACE`"
)

#: How to reach it, by the door.
DOOR_FIXES: Mapping[str, Advice] = {
    "none": Wording(
        "from a laptop use a platform-dex profile at the Kubeflow gateway's /pipeline URL; "
        "in a pod, a platform-in-cluster profile",
        cli="from a laptop add a platform-dex profile at the Kubeflow gateway's /pipeline "
        "URL (`kfp-profiles add NAME --kind platform-dex`); in a pod, a platform-in-cluster "
        "profile",
    ),
    "*": Wording(
        'use a platform-dex profile for it (kind = "platform-dex", with your Dex '
        "`username` and `namespace`)",
        cli=f"make it a platform-dex profile: {_ADD_DEX}",
    ),
}


class BehindLoginError(SessionError):
    """A profile that sends no credentials met a Kubeflow Platform's login; ``door`` names it."""

    fmt = "{url} answered {why} for profile '{profile}' (kind {kind}): {finding}; {fix}."
    defaults: ClassVar[dict[str, Any]] = {"door": "unknown"}
    tables: ClassVar[Tables] = {"finding": ("door", DOOR_FINDINGS), "fix": ("door", DOOR_FIXES)}


# --- a namespace the identity may not use ----------------------------------------------------

#: Who was refused, by the kind of identity (``NamespaceAccessError.identity_kind``).
ACCESS_WHO: Mapping[str, Advice] = {
    "serviceaccount": "ServiceAccount '{service_account}' of namespace '{account_namespace}'",
    "person": "'{identity}'",
    "*": "this profile's identity",
}

#: How that identity gets access to the namespace.
ACCESS_FIXES: Mapping[str, Advice] = {
    "serviceaccount": (
        "grant it access with `kfp-profiles manifest rolebinding --namespace {namespace} "
        "--from-namespace {account_namespace} --service-account {service_account} | "
        "kubectl apply -f -`"
    ),
    "person": (
        "ask the owner of namespace '{namespace}' to add '{identity}' as a contributor "
        "(Manage Contributors in the Kubeflow dashboard), or use a namespace of your own"
    ),
    "*": (
        "ask the owner of namespace '{namespace}' for access (a person is added as a "
        "contributor, a ServiceAccount gets a `kfp-profiles manifest rolebinding`)"
    ),
}

_SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


class NamespaceAccessError(ApiError):
    """403: the identity may not use the namespace; ``identity`` picks the advice."""

    fmt = (
        "Profile '{profile}': the KFP API at {url} refused {who} access to namespace "
        "'{namespace}' (403{request}); {fix}."
    )
    defaults: ClassVar[dict[str, Any]] = {"identity": "", "request": ""}
    tables: ClassVar[Tables] = {
        "who": ("identity_kind", ACCESS_WHO),
        "fix": ("identity_kind", ACCESS_FIXES),
    }

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        identity = str(fields.get("identity") or "")
        parts = identity.split(":")
        if identity.startswith(_SERVICE_ACCOUNT_PREFIX) and len(parts) == 4:
            fields.update(
                identity_kind="serviceaccount", account_namespace=parts[2], service_account=parts[3]
            )
        else:
            fields["identity_kind"] = "person" if identity else "unknown"
        super().__init__(message, **fields)
