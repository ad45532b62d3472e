"""Errors of platform-token's bearer token: its source, its command, its text, its refusal (exit 4).

Each names the profile and the token's source (the ``token=`` argument,
``KFP_TOKEN``, a token file, a ``token_command``, the OS keyring) and how to
fix it there; none holds the token, nor anything the command printed on
standard output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .auth import SecretError, StoredSecretElsewhereError, TokenFileError
from .base import Advice, KfpProfilesError, Tables, Wording
from .config import ConfigError
from .refusals import TokenRefusedError

#: Where a token came from, in a message's words, by ``source``.
TOKEN_SOURCE_WORDS: Mapping[str, Advice] = {
    "arg": Wording("the token= argument", cli="the command line"),
    "env:KFP_TOKEN": "KFP_TOKEN",
    "keyring": "the OS keyring",
    "token_path": "the token file {path}",
    "token_command": "the token command `{command}`",
    "*": "{source}",
}

#: How to bring a token the server takes, by ``source``.
TOKEN_SOURCE_FIXES: Mapping[str, Advice] = {
    "arg": Wording(
        "pass a current token as token=",
        cli="give a current token",
    ),
    "env:KFP_TOKEN": "set KFP_TOKEN to a current token (or unset it to use the profile's source)",
    "keyring": "store a current one with `kfp-profiles secret set {profile} --token`",
    "token_path": "have whatever writes {path} renew it, or point `token_path` elsewhere",
    "token_command": (
        "run `{command}` yourself to see what it prints, and fix `token_command` "
        "(`kfp-profiles set {profile} token_command=...`)"
    ),
    "*": "check the token's source with `kfp-profiles show {profile} --sources`",
}


class BearerTokenError(KfpProfilesError):
    """A platform-token profile's token cannot be had or cannot be used."""

    exit_code = 4
    defaults: ClassVar[dict[str, Any]] = {"path": "", "command": "", "source": "the token's source"}
    tables: ClassVar[Tables] = {
        "where": ("source", TOKEN_SOURCE_WORDS),
        "fix": ("source", TOKEN_SOURCE_FIXES),
    }


class TokenMissingError(SecretError):
    """No source gave a token: no argument, variable, file, command or keyring entry."""

    fmt = (
        "Profile '{profile}' needs a bearer token and none was found{detail}: pass token=..., "
        "set KFP_TOKEN, set `token_command` or `token_path` in the profile, or run "
        "`kfp-profiles secret set {profile} --token`."
    )
    cli_fmt = (
        "Profile '{profile}' needs a bearer token and none was found{detail}: set KFP_TOKEN, "
        "set `token_command` or `token_path` (`kfp-profiles set {profile} token_command=...`), "
        "or run `kfp-profiles secret set {profile} --token`."
    )
    defaults: ClassVar[dict[str, Any]] = {"detail": ""}


class StoredTokenElsewhereError(StoredSecretElsewhereError):
    """The keyring's token belongs to the file's host, and an override points elsewhere."""

    fmt = (
        "Profile '{profile}' keeps its token for {home}, but {via} points it at {host}: a "
        "stored token never follows an override to another host; pass token= (or set "
        "KFP_TOKEN) for that host, or add a profile for it."
    )
    cli_fmt = (
        "Profile '{profile}' keeps its token for {home}, but {via} points it at {host}: a "
        "stored token never follows an override to another host; set KFP_TOKEN for that "
        "host, or add a profile for it with `kfp-profiles add`."
    )


class TokenTextError(BearerTokenError):
    """The token is not one bearer token: whitespace, a control character, not ASCII."""

    fmt = "Profile '{profile}': {where} gave no usable bearer token ({problem}); {fix}."


class TokenExpiredError(BearerTokenError):
    """Our own check of ``exp`` before sending: a token that cannot renew has expired."""

    fmt = (
        "Profile '{profile}': the token from {where} expired at {when} ({ago} ago), so it "
        "was not sent; {fix}."
    )


class TokenCommandError(BearerTokenError):
    """The token command ran and failed (a non-zero exit status); its stderr's last lines."""

    fmt = (
        "Profile '{profile}': the token command `{command}` {problem}{stderr}; run it "
        "yourself to see why, or fix `token_command` in {named_in}."
    )
    defaults: ClassVar[dict[str, Any]] = {"stderr": "", "named_in": "the profiles file"}
    tables: ClassVar[Tables] = {}  # its own words name the command and where it is set

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        source = str(fields.get("named_by", ""))
        if source.startswith("file:"):
            fields["named_in"] = source[5:]
        elif source.startswith("env:"):
            fields["named_in"] = f"the variable {source[4:]}"
        elif source == "arg":
            fields["named_in"] = "the keyword arguments"
        super().__init__(message, **fields)


