"""Every error kfp-profiles raises: one hierarchy, one sentence each.

Each class carries a ``fmt`` template filled from keyword fields, in the
manner of botocore: the fields stay available to code (``err.profile``,
``err.path``) and the message always says what is wrong and how to fix it.
Messages never contain a secret: callers pass names and paths, not values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal


class KfpProfilesError(Exception):
    """Base class of every error kfp-profiles raises."""

    fmt: ClassVar[str] = "{message}"
    #: Exit status of the command line for this error (documented in the README).
    exit_code: ClassVar[int] = 1
    #: Values of fields a caller may leave out.
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        fields = {**self.defaults, **fields}
        self.fields = fields
        for key, value in fields.items():
            setattr(self, key, value)
        if message is None:
            message = self.fmt.format(**fields)
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


# --- the profiles file and its profiles --------------------------------------


class ConfigError(KfpProfilesError):
    """The profiles file, or a profile in it, is wrong."""

    exit_code = 2


class ProfilesFileNotFoundError(ConfigError):
    fmt = (
        "No profiles file at {path}: run `kfp-profiles init` to create one, "
        "or point KFP_PROFILES_FILE at an existing file."
    )


class ProfilesFileParseError(ConfigError):
    fmt = "{path}:{line}:{column}: {problem}; {fix}."


class ProfilesFilePermissionError(ConfigError):
    fmt = "{path} {problem}; run `chmod {mode:o} {path}`."


class ProfilesFileIsDirectoryError(ConfigError):
    fmt = (
        "{path} is a directory, not a profiles file; point KFP_PROFILES_FILE (or --file) "
        "at a file such as {suggested}."
    )


class ProfilesFileNotRegularError(ConfigError):
    fmt = (
        "{path} is not a regular file, so it cannot hold profiles; point KFP_PROFILES_FILE "
        "(or --file) at a profiles file."
    )


class ProfilesFileUnreadableError(ConfigError):
    fmt = "{path} cannot be read by this user; fix its owner or run `chmod 600 {path}`."


class UnknownTopLevelKeyError(ConfigError):
    fmt = (
        "{path}: unknown top-level key `{key}`{hint}; a profile goes in a "
        "[profiles.NAME] table and the file may also set `default` and `version`."
    )


class TopLevelValueError(ConfigError):
    fmt = "{path}: {problem}."


class NewerFileVersionError(ConfigError):
    fmt = (
        "{path}: `version = {version}` is newer than this kfp-profiles understands; "
        "upgrade kfp-profiles."
    )


class ProfileNotFoundError(ConfigError):
    fmt = "No profile named '{profile}' in {where}{hint}."


class NoProfileSelectedError(ConfigError):
    fmt = (
        "No profile selected and {where} sets no `default`: pass a name, "
        "set KFP_PROFILE{choices}, or run `kfp-profiles use NAME`."
    )


class ProfileValidationError(ConfigError):
    """A profile's values are wrong: names the profile, the file and the field."""

    fmt = "Profile '{profile}' in {source}: {problem}"


class SecretInFileError(ProfileValidationError):
    fmt = (
        "Profile '{profile}' in {source}: `{field}` must not be stored in the file; "
        "remove it and run `kfp-profiles secret set {profile}` "
        "(or set {variable} for one process)."
    )
    defaults: ClassVar[dict[str, Any]] = {"variable": "KFP_PASSWORD"}


class KindChangeError(ProfileValidationError):
    fmt = (
        "Profile '{profile}' is of kind '{kind}' but KFP_KIND='{env_kind}': the "
        "environment cannot change a profile's kind; unset KFP_KIND or pick "
        "another profile with KFP_PROFILE."
    )


class KindArgumentError(KindChangeError):
    fmt = (
        "Profile '{profile}' in {file} is of kind '{kind}' but kind={wanted!r} was passed: "
        "a keyword argument cannot change a profile's kind; drop kind= or pass the name "
        "of a profile of kind {wanted!r}."
    )


class UnknownFieldArgumentError(ProfileValidationError):
    fmt = (
        "Profile '{profile}' in the keyword arguments: `{field}` is not a field of "
        "kind '{kind}'{hint}."
    )


# --- Kubernetes manifests (kfp_profiles.manifests) ---------------------------


class ManifestValueError(ConfigError):
    """A value that would make an invalid Kubernetes object."""

    fmt = "{problem}."


class NamespaceOptionMissingError(ManifestValueError):
    fmt = (
        "{option} is required{where}: pass the Kubeflow profile namespace, e.g. "
        "{option} kubeflow-user-example-com, or --profile NAME."
    )


class KubernetesNameError(ManifestValueError):
    fmt = "{what} '{value}' is not a valid Kubernetes name: use {rule}."


# --- editing the profiles file (kfp_profiles.editing) -------------------------


class ProfileNameError(ConfigError):
    fmt = (
        "'{name}' is not a usable profile name: use letters, digits, '-', '_', '.' "
        "or '@', starting with a letter or digit (at most {limit} characters)."
    )


class ProfileExistsError(ConfigError):
    fmt = "Profile '{profile}' already exists in {path}: pass --replace to overwrite it."


class RenameTargetExistsError(ProfileExistsError):
    fmt = (
        "Profile '{profile}' already exists in {path}: choose another name, or remove it "
        "first with `kfp-profiles remove {profile}`."
    )


class ProfilesFileExistsError(ConfigError):
    fmt = (
        "{path} already exists: edit it or add profiles with `kfp-profiles add`, or run "
        "`kfp-profiles init --force` to replace it (the old file is kept as {path}.bak)."
    )


class FileEditError(ConfigError):
    fmt = (
        "Cannot {action} '{profile}' in {path} without touching lines outside it "
        "({why}); make this change by hand, the file was left as it was."
    )


