"""Errors of secrets, tokens, the login, the session and the API: proving who you are."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from .base import Advice, KfpProfilesError, Tables, Wording
from .config import ConfigError

# --- secrets -----------------------------------------------------------------


class SecretError(KfpProfilesError):
    exit_code = 3


class PasswordMissingError(SecretError):
    fmt = (
        "Profile '{profile}' needs a password to log in as '{username}' and none "
        "was found{detail}: pass password=..., set KFP_PASSWORD, or run "
        "`kfp-profiles secret set {profile}`."
    )
    cli_fmt = (
        "Profile '{profile}' needs a password to log in as '{username}' and none "
        "was found{detail}: set KFP_PASSWORD or run `kfp-profiles secret set {profile}`."
    )


class NoPasswordKindError(ConfigError):
    """A password was offered to a kind that logs in without one."""

    fmt = (
        "Profile '{profile}' is of kind '{kind}', which logs in with no password; "
        "only platform-dex profiles have one."
    )


class SecretKindError(NoPasswordKindError):
    """A token or a client secret offered to a kind that keeps none (``secret set --token``)."""

    fmt = "Profile '{profile}' is of kind '{kind}', which keeps no {secret}; {fix}."
    tables: ClassVar[Tables] = {
        "fix": (
            "kind",
            {
                "platform-dex": "store its Dex password with `kfp-profiles secret set {profile}`",
                "platform-token": (
                    "store its bearer token with `kfp-profiles secret set {profile} --token`"
                ),
                "platform-oidc": (
                    "it signs in with `kfp-profiles login {profile}`, and a confidential "
                    "client's secret is stored with `kfp-profiles secret set {profile} "
                    "--client-secret`"
                ),
                "*": (
                    "only platform-dex (a password), platform-token (`--token`) and "
                    "platform-oidc (`--client-secret`) profiles keep a secret in the keyring"
                ),
            },
        )
    }


class NoPipedPasswordError(ConfigError):
    fmt = (
        "No password on stdin for profile '{profile}': pipe it in (e.g. `pass kf | "
        "kfp-profiles secret set {profile}`) or run this command at a terminal."
    )


class SecretTextError(ConfigError):
    """A token or client secret given to `secret set` that is empty or no single token."""

    fmt = (
        "The {secret} given for profile '{profile}' cannot be stored: {problem}; paste it at "
        "the hidden prompt or pipe it in (e.g. `{example} | kfp-profiles secret set "
        "{profile} {flag}`)."
    )


class KeyringUnavailableError(SecretError):
    fmt = (
        "The OS keyring cannot be used ({reason}) for profile '{profile}': set "
        "KFP_PASSWORD, pass password=..., or start a Secret Service (or choose a "
        "backend with PYTHON_KEYRING_BACKEND) and run `kfp-profiles secret set "
        "{profile}`."
    )
    cli_fmt = (
        "The OS keyring cannot be used ({reason}) for profile '{profile}': set "
        "KFP_PASSWORD, or start a Secret Service (or choose a backend with "
        "PYTHON_KEYRING_BACKEND) and run `kfp-profiles secret set {profile}`."
    )


class KeyringStoreError(KeyringUnavailableError):
    """Storing failed: the fix cannot be `secret set`, the command that just failed.

    ``variable`` is where the secret can come from instead (KFP_TOKEN for a token)."""

    fmt = (
        "The OS keyring cannot store secrets ({reason}), so nothing was stored for profile "
        "'{profile}': start a Secret Service or choose a backend that stores with "
        "PYTHON_KEYRING_BACKEND, or set {variable} instead."
    )
    defaults: ClassVar[dict[str, Any]] = {"variable": "KFP_PASSWORD"}


class KeyringDeleteError(KeyringUnavailableError):
    """Deleting failed; ``secret`` and ``flag`` say which secret (``token``, `` --token``)."""

    fmt = (
        "The OS keyring cannot be used ({reason}), so nothing was deleted for profile "
        "'{profile}': start or unlock the keyring that holds the {secret} (a Secret Service, "
        "or the backend PYTHON_KEYRING_BACKEND names) and run `kfp-profiles secret delete "
        "{profile}{flag}` again."
    )
    defaults: ClassVar[dict[str, Any]] = {"secret": "password", "flag": ""}


# --- credentials in a pod ------------------------------------------------------


_VOLUME = "the projected token volume (audience pipelines.kubeflow.org)"

#: How to point the profile at its token, by the source of ``token_path``: the setting that
#: won is the one to change (KFP_TOKEN_PATH outranks KF_PIPELINES_SA_TOKEN_PATH).
TOKEN_PATH_FIXES: Mapping[str, Advice] = {
    "arg": Wording(
        f"the token_path= argument names it: pass the path where {_VOLUME} is mounted",
        cli=f"point `token_path` at where {_VOLUME} is mounted",
    ),
    "env:KFP_TOKEN_PATH": (
        f"KFP_TOKEN_PATH names it and outranks every other setting: point KFP_TOKEN_PATH "
        f"at where {_VOLUME} is mounted, or unset it"
    ),
    "env:KF_PIPELINES_SA_TOKEN_PATH": (
        f"KF_PIPELINES_SA_TOKEN_PATH names it and outranks the profile's `token_path`: point "
        f"KF_PIPELINES_SA_TOKEN_PATH at where {_VOLUME} is mounted, or unset it"
    ),
    "file:": (
        f"`token_path` in {{named_in}} names it: point it at where {_VOLUME} is mounted "
        "(see `kfp-profiles manifest poddefault`), or set KFP_TOKEN_PATH"
    ),
    "*": (
        f"the pod needs {_VOLUME} mounted at {{folder}} (see `kfp-profiles manifest "
        "poddefault`), or set KF_PIPELINES_SA_TOKEN_PATH to where it is mounted"
    ),
}


class TokenFileError(KfpProfilesError):
    """The token file cannot be used; ``source`` (of ``token_path``) picks the fix."""

    fmt = "Profile '{profile}': the ServiceAccount token file {path} {problem}; {fix}."
    exit_code = 4
    defaults: ClassVar[dict[str, Any]] = {"source": "default"}
    tables: ClassVar[Tables] = {"fix": ("source", TOKEN_PATH_FIXES)}

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        # `file:/path/profiles.toml` -> the file, for the rows that name it.
        source = str(fields.get("source", "default"))
        fields["named_in"] = source.partition(":")[2] or "the profiles file"
        fields.setdefault("folder", str(fields.get("path", "")).rpartition("/")[0] or ".")
        super().__init__(message, **fields)


class TokenFileTrustError(TokenFileError):
    """The token file, a folder above it or a symlink on the way is not this user's."""

    fmt = (
        "Profile '{profile}': the ServiceAccount token file {path} {problem}, so it is not "
        "used; {fix}."
    )