class TokenCommandNotFoundError(TokenCommandError):
    """The token command's program is missing or cannot be run."""

    fmt = (
        "Profile '{profile}': the token command's program '{program}' {problem}; install it "
        "(or put it on PATH), or fix `token_command` in {named_in}."
    )


class TokenCommandTimeoutError(TokenCommandError):
    """The token command did not finish within the profile's ``timeout``; it was stopped."""

    fmt = (
        "Profile '{profile}': the token command `{command}` did not finish within the "
        "{timeout:g} s `timeout` and was stopped{stderr}; check that it runs without asking "
        "anything, or raise `timeout` in the profile."
    )


class TokenCommandOutputError(TokenCommandError):
    """The token command succeeded but printed no token: nothing, too much, not a token."""

    fmt = (
        "Profile '{profile}': the token command `{command}` {problem}, where a bearer token "
        "or a Kubernetes ExecCredential was expected; fix `token_command` in {named_in}."
    )


class TokenPathError(TokenFileError):
    """platform-token's token file cannot be read; ``source`` (of ``token_path``) picks the fix."""

    fmt = "Profile '{profile}': the token file {path} {problem}; {fix}."
    tables: ClassVar[Tables] = {
        "fix": (
            "source",
            {
                "arg": Wording(
                    "pass token_path= the file that holds the token",
                    cli="point `token_path` at the file that holds the token",
                ),
                "env:KFP_TOKEN_PATH": (
                    "point KFP_TOKEN_PATH at the file that holds the token, or unset it"
                ),
                "*": "fix `token_path` in {named_in}, or set KFP_TOKEN_PATH",
            },
        )
    }


class NoBearerKindError(ConfigError):
    """`env --with-token` for a kind that sends no bearer token the `kfp` CLI could send."""

    fmt = (
        "Profile '{profile}' is of kind '{kind}', which has no bearer token to export{why}; "
        "`--with-token` serves platform-token, platform-oidc and platform-in-cluster "
        "profiles: leave it out for this one."
    )
    defaults: ClassVar[dict[str, Any]] = {"why": ""}


#: What a refusal says about the token, by the reason ``auth/refusal.py`` names: the
#: gateway's own words (Istio), else what the door and the token's claims tell.
BEARER_CAUSES: Mapping[str, Advice] = {
    "expired": "the token has expired",
    "expired-there": (
        "the token has expired by the gateway's clock, though not by this machine's "
        "(check both clocks)"
    ),
    "audience": (
        "its audience ({audience}) is not one the gateway accepts; ask for a token with "
        "the gateway's audience (`kubectl create token --audience AUDIENCE`)"
    ),
    "issuer": (
        "its issuer ({token_issuer}) is not one the gateway trusts; use a token of the cluster "
        "behind this gateway"
    ),
    "signature": (
        "its signature does not verify against the issuer's keys (a token of another "
        "cluster with the same issuer, or keys rotated since)"
    ),
    "garbage": "it is not a JWT, and the gateway takes only JWTs",
    "opaque": "it is not a JWT (the gateway gave no reason)",
    "unlisted": (
        "oauth2-proxy (Kubeflow 1.9.0) takes a token only for an `issuer=audience` pair in its "
        "`extra_jwt_issuers`, and issuer {token_issuer} with audience {audience} is not one "
        "(ask the cluster admin for the audience it pairs with that issuer, then "
        "`kubectl create token --audience AUDIENCE`, or use a platform-dex profile)"
    ),
    "untaken": (
        "oidc-authservice (Kubeflow 1.8 and earlier) takes a ServiceAccount token only through "
        "its TokenReview authenticator, where enabled, for its own audience (issuer "
        "{token_issuer}, audience {audience} was not taken; use a platform-dex profile)"
    ),
    "*": (
        "the gateway gave no reason (issuer {token_issuer}, audience {audience}: check that "
        "the gateway trusts both)"
    ),
}


class BearerRefusedError(TokenRefusedError):
    """The gateway refused the bearer token (401): the cause named, and the source's fix."""

    fmt = "Profile '{profile}': {url} refused the token from {where} with {why}: {cause}; {fix}."
    defaults: ClassVar[dict[str, Any]] = {
        "path": "",
        "command": "",
        "reason": "unknown",
        "audience": "none",
        "token_issuer": "none",
    }
    tables: ClassVar[Tables] = {
        "where": ("source", TOKEN_SOURCE_WORDS),
        "fix": ("source", TOKEN_SOURCE_FIXES),
        "cause": ("reason", BEARER_CAUSES),
    }


__all__ = [
    "BEARER_CAUSES",
    "BearerRefusedError",
    "BearerTokenError",
    "NoBearerKindError",
    "StoredTokenElsewhereError",
    "TokenCommandError",
    "TokenCommandNotFoundError",
    "TokenCommandOutputError",
    "TokenCommandTimeoutError",
    "TokenExpiredError",
    "TokenMissingError",
    "TokenPathError",
    "TokenTextError",
]
