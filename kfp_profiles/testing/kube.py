"""The Kubernetes side: ServiceAccounts, their tokens (TokenRequest), the JWKS, TokenReview.

The emulator serves this on a loopback server of its own (``Emulator.kube_url``,
plain HTTP, no authentication), the API server a ``kubectl create token`` talks to:

- ``POST /api/v1/namespaces/NS/serviceaccounts/SA/token`` (a TokenRequest):
  201 with ``status.token`` and ``status.expirationTimestamp``; 404 ``Status``
  for an unknown ServiceAccount; 422 for less than 10 minutes, as the API
  server answers. ``token_lifetime`` (seconds), when set, is the life the
  server gives every token instead (it "may adjust" it, say kubectl's docs);
- ``GET /.well-known/openid-configuration`` and ``GET /openid/v1/jwks``: the
  issuer's discovery document and keys;
- ``POST /apis/authentication.k8s.io/v1/tokenreviews``: a TokenReview.

Tokens look like a kind cluster's: issuer and default audience
``https://kubernetes.default.svc.cluster.local``, ``sub``
``system:serviceaccount:NS:SA``, the ``kubernetes.io`` claim with the
account's uid. A TokenReview accepts a token for a ServiceAccount that still
exists (same uid), signed by a key of the JWKS, unexpired, whose audiences
meet the requested ones; opaque tokens registered with ``tokens=`` pass too.
"""

from __future__ import annotations

import datetime
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kfp_profiles.testing import jwt
from kfp_profiles.testing.messages import Request, RequestLog, Response, json_response

ISSUER = "https://kubernetes.default.svc.cluster.local"
#: The accounts Kubeflow's profile controller makes in every profile namespace.
PROFILE_ACCOUNTS = ("default", "default-editor", "default-viewer")
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION = 600
_SA_PREFIX = "system:serviceaccount:"


