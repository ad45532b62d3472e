"""Every error kfp-profiles raises: one hierarchy, one sentence each.

Each class carries a ``fmt`` template filled from keyword fields, in the
manner of botocore: the fields stay available to code (``err.profile``,
``err.path``) and the message always says what is wrong and how to fix it.
Messages never contain a secret: callers pass names and paths, not values.
The classes live in one module per area; import them from here.
"""

from __future__ import annotations

from .auth import (
    ApiError as ApiError,
)
from .auth import (
    ConnectionFailedError as ConnectionFailedError,
)
from .auth import (
    DeadlineExceededError as DeadlineExceededError,
)
from .auth import (
    InsecurePasswordPostError as InsecurePasswordPostError,
)
from .auth import (
    InvalidCredentialsError as InvalidCredentialsError,
)
from .auth import (
    KeyringDeleteError as KeyringDeleteError,
)
from .auth import (
    KeyringStoreError as KeyringStoreError,
)
from .auth import (
    KeyringUnavailableError as KeyringUnavailableError,
)
from .auth import (
    LoginError as LoginError,
)
from .auth import (
    LoginFlowError as LoginFlowError,
)
from .auth import (
    LoginStop as LoginStop,
)
from .auth import (
    NoPasswordKindError as NoPasswordKindError,
)
from .auth import (
    NoPipedPasswordError as NoPipedPasswordError,
)
from .auth import (
    PasswordMissingError as PasswordMissingError,
)
from .auth import (
    PlainHttpOverrideError as PlainHttpOverrideError,
)
from .auth import (
    ResponseTooLargeError as ResponseTooLargeError,
)
from .auth import (
    SecretError as SecretError,
)
from .auth import (
    SecretKindError as SecretKindError,
)
from .auth import (
    SecretTextError as SecretTextError,
)
from .auth import (
    SessionCacheError as SessionCacheError,
)
from .auth import (
    SessionCacheTrustError as SessionCacheTrustError,
)
from .auth import (
    SessionError as SessionError,
)
from .auth import (
    StillRefusedError as StillRefusedError,
)
from .auth import (
    StoredSecretElsewhereError as StoredSecretElsewhereError,
)
from .auth import (
    TokenFileError as TokenFileError,
)
from .auth import (
    TokenFileTrustError as TokenFileTrustError,
)
from .auth import (
    TooManyRedirectsError as TooManyRedirectsError,
)
from .auth import (
    UnknownConnectorError as UnknownConnectorError,
)
from .base import (
    KfpProfilesError as KfpProfilesError,
)
from .base import (
    Wording as Wording,
)
from .base import (
    closest as closest,
)
from .base import (
    did_you_mean as did_you_mean,
)
from .bearer import (
    BearerRefusedError as BearerRefusedError,
)
from .bearer import (
    BearerTokenError as BearerTokenError,
)
from .bearer import (
    NoBearerKindError as NoBearerKindError,
)
from .bearer import (
    StoredTokenElsewhereError as StoredTokenElsewhereError,
)
from .bearer import (
    TokenCommandError as TokenCommandError,
)
from .bearer import (
    TokenCommandNotFoundError as TokenCommandNotFoundError,
)
from .bearer import (
    TokenCommandOutputError as TokenCommandOutputError,
)
from .bearer import (
    TokenCommandTimeoutError as TokenCommandTimeoutError,
)
from .bearer import (
    TokenExpiredError as TokenExpiredError,
)
from .bearer import (
    TokenMissingError as TokenMissingError,
)
from .bearer import (
    TokenPathError as TokenPathError,
)
from .bearer import (
    TokenTextError as TokenTextError,
)
from .config import (
    CaBundleError as CaBundleError,
)
from .config import (
    CaBundleOptionError as CaBundleOptionError,
)
from .config import (
    CannotEditError as CannotEditError,
)
from .config import (
    ConfigError as ConfigError,
)
from .config import (
    EditCheckError as EditCheckError,
)
from .config import (
    EditMismatchError as EditMismatchError,
)
from .config import (
    EditWouldNotParseError as EditWouldNotParseError,
)
from .config import (
    ElyraAuthTypeError as ElyraAuthTypeError,
)
from .config import (
    ElyraRuntimeFormatError as ElyraRuntimeFormatError,
)
from .config import (
    ElyraRuntimeReadError as ElyraRuntimeReadError,
)
from .config import (
    FieldEditError as FieldEditError,
)
from .config import (
    FileEditError as FileEditError,
)
from .config import (
    ImportOptionError as ImportOptionError,
)
from .config import (
    ImportSourceError as ImportSourceError,
)
from .config import (
    KfpContextFileError as KfpContextFileError,
)
from .config import (
    KfpContextHostError as KfpContextHostError,
)
from .config import (
    KindArgumentError as KindArgumentError,
)
from .config import (
    KindChangeError as KindChangeError,
)
from .config import (
    KindOptionMissingError as KindOptionMissingError,
)
from .config import (
    KubernetesNameError as KubernetesNameError,
)
from .config import (
    ManifestValueError as ManifestValueError,
)
from .config import (
    NamespaceOptionMissingError as NamespaceOptionMissingError,
)
from .config import (
    NewerFileVersionError as NewerFileVersionError,
)
from .config import (
    NoProfileSelectedError as NoProfileSelectedError,
)
from .config import (
    NotOneTableError as NotOneTableError,
)
from .config import (
    OptionNotOfKindError as OptionNotOfKindError,
)
from .config import (
    ProfileExistsError as ProfileExistsError,
)
from .config import (
    ProfileNameError as ProfileNameError,
)
from .config import (
    ProfileNameTypeError as ProfileNameTypeError,
)
from .config import (
    ProfileNotFoundError as ProfileNotFoundError,
)
from .config import (
    ProfilesFileExistsError as ProfilesFileExistsError,
)
from .config import (
    ProfilesFileIsDirectoryError as ProfilesFileIsDirectoryError,
)
from .config import (
    ProfilesFileLockedError as ProfilesFileLockedError,
)
from .config import (
    ProfilesFileNotFoundError as ProfilesFileNotFoundError,
)
from .config import (
    ProfilesFileNotRegularError as ProfilesFileNotRegularError,
)
from .config import (
    ProfilesFileParseError as ProfilesFileParseError,
)
from .config import (
    ProfilesFilePermissionError as ProfilesFilePermissionError,
)
from .config import (
    ProfilesFileReadError as ProfilesFileReadError,
)
from .config import (
    ProfilesFileTrustError as ProfilesFileTrustError,
)
from .config import (
    ProfilesFileUnreadableError as ProfilesFileUnreadableError,
)
from .config import (
    ProfilesFileWriteError as ProfilesFileWriteError,
)
from .config import (
    ProfileValidationError as ProfileValidationError,
)
from .config import (
    RenameTargetExistsError as RenameTargetExistsError,
)
from .config import (
    SecretInFileError as SecretInFileError,
)
from .config import (
    TopLevelValueError as TopLevelValueError,
)
from .config import (
    UnknownFieldArgumentError as UnknownFieldArgumentError,
)
from .config import (
    UnknownTopLevelKeyError as UnknownTopLevelKeyError,
)
from .doctor import (
    HostOptionError as HostOptionError,
)
from .doctor import (
    TokenCheckError as TokenCheckError,
)
from .oidc import (
    OidcClientRefusedError as OidcClientRefusedError,
)
from .oidc import (
    OidcDeviceCodeExpiredError as OidcDeviceCodeExpiredError,
)
from .oidc import (
    OidcDiscoveryError as OidcDiscoveryError,
)
from .oidc import (
    OidcError as OidcError,
)
from .oidc import (
    OidcRefreshRefusedError as OidcRefreshRefusedError,
)
from .oidc import (
    OidcSignInAgainError as OidcSignInAgainError,
)
from .oidc import (
    OidcSignInDeniedError as OidcSignInDeniedError,
)
from .oidc import (
    OidcSignInNeededError as OidcSignInNeededError,
)
from .oidc import (
    OidcSignInTimeoutError as OidcSignInTimeoutError,
)
from .oidc import (
    OidcStateMismatchError as OidcStateMismatchError,
)
from .oidc import (
    OidcTokenEndpointError as OidcTokenEndpointError,
)
from .oidc import (
    OidcTokenInvalidError as OidcTokenInvalidError,
)
from .portforward import (
    ForwardNotAnsweringError as ForwardNotAnsweringError,
)
from .portforward import (
    ForwardTargetNotFoundError as ForwardTargetNotFoundError,
)
from .portforward import (
    KubeContextNotFoundError as KubeContextNotFoundError,
)
from .portforward import (
    KubectlCannotListenError as KubectlCannotListenError,
)
from .portforward import (
    KubectlNotFoundError as KubectlNotFoundError,
)
from .portforward import (
    KubectlNotRunnableError as KubectlNotRunnableError,
)
from .portforward import (
    LocalPortInUseError as LocalPortInUseError,
)
from .portforward import (
    NamespaceNotFoundError as NamespaceNotFoundError,
)
from .portforward import (
    NotAPortForwardProfileError as NotAPortForwardProfileError,
)
from .portforward import (
    PortForwardError as PortForwardError,
)
from .portforward import (
    PortForwardExitedError as PortForwardExitedError,
)
from .portforward import (
    PortForwardTimeoutError as PortForwardTimeoutError,
)
from .portforward import (
    ServiceNotFoundError as ServiceNotFoundError,
)
from .portforward import (
    ServicePortNotFoundError as ServicePortNotFoundError,
)
from .refusals import (
    BehindLoginError as BehindLoginError,
)
from .refusals import (
    NamespaceAccessError as NamespaceAccessError,
)
from .refusals import (
    TokenRefusedError as TokenRefusedError,
)

