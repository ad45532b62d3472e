"""The starter profiles file ``kfp-profiles init`` writes, and the schema file it names."""

from __future__ import annotations

import json

#: Written beside the profiles file by ``init``; the starter's first line names it.
SCHEMA_FILE_NAME = "profiles.schema.json"

_STARTER = """\
#:schema ./{schema}
# Connection profiles for the Kubeflow Pipelines SDK (kfp-profiles).
#
#   from kfp_profiles import get_client
#   client = get_client("dev")        # or get_client() with KFP_PROFILE=dev
#
# Add profiles with `kfp-profiles add NAME --kind KIND ...` or by hand below;
# `kfp-profiles list` shows them and `kfp-profiles check NAME` tries one.
# Passwords never go in this file: `kfp-profiles secret set NAME` stores one
# in the OS keyring (or set KFP_PASSWORD for one process).
# Editors that read the `#:schema` line above (Taplo, VS Code's Even Better TOML)
# check and complete this file as you type; `kfp-profiles schema` prints it again.

version = 1
# default = "dev"                   # used when no name is given and KFP_PROFILE is unset

# A laptop reaching a standalone KFP: kubectl port-forward is started for you.
# [profiles.dev]
# kind = "standalone-port-forward"
# k8s_namespace = "kubeflow"
# local_port = 3000
# kube_context = "kind-kfp"         # kubectl's current context when unset

# A laptop logging in to a Kubeflow Platform through Dex.
# [profiles.prod]
# kind = "platform-dex"
# host = "https://kubeflow.example.com/pipeline"
# username = "user@example.com"
# connector = "local"               # or "ldap"
# namespace = "kubeflow-user-example-com"
# ca_bundle = "~/certs/corp-ca.pem"

# A notebook or pipeline pod of a Kubeflow Platform (projected ServiceAccount token).
# [profiles.in-cluster]
# kind = "platform-in-cluster"
# namespace = "kubeflow-user-example-com"   # the pod's own namespace when unset

# CI jobs and services: a bearer token (a ServiceAccount token, Kubeflow 1.9+).
# [profiles.ci]
# kind = "platform-token"
# host = "https://kubeflow.example.com"
# namespace = "kubeflow-user-example-com"
# token_command = ["kubectl", "-n", "team", "create", "token", "default-editor"]

# A person signing in through the cluster's identity provider (single sign-on).
# [profiles.sso]
# kind = "platform-oidc"
# host = "https://kubeflow.example.com"
# namespace = "kubeflow-user-example-com"
# client_id = "kfp-profiles"     # the admin registers it: `kfp-profiles manifest oidc-client`

# A pod talking to a standalone KFP.
# [profiles.standalone]
# kind = "standalone-in-cluster"
# k8s_namespace = "kubeflow"
"""


def starter_file() -> str:
    """The commented starter profiles file: every kind as an example, none active."""
    return _STARTER.format(schema=SCHEMA_FILE_NAME)


def schema_text() -> str:
    """The JSON Schema of the profiles file, as ``kfp-profiles schema`` prints it."""
    from .schema import json_schema

    return json.dumps(json_schema(), indent=2) + "\n"
