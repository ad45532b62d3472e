"""Errors of the profiles file, its profiles, edits of it and manifests built from it (exit 2)."""

from __future__ import annotations

from typing import Any, ClassVar

from .base import KfpProfilesError

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


class ProfilesFileTrustError(ProfilesFilePermissionError):
    """The file, a folder above it or a symlink on the way is not this user's (ssh's StrictModes).

    ``problem`` follows ``path`` (e.g. "is owned by uid 12345, not by you or root");
    ``refused`` says what was not done (e.g. for a new file, that it was not written).
    """

    fmt = "{path} {problem}, so {refused}; {fix}."
    defaults: ClassVar[dict[str, Any]] = {"refused": "it is not used"}


class ProfilesFileIsDirectoryError(ConfigError):
    fmt = (
        "{path} is a directory, not a profiles file; point KFP_PROFILES_FILE "
        "at a file such as {suggested}."
    )
    cli_fmt = (
        "{path} is a directory, not a profiles file; point --file (or KFP_PROFILES_FILE) "
        "at a file such as {suggested}."
    )


class ProfilesFileReadError(ConfigError):
    fmt = (
        "{path} cannot be read as a profiles file ({reason}); point KFP_PROFILES_FILE "
        "at a profiles file."
    )
    cli_fmt = (
        "{path} cannot be read as a profiles file ({reason}); point --file (or "
        "KFP_PROFILES_FILE) at a profiles file."
    )


class ProfilesFileNotRegularError(ConfigError):
    fmt = (
        "{path} is not a regular file, so it cannot hold profiles; point KFP_PROFILES_FILE "
        "at a profiles file."
    )
    cli_fmt = (
        "{path} is not a regular file, so it cannot hold profiles; point --file (or "
        "KFP_PROFILES_FILE) at a profiles file."
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


class ProfileNameTypeError(ConfigError):
    fmt = (
        'A profile name is text, like "prod", but a {type} was passed; pass the '
        "profile's name, or None for KFP_PROFILE or the file's default."
    )


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


class FieldEditError(ConfigError):
    fmt = "Profile '{profile}': cannot change `{field}`: {problem}."


class CaBundleError(ConfigError):
    fmt = (
        "Profile '{profile}': `ca_bundle` {path} (set in {source}) {problem}; point it at "
        "the PEM file of your cluster's CA, or remove it to trust the system's CAs."
    )


class CaBundleOptionError(ConfigError):
    fmt = "{option} {path} {problem}; pass the PEM file of your cluster's CA."


class KindOptionMissingError(ConfigError):
    fmt = "Profile '{profile}' needs a kind: pass --kind with one of {kinds}."


class OptionNotOfKindError(ConfigError):
    fmt = "{option} does not apply to kind '{kind}'; its options are {valid}."


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
    fmt = "Profile '{profile}' already exists in {path}: pass replace=True to overwrite it."
    cli_fmt = "Profile '{profile}' already exists in {path}: pass --replace to overwrite it."


class RenameTargetExistsError(ProfileExistsError):
    fmt = (
        "Profile '{profile}' already exists in {path}: choose another name, or remove it "
        "first with `kfp-profiles remove {profile}`."
    )


class ProfilesFileExistsError(ConfigError):
    fmt = (
        "{path} already exists: edit it or add profiles with `kfp-profiles add`, or pass "
        "force=True to replace it (the old file is kept as {path}.bak)."
    )
    cli_fmt = (
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


# --- bringing an old setup in (kfp_profiles.importing) -----------------------


class ImportSourceError(ConfigError):
    """A file `import` reads cannot be used as what it should be."""


class ElyraRuntimeReadError(ImportSourceError):
    fmt = (
        "Elyra runtime {path} cannot be read ({reason}), so it was not imported; make it "
        "readable by this user and import again."
    )


class ElyraRuntimeFormatError(ImportSourceError):
    fmt = (
        "Elyra runtime {path} is not a runtime configuration ({problem}), so it was not "
        "imported; fix or remove it in Elyra's Runtimes panel and import again."
    )


class ElyraAuthTypeError(ImportSourceError):
    fmt = (
        "Elyra runtime {path} has auth_type {auth_type!r}, which kfp-profiles cannot map "
        "(it knows {known}); add this profile with `kfp-profiles add`."
    )


class KfpContextFileError(ImportSourceError):
    fmt = (
        "{path} cannot be read as the KFP SDK's context file ({reason}); pass the file the "
        "SDK wrote, or add the profile with add_profile()."
    )
    cli_fmt = (
        "{path} cannot be read as the KFP SDK's context file ({reason}); add the profile "
        "with `kfp-profiles add` instead."
    )


class KfpContextHostError(ImportSourceError):
    fmt = (
        "{path} holds no host (the KFP SDK keeps only a namespace and cookies there): pass "
        "host= with the Kubeflow Pipelines URL, or set KF_PIPELINES_ENDPOINT."
    )
    cli_fmt = (
        "{path} holds no host (the KFP SDK keeps only a namespace and cookies there): pass "
        "--host with the Kubeflow Pipelines URL, or set KF_PIPELINES_ENDPOINT."
    )


class ImportOptionError(ConfigError):
    fmt = (
        "{option} applies to the KFP SDK's context.json only: pass source='kfp-context' "
        "with it, or leave it out to import Elyra's runtimes."
    )
    cli_fmt = (
        "--{option} applies to the KFP SDK's context.json only: pass --from-kfp-context "
        "with it, or leave it out to import Elyra's runtimes."
    )
