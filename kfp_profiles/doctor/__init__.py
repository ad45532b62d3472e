"""What ``kfp-profiles doctor`` and ``kfp-profiles check`` find out.

``doctor`` (:mod:`.report`) reports what a user would otherwise debug by
hand: which profiles file is used and its permissions, the keyring backend and
whether it answers, whether this is a pod, kubectl and its contexts
(:mod:`.machine`), the ServiceAccount token with its decoded audience, expiry
and namespace, never the token (:mod:`.token`), and a fingerprint of the front
door at a host (:mod:`.fingerprint`): none, oauth2-proxy (first or second
config), oidc-authservice, the Dex connectors offered and whether Dex will
show its approval page, with the profile it suggests. For the token kinds
(:mod:`.bearer`): the profile's token described, whether the door takes bearer
tokens (one request with a bearer that is no JWT), and for ``platform-oidc`` the
discovery document (rewritten to the profile's issuer or not, the flows offered).

``check`` (:mod:`.check`) tries a profile the way ``get_client`` uses it,
one timed step at a time; for the token kinds its authenticate step gets the
token and names its subject, issuer, audience and remaining life.
"""

from __future__ import annotations

from .check import CHECK_STEPS, Step, run_check
from .findings import Finding, Status
from .fingerprint import (
    FingerprintFlow,
    FrontDoor,
    fingerprint,
    fingerprint_flow,
    fingerprint_profile,
)
from .machine import check_files, check_in_cluster, check_keyring, check_kubectl
from .report import describe_door, render_suggestion, run_doctor
from .token import decode_jwt_claims, describe_token, describe_token_file, token_path_in_use

__all__ = [
    "CHECK_STEPS",
    "Finding",
    "FingerprintFlow",
    "FrontDoor",
    "Status",
    "Step",
    "check_files",
    "check_in_cluster",
    "check_keyring",
    "check_kubectl",
    "decode_jwt_claims",
    "describe_door",
    "describe_token",
    "describe_token_file",
    "fingerprint",
    "fingerprint_flow",
    "fingerprint_profile",
    "render_suggestion",
    "run_check",
    "run_doctor",
    "token_path_in_use",
]