#: What each exit status of the command line means (the README's table).
EXIT_MEANINGS = {
    0: "success",
    1: "another error: the file cannot be written or is locked, `doctor` found a problem, "
    "or an unexpected error (run with `--debug`)",
    2: "the command line, the profiles file or a profile is wrong",
    3: "the password or the OS keyring",
    4: "the ServiceAccount token or its file",
    5: "the host cannot be reached in time: refused, DNS, TLS, timeout, too large an answer",
    6: "the login through the front door, or the session",
    7: "the KFP API refused or failed the request",
    8: "`kubectl port-forward` could not be started or made ready",
    130: "interrupted (Ctrl-C)",
}


def exit_status_table() -> str:
    """The README's exit-status table: each status, its meaning, and every error class with
    it (a test keeps the README in step with the classes)."""
    import inspect

    classes: dict[int, list[str]] = {}
    for name, value in sorted(globals().items()):
        if inspect.isclass(value) and issubclass(value, KfpProfilesError):
            classes.setdefault(value.exit_code, []).append(f"`{name}`")
    lines = ["| status | meaning | errors |", "|---|---|---|"]
    for status, meaning in EXIT_MEANINGS.items():
        lines.append(f"| {status} | {meaning} | {', '.join(classes.get(status, [])) or '-'} |")
    return "\n".join(lines) + "\n"