# --- talking to the server -----------------------------------------------------


class ConnectionFailedError(KfpProfilesError):
    """The host could not be reached: refused, DNS, TLS or timeout."""

    fmt = "Cannot reach {host} for profile '{profile}': {cause}; {fix}."
    exit_code = 5
    #: How a subclass with a message of its own words ``cause`` from its fields.
    cause_fmt: ClassVar[str] = ""

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        if self.cause_fmt and "cause" not in fields:
            fields["cause"] = self.cause_fmt.format(**fields)
        super().__init__(message, **fields)


class DeadlineExceededError(ConnectionFailedError):
    """A request (or a whole login) did not finish within the profile's ``timeout``.

    ``step`` names the request (``GET /apis/v2beta1/experiments``, or the login
    and its step), ``stage`` what it was doing when the time ran out.
    """

    fmt = (
        "{host} did not finish {step} for profile '{profile}' within the {timeout:g} s "
        "`timeout`: {stage}; {fix}."
    )
    cause_fmt = "{step} did not finish within {timeout:g} s: {stage}"
    defaults: ClassVar[dict[str, Any]] = {
        "fix": "check the server, or raise `timeout` in the profile"
    }


class ResponseTooLargeError(ConnectionFailedError):
    """An answer the library reads itself (a login page, a probe) was over the read cap."""

    fmt = (
        "{host} answered {step} for profile '{profile}' with more than {cap}, more than "
        "any login page or probe answer holds; check that `host` is the Kubeflow gateway's "
        "pipeline URL, or check the server."
    )
    cause_fmt = "the answer to {step} is over {cap}"


class LoginError(KfpProfilesError):
    """The login through the Kubeflow front door did not succeed."""

    exit_code = 6


#: How to fix a password Dex rejected, by where it came from (``ResolvedProfile.sources``
#: of ``password``: an argument or KFP_PASSWORD; no entry there means the OS keyring).
WRONG_PASSWORD_FIXES: Mapping[str, Advice] = {
    "arg": Wording(
        "it came from the password= argument: pass the right one",
        cli="it came from the command line: give the right one",
    ),
    "env:KFP_PASSWORD": (
        "it came from KFP_PASSWORD: set KFP_PASSWORD to the right one (or unset it to use "
        "the one in the OS keyring)"
    ),
    "*": (
        "it came from the OS keyring: run `kfp-profiles secret set {profile}` to store "
        "the right one"
    ),
}


