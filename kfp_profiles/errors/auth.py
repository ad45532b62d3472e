"""Errors of secrets, tokens, the login, the session and the API: proving who you are."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from .base import KfpProfilesError
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


class NoPasswordKindError(ConfigError):
    """A password was offered to a kind that logs in without one."""

    fmt = (
        "Profile '{profile}' is of kind '{kind}', which logs in with no password; "
        "only platform-dex profiles have one."
    )


class NoPipedPasswordError(ConfigError):
    fmt = (
        "No password on stdin for profile '{profile}': pipe it in (e.g. `pass kf | "
        "kfp-profiles secret set {profile}`) or run this command at a terminal."
    )


class KeyringUnavailableError(SecretError):
    fmt = (
        "The OS keyring cannot be used ({reason}) for profile '{profile}': set "
        "KFP_PASSWORD, pass password=..., or start a Secret Service (or choose a "
        "backend with PYTHON_KEYRING_BACKEND) and run `kfp-profiles secret set "
        "{profile}`."
    )


class KeyringStoreError(KeyringUnavailableError):
    """Storing failed: the fix cannot be `secret set`, the command that just failed."""

    fmt = (
        "The OS keyring cannot store secrets ({reason}), so nothing was stored for profile "
        "'{profile}': start a Secret Service or choose a backend that stores with "
        "PYTHON_KEYRING_BACKEND, or set KFP_PASSWORD instead."
    )


class KeyringDeleteError(KeyringUnavailableError):
    fmt = (
        "The OS keyring cannot be used ({reason}), so nothing was deleted for profile "
        "'{profile}': start or unlock the keyring that holds the password (a Secret Service, "
        "or the backend PYTHON_KEYRING_BACKEND names) and run `kfp-profiles secret delete "
        "{profile}` again."
    )


# --- credentials in a pod ------------------------------------------------------


class TokenFileError(KfpProfilesError):
    fmt = (
        "Profile '{profile}': the ServiceAccount token file {path} {problem}; "
        "the pod needs a projected token volume (audience pipelines.kubeflow.org) "
        "mounted at {folder} (see `kfp-profiles manifest poddefault`), or set "
        "KF_PIPELINES_SA_TOKEN_PATH to where it is mounted."
    )
    exit_code = 4


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


class InvalidCredentialsError(LoginError):
    fmt = (
        "Dex at {host} rejected the password of '{username}' (connector "
        "'{connector}') for profile '{profile}': run `kfp-profiles secret set "
        "{profile}` to store the right one."
    )


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


class SessionError(LoginError):
    """A session could not be renewed, or the server keeps refusing it."""


class BehindLoginError(SessionError):
    fmt = (
        "{url} answered {why} for profile '{profile}' (kind {kind}): this host sits "
        "behind a login; use a platform-dex profile for it."
    )


class StillRefusedError(SessionError):
    fmt = (
        "{url} still answered {why} right after a new login for profile '{profile}': "
        "the account may lack access to namespace '{namespace}'; run "
        "`kfp-profiles check {profile}`."
    )


class ApiError(KfpProfilesError):
    """The KFP API answered with an error we can explain."""

    exit_code = 7
