"""Names and paths fixed by Kubeflow, the KFP SDK or this product's contract (README.md).

One home for each: a module that needs one imports it from here. Nothing here
imports anything, so every module, even the lightest, may use it.
"""

from __future__ import annotations

# --- the KFP API --------------------------------------------------------------------------

#: The API server's health endpoint; answers JSON without a session on every release.
HEALTHZ_PATH = "/apis/v2beta1/healthz"

# --- the projected ServiceAccount token of a Kubeflow Platform pod -------------------------

#: The audience the KFP API server accepts (the KFP guide's projected volume).
TOKEN_AUDIENCE = "pipelines.kubeflow.org"
#: Where the KFP guide mounts that token.
DEFAULT_TOKEN_PATH = "/var/run/secrets/kubeflow/pipelines/token"
#: The SDK's variable naming where the token is mounted; the SDK reads it too.
SDK_TOKEN_PATH_ENV = "KF_PIPELINES_SA_TOKEN_PATH"
#: The pod's own namespace, written by Kubernetes into every pod.
POD_NAMESPACE_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
#: Set by Kubernetes in every container of a pod: the API server's address.
KUBERNETES_HOST_ENV = "KUBERNETES_SERVICE_HOST"

# --- the SDK's other variables ------------------------------------------------------------

SDK_ENDPOINT_ENV = "KF_PIPELINES_ENDPOINT"
SDK_UI_ENDPOINT_ENV = "KF_PIPELINES_UI_ENDPOINT"
#: What the kfp CLI reads for ``--existing-token`` (click's KFP_ prefix).
SDK_EXISTING_TOKEN_ENV = "KFP_EXISTING_TOKEN"

# --- this product's variables (README.md) -------------------------------------------------

#: Selects the profile when no name is passed.
PROFILE_ENV = "KFP_PROFILE"
#: ``:``-separated profiles files, merged like KUBECONFIG.
PROFILES_FILE_ENV = "KFP_PROFILES_FILE"
#: A Dex password for this process, instead of the keyring.
PASSWORD_ENV = "KFP_PASSWORD"
#: Refuses a profile of another kind (a guard, not an override).
KIND_ENV = "KFP_KIND"
#: Prefix of the per-field overrides: ``KFP_HOST``, ``KFP_NAMESPACE``, ...
FIELD_ENV_PREFIX = "KFP_"