def rfc3339(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(int(seconds), tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def account_name(namespace: str, name: str) -> str:
    return f"{_SA_PREFIX}{namespace}:{name}"


def split_account(username: str) -> tuple[str, str] | None:
    """``system:serviceaccount:NS:SA`` as ``(NS, SA)``; None for anything else."""
    if not username.startswith(_SA_PREFIX) or username.count(":") != 3:
        return None
    namespace, _, name = username.removeprefix(_SA_PREFIX).partition(":")
    return namespace, name


class KubeError(Exception):
    """An API server answer other than success, as a ``Status`` object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, str]) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def response(self) -> Response:
        return json_response(
            self.code,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": self.message,
                "reason": self.reason,
                "details": self.details,
                "code": self.code,
            },
        )


def _not_found(name: str) -> KubeError:
    return KubeError(
        404,
        "NotFound",
        f'serviceaccounts "{name}" not found',
        {"name": name, "kind": "serviceaccounts"},
    )


def _invalid_expiration(name: str, seconds: int, problem: str) -> KubeError:
    return KubeError(
        422,
        "Invalid",
        f'TokenRequest.authentication.k8s.io "{name}" is invalid: '
        f"spec.expirationSeconds: Invalid value: {seconds}: {problem}",
        {"name": name, "group": "authentication.k8s.io", "kind": "TokenRequest"},
    )


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str
    uid: str


class Kubernetes:
    """The ServiceAccounts of the emulated cluster and the keys of its token issuer."""

    def __init__(self, issuer: str = ISSUER, tokens: Mapping[str, str] | None = None) -> None:
        self.issuer = issuer
        self.keys = jwt.KeySet()
        #: Seconds every new token lives, whatever was asked (None: as asked).
        self.token_lifetime: float | None = None
        self._opaque = dict(tokens or {})
        self._lock = threading.Lock()
        self._accounts: dict[tuple[str, str], ServiceAccount] = {}
        self.log = RequestLog()
        self.tokens_created = 0
        for account in self._opaque.values():
            parts = split_account(account)
            if parts:
                self.add_service_account(*parts)

    # --- the cluster's contents ---------------------------------------------------

    def add_service_account(self, namespace: str, name: str) -> ServiceAccount:
        with self._lock:
            account = self._accounts.get((namespace, name))
            if account is None:
                account = ServiceAccount(namespace, name, str(uuid.uuid4()))
                self._accounts[(namespace, name)] = account
            return account

    def remove_service_account(self, namespace: str, name: str) -> None:
        """Delete it: its tokens fail TokenReview from now on (the gateway only checks keys)."""
        with self._lock:
            self._accounts.pop((namespace, name), None)

    def add_profile(self, namespace: str) -> None:
        """The accounts a Kubeflow profile namespace has."""
        for name in PROFILE_ACCOUNTS:
            self.add_service_account(namespace, name)

    def account(self, namespace: str, name: str) -> ServiceAccount | None:
        with self._lock:
            return self._accounts.get((namespace, name))

    # --- tokens ---------------------------------------------------------------------

    def create_token(
        self,
        namespace: str,
        name: str,
        *,
        audiences: Sequence[str] = (),
        expiration_seconds: int | None = None,
    ) -> tuple[str, float]:
        """A TokenRequest: the token and its expiry (epoch seconds), or ``KubeError``."""
        account = self.account(namespace, name)
        if account is None:
            raise _not_found(name)
        seconds = DEFAULT_EXPIRATION if expiration_seconds is None else expiration_seconds
        if seconds < MIN_EXPIRATION:
            raise _invalid_expiration(
                name, seconds, "may not specify a duration less than 10 minutes"
            )
        if seconds > 2**32:
            raise _invalid_expiration(
                name, seconds, "may not specify a duration larger than 2^32 seconds"
            )
        lifetime = seconds if self.token_lifetime is None else self.token_lifetime
        token, expires_at = self.mint(account, audiences=audiences, lifetime=lifetime)
        with self._lock:
            self.tokens_created += 1
        return token, expires_at

    def mint(
        self, account: ServiceAccount, *, audiences: Sequence[str] = (), lifetime: float = 3600
    ) -> tuple[str, float]:
        now = time.time()
        expires_at = int(now + lifetime)
        claims = {
            "aud": list(audiences) or [self.issuer],
            "exp": expires_at,
            "iat": int(now),
            "iss": self.issuer,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": {
                "namespace": account.namespace,
                "serviceaccount": {"name": account.name, "uid": account.uid},
            },
            "nbf": int(now),
            "sub": account_name(account.namespace, account.name),
        }
        return self.keys.sign(claims), float(expires_at)

    def review(self, token: str, audiences: Iterable[str] = ()) -> str | None:
        """TokenReview: the username behind ``token`` for ``audiences``, or None."""
        if token in self._opaque:
            return self._opaque[token]
        wanted = list(audiences) or [self.issuer]
        try:
            claims = jwt.verify(token, {self.issuer: self.keys}, audiences=wanted)
        except jwt.JwtRejected:
            return None
        identity = claims.get("kubernetes.io")
        parts = split_account(str(claims.get("sub", "")))
        if not isinstance(identity, dict) or parts is None:
            return None
        account = self.account(*parts)
        uid = (identity.get("serviceaccount") or {}).get("uid")
        if account is None or account.uid != uid:
            return None
        return account_name(*parts)

    # --- HTTP ------------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        self.log.record(req)
        parts = req.path.strip("/").split("/")
        if req.path == "/.well-known/openid-configuration" and req.method == "GET":
            return json_response(200, self._discovery(req))
        if req.path == "/openid/v1/jwks" and req.method == "GET":
            return json_response(200, self.keys.jwks())
        if req.path == "/apis/authentication.k8s.io/v1/tokenreviews" and req.method == "POST":
            return self._token_review(req)
        is_token_request = (
            len(parts) == 7
            and parts[:3] == ["api", "v1", "namespaces"]
            and parts[4] == "serviceaccounts"
            and parts[6] == "token"
        )
        if is_token_request and req.method == "POST":
            return self._token_request(req, parts[3], parts[5])
        return KubeError(
            404, "NotFound", "the server could not find the requested resource", {}
        ).response()

    def _discovery(self, req: Request) -> dict[str, Any]:
        host = req.headers.get("host", "127.0.0.1")
        return {
            "issuer": self.issuer,
            "jwks_uri": f"http://{host}/openid/v1/jwks",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def _token_request(self, req: Request, namespace: str, name: str) -> Response:
        try:
            body = req.json() or {}
            spec = body.get("spec") or {}
            audiences = [str(a) for a in spec.get("audiences") or []]
            seconds = spec.get("expirationSeconds")
            expiration = None if seconds is None else int(seconds)
        except (ValueError, TypeError, AttributeError):
            return KubeError(
                400, "BadRequest", "the body of the request was invalid", {}
            ).response()
        try:
            token, expires_at = self.create_token(
                namespace, name, audiences=audiences, expiration_seconds=expiration
            )
        except KubeError as error:
            return error.response()
        payload = {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "creationTimestamp": rfc3339(time.time()),
            },
            "spec": {
                "audiences": audiences or [self.issuer],
                "expirationSeconds": int(expires_at - time.time() + 0.5),
                "boundObjectRef": None,
            },
            "status": {"token": token, "expirationTimestamp": rfc3339(expires_at)},
        }
        return json_response(201, payload)

    def _token_review(self, req: Request) -> Response:
        try:
            spec = (req.json() or {}).get("spec") or {}
            token = str(spec.get("token") or "")
            audiences = [str(a) for a in spec.get("audiences") or []]
        except (ValueError, TypeError, AttributeError):
            return KubeError(
                400, "BadRequest", "the body of the request was invalid", {}
            ).response()
        username = self.review(token, audiences) if token else None
        status: dict[str, Any] = {"authenticated": username is not None}
        if username is not None:
            namespace = (split_account(username) or ("", ""))[0]
            status["user"] = {
                "username": username,
                "groups": [
                    "system:serviceaccounts",
                    f"system:serviceaccounts:{namespace}",
                    "system:authenticated",
                ],
            }
            status["audiences"] = audiences or [self.issuer]
        else:
            status["error"] = "[invalid bearer token, service account token has been invalidated]"
        payload = {
            "kind": "TokenReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": {"token": "", "audiences": audiences},
            "status": status,
        }
        return json_response(201, payload)