class ProfilesFileWriteError(KfpProfilesError):
    fmt = "Cannot write {path}: {problem}; make its folder writable by this user."


class ProfilesFileLockedError(KfpProfilesError):
    fmt = (
        "Another kfp-profiles command has been editing {path} for {seconds:g} s (it "
        "holds {lock}); try again when it has finished."
    )


class CannotEditError(KfpProfilesError):
    """An edit that would touch lines outside its profile; told as FileEditError's ``why``."""


class NotOneTableError(CannotEditError):
    """Written inline, as dotted keys, with a sub-table or twice: no one span of lines."""

    fmt = "the profile is not written as one [profiles.{key}] table"


class EditCheckError(CannotEditError):
    """The spliced text fails the check made before writing it: parse it, compare the data."""


class EditWouldNotParseError(EditCheckError):
    fmt = "the result would not parse: {problem}"


class EditMismatchError(EditCheckError):
    """The spliced text parses, but to other data than the edit should give."""

    fmt = "the result would not hold exactly this change"


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


# --- doctor and check (kfp_profiles.doctor) ------------------------------------


class HostOptionError(ConfigError):
    fmt = (
        "--host must be an http:// or https:// URL, like "
        "http://localhost:8080/pipeline (got '{host}')."
    )


class TokenCheckError(ConfigError):
    """`check` of a platform-in-cluster profile found a token the KFP API would refuse."""

    fmt = "Profile '{profile}': the token {problem}."


# --- kubectl port-forward ----------------------------------------------------


class NotAPortForwardProfileError(ConfigError):
    fmt = (
        "Profile '{profile}' is of kind '{kind}': only standalone-port-forward profiles "
        "have a port-forward."
    )


class PortForwardError(KfpProfilesError):
    """A managed ``kubectl port-forward`` could not be started or made ready.

    Subclasses raised after kubectl ran carry ``kubectl_message``, kubectl's
    own line, and ``command``, the command line that was run.
    """

    fmt = "Profile '{profile}': `{command}` failed: {kubectl_message}"
    exit_code = 8

    # Set from the keyword fields by KfpProfilesError.__init__; declared for type checkers.
    profile: str
    kubectl_message: str | None


class KubectlNotFoundError(PortForwardError):
    fmt = (
        "Profile '{profile}' needs kubectl to port-forward, but '{kubectl}' {problem}: "
        "install kubectl (https://kubernetes.io/docs/tasks/tools/, or Debian's "
        "`kubernetes-client` package), or set `kubectl` in the profile to its path."
    )


class KubeContextNotFoundError(PortForwardError):
    fmt = (
        "Profile '{profile}': kubectl says `{kubectl_message}`; set `kube_context` to "
        "one of the contexts `kubectl config get-contexts` lists, or remove it to use "
        "kubectl's current context."
    )


class ForwardTargetNotFoundError(PortForwardError):
    """The namespace, service or service port the profile names does not exist."""


class NamespaceNotFoundError(ForwardTargetNotFoundError):
    fmt = (
        "Profile '{profile}': kubectl says `{kubectl_message}`; set `k8s_namespace` "
        "to the namespace where KFP's `{service}` service runs "
        "(`kubectl get services --all-namespaces` lists them)."
    )


class ServiceNotFoundError(ForwardTargetNotFoundError):
    fmt = (
        "Profile '{profile}': kubectl says `{kubectl_message}` in namespace "
        "'{k8s_namespace}'; check `service` and `k8s_namespace` in the profile "
        "(`kubectl get services --all-namespaces` lists them)."
    )


class ServicePortNotFoundError(ForwardTargetNotFoundError):
    fmt = (
        "Profile '{profile}': kubectl says `{kubectl_message}`; set `remote_port` to "
        "a port that `kubectl get service {service} --namespace {k8s_namespace}` shows."
    )


class LocalPortInUseError(PortForwardError):
    fmt = (
        "Profile '{profile}': local port {port} is already in use ({holder}); choose "
        "another `local_port` in the profile, or 0 to let kubectl pick a free one."
    )


class PortForwardTimeoutError(PortForwardError):
    fmt = (
        "Profile '{profile}': `{command}` was not ready within {timeout:g} s "
        "({stage}); check that a pod behind svc/{service} in namespace "
        "'{k8s_namespace}' is running, or raise the profile's `timeout`."
    )


class PortForwardExitedError(PortForwardError):
    fmt = (
        "Profile '{profile}': `{command}` exited with status {status}: "
        "`{kubectl_message}`; run that command yourself to see all of its output."
    )


# Variants that say in their message what their base class takes as a field.


class KubectlNotRunnableError(KubectlNotFoundError):
    fmt = KubectlNotFoundError.fmt.replace("{problem}", "cannot be run ({reason})")


class KubectlCannotListenError(LocalPortInUseError):
    fmt = LocalPortInUseError.fmt.replace("{holder}", "kubectl says `{kubectl_message}`")


class ForwardNotAnsweringError(PortForwardTimeoutError):
    fmt = PortForwardTimeoutError.fmt.replace(
        "{stage}", "localhost:{port} did not answer HTTP through the forward"
    )


# --- hints shared by the messages above ----------------------------------------
# Here, with the errors, so that files.py (shell completion, `load_config`) can
# suggest a name without importing the models, and so pydantic.


def closest(word: str, choices: Any) -> str | None:
    """The choice a typo most likely meant, or None."""
    import difflib  # only on bad input: `list` of a good file never needs it

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(word: str, choices: Any) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or nothing."""
    guess = closest(word, choices)
    return f" (did you mean '{guess}'?)" if guess else ""