class InvalidCredentialsError(LoginError):
    fmt = (
        "Dex at {host} rejected the password of '{username}' (connector "
        "'{connector}') for profile '{profile}': {fix}."
    )
    defaults: ClassVar[dict[str, Any]] = {"source": "keyring"}
    tables: ClassVar[Tables] = {"fix": ("source", WRONG_PASSWORD_FIXES)}


class UnknownConnectorError(LoginError):
    fmt = (
        "Dex at {host} has no connector '{connector}' for profile '{profile}'; it "
        "offers {offered}: set `connector` in the profile to one of them."
    )


#: The ways a login stops on an answer no known Kubeflow release gives (``LoginFlowError``).
LoginStop = Literal[
    "refused-again",
    "api-url-answer",
    "sign-in-without-dex",
    "start-without-dex",
    "redirect-loop",
    "no-connector",
    "not-a-password-form",
    "password-answer",
    "approval-answer",
    "no-session-cookie",
]


class LoginFlowError(LoginError):
    """The front door answered something no known Kubeflow release answers.

    The field ``stop`` names the way the login stopped: its template in
    ``problems``, filled from the same fields, is the ``problem`` of the message.
    """

    fmt = (
        "The login of profile '{profile}' at {host} stopped: {problem}; check that "
        "`host` is the Kubeflow gateway's pipeline URL. Redirect trail: {trail}"
    )
    problems: ClassVar[Mapping[LoginStop, str]] = {
        "refused-again": "{where} answered 403 again after a fresh start",
        "api-url-answer": "the API URL answered {answer}",
        "sign-in-without-dex": (
            "the API URL answers {status} but /oauth2/start does not lead to Dex"
        ),
        "start-without-dex": "/oauth2/start does not lead to Dex",
        "redirect-loop": "the host keeps redirecting without reaching Dex",
        "no-connector": "Dex's /auth answered {answer}, offering no connector",
        "not-a-password-form": (
            "connector '{connector}' answered {answer}, not a password form "
            "(is it a password connector?)"
        ),
        "password-answer": "Dex answered the password with {answer}",
        "approval-answer": "Dex answered the approval with {answer}",
        "no-session-cookie": "the callback answered {answer} and set no session cookie",
    }

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        if "problem" not in fields and "stop" in fields:
            fields["problem"] = self.problems[fields["stop"]].format(**fields)
        super().__init__(message, **fields)


class InsecurePasswordPostError(LoginError):
    fmt = (
        "Refusing to send the password of profile '{profile}' over plain HTTP to "
        "{form_url} while the profile's host {host} is HTTPS; have the gateway serve "
        "Dex over https (its issuer URL), or use an http host for a local test cluster."
    )


class PlainHttpOverrideError(LoginError):
    fmt = (
        "Refusing to send the password of profile '{profile}' over plain HTTP to "
        "{form_url}: the profiles file names {file_host}, and a password goes over plain "
        "HTTP only where the file itself names an http:// host; use the https URL, or add "
        "a profile whose host is this http:// URL (a local test cluster)."
    )


class StoredSecretElsewhereError(SecretError):
    fmt = (
        "Profile '{profile}' keeps its password for {home}, but {via} points it at "
        "{host}: a stored password never follows an override to another host; pass "
        "password= (or set KFP_PASSWORD) for that host, or add a profile for it."
    )
    cli_fmt = (
        "Profile '{profile}' keeps its password for {home}, but {via} points it at "
        "{host}: a stored password never follows an override to another host; set "
        "KFP_PASSWORD for that host, or add a profile for it with `kfp-profiles add`."
    )


class TooManyRedirectsError(LoginError):
    fmt = (
        "The login of profile '{profile}' at {host} took more than {limit} requests "
        "without finishing, so the front door is sending it round in a loop; check "
        "`host` and the gateway's oauth2-proxy and Dex settings. Redirect trail: {trail}"
    )


class SessionCacheError(KfpProfilesError):
    fmt = (
        "The session of profile '{profile}' could not be cached ({reason}); it is "
        "used for this process only: make {folder} writable or start a keyring."
    )


class SessionCacheTrustError(SessionCacheError):
    """No keyring, and the cache folder (or one above it) is not this user's."""

    fmt = (
        "The session of profile '{profile}' could not be cached ({reason}); it is "
        "used for this process only: {fix}, or start a keyring."
    )


class SessionError(LoginError):
    """A session could not be renewed, or the server keeps refusing it."""


class StillRefusedError(SessionError):
    fmt = (
        "{url} still answered {why} right after a new login for profile '{profile}': "
        "the account may lack access to namespace '{namespace}'; run "
        "`kfp-profiles check {profile}`."
    )


class ApiError(KfpProfilesError):
    """The KFP API answered with an error we can explain."""

    exit_code = 7
