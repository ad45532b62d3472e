"""How each release's gateway takes a bearer JWT: Istio, oauth2-proxy's JWT path, oidc-authservice.

- **Istio** (Kubeflow 1.9.1+; a request with ``Authorization`` bypasses
  oauth2-proxy): the RequestAuthentication for Dex's issuer (``email`` ->
  ``kubeflow-userid``) and, with the m2m overlay, for the cluster's
  ServiceAccount issuer (``sub`` -> ``kubeflow-userid``). No audience check
  unless ``audiences`` is set; Envoy's 60 s clock skew. A refused token gets
  401 ``text/plain`` with Envoy's reason and ``www-authenticate: Bearer
  realm="<url>", error="invalid_token"``.
- **oauth2-proxy's JWT path** (1.9.0, ``skip_jwt_bearer_tokens``): its own
  provider (Dex's issuer, audience ``kubeflow-oidc-authservice``) plus
  ``extra_jwt_issuers`` (issuer -> audience); the audience is checked, no
  clock skew. A failed token is only "no session": no cause is given.
- **oidc-authservice** (<= 1.8): its ID-token authenticator (Dex's issuer,
  audience its ``CLIENT_ID``) and its Kubernetes TokenReview authenticator
  (audiences ``authservice_audiences``); a failed token falls through to the
  login redirect.
- **The KFP API itself** (no door): TokenReview with audience
  ``pipelines.kubeflow.org``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kfp_profiles.testing import jwt
from kfp_profiles.testing.kube import Kubernetes
from kfp_profiles.testing.messages import Request, Response
from kfp_profiles.testing.oidc import CLIENT_ID, OidcProvider

#: The audience ml-pipeline asks TokenReview for.
KFP_AUDIENCE = "pipelines.kubeflow.org"
#: The other ServiceAccount issuer the ``m2m-dex-and-kind`` overlay trusts.
KIND_SECOND_ISSUER = "https://kubernetes.default.svc"


@dataclass
class GatewaySettings:
    """What the gateway trusts; the emulator's keywords of the same names set these.

    ``m2m_issuers``: the ServiceAccount issuers Istio trusts (None: the
    cluster's issuer and ``https://kubernetes.default.svc``, as the
    ``m2m-dex-and-kind`` overlay; ``()``: none, as ``m2m-dex-only``).
    ``audiences``: what Istio's rules require of ``aud`` (empty: unchecked).
    ``extra_jwt_issuers``: oauth2-proxy's issuer=audience pairs on 1.9.0
    (None: the cluster's issuer with its default audience).
    Change them while the emulator runs through ``emu.gateway``.
    """

    m2m_issuers: Sequence[str] | None = None
    audiences: Sequence[str] = ()
    clock_skew: float = 60.0
    clock_offset: float = 0.0  # seconds the gateway's clock is ahead of this machine's
    extra_jwt_issuers: Mapping[str, str] | None = None
    authservice_audiences: Sequence[str] = ("istio-ingressgateway.istio-system.svc.cluster.local",)


#: Istio's verdict: a refusal, the user it names, or None (no token, or no such claim).
Verdict = Response | str | None


class Gateway:
    """The bearer checks of every door, over the keys of Dex and of the cluster."""

    def __init__(
        self,
        settings: GatewaySettings,
        dex: OidcProvider,
        kube: Kubernetes,
        origin: Callable[[], str],
    ) -> None:
        self.settings = settings
        self._dex = dex
        self._kube = kube
        self._origin = origin

    def _m2m_issuers(self) -> Sequence[str]:
        configured = self.settings.m2m_issuers
        return (self._kube.issuer, KIND_SECOND_ISSUER) if configured is None else configured

    # --- Istio (1.9.1+) --------------------------------------------------------------

    def istio(self, req: Request) -> Verdict:
        """The RequestAuthentications at the ingress gateway, for a request's bearer token."""
        token = req.bearer
        if token is None:
            return None
        issuers = {self._dex.issuer: self._dex.keys}
        issuers.update({issuer: self._kube.keys for issuer in self._m2m_issuers()})
        try:
            claims = jwt.verify(
                token,
                issuers,
                audiences=self.settings.audiences,
                skew=self.settings.clock_skew,
                revoked=self._dex.revoked,
                now=time.time() + self.settings.clock_offset,
            )
        except jwt.JwtRejected as refusal:
            return self._refusal(req, str(refusal))
        claim = "email" if claims.get("iss") == self._dex.issuer else "sub"
        value = claims.get(claim)
        return str(value) if isinstance(value, str) and value else None

    def _refusal(self, req: Request, reason: str) -> Response:
        host = req.headers.get("host") or urlsplit_host(self._origin())
        scheme = self._origin().partition("://")[0]
        realm = f"{scheme}://{host}{req.path}"
        return Response(
            401,
            reason.encode(),
            "text/plain",
            [("www-authenticate", f'Bearer realm="{realm}", error="invalid_token"')],
        )

    # --- oauth2-proxy's JWT path (1.9.0) ----------------------------------------------

    def oauth2_proxy(self, token: str) -> str | None:
        """The user of a bearer JWT oauth2-proxy accepts as a session, else None."""
        extra = self.settings.extra_jwt_issuers
        if extra is None:
            extra = {self._kube.issuer: self._kube.issuer}
        pairs = [(self._dex.issuer, CLIENT_ID), *extra.items()]
        try:
            issuer = jwt.parse(token).issuer
        except jwt.JwtRejected:
            return None
        for trusted, audience in pairs:
            if trusted != issuer:
                continue
            claims = self._verified(token, issuer, [audience])
            if claims is not None:
                user = claims.get("email") or claims.get("sub")
                return str(user) if user else None
        return None

    def _verified(
        self, token: str, issuer: str, audiences: Sequence[str]
    ) -> dict[str, object] | None:
        keys = {self._dex.issuer: self._dex.keys}
        keys.update({i: self._kube.keys for i in (self._kube.issuer, *self._m2m_issuers())})
        if issuer not in keys:
            return None
        try:
            return jwt.verify(
                token,
                {issuer: keys[issuer]},
                audiences=audiences,
                revoked=self._dex.revoked,
                now=time.time() + self.settings.clock_offset,
            )
        except jwt.JwtRejected:
            return None

    # --- oidc-authservice (<= 1.8) ----------------------------------------------------

    def authservice(self, token: str) -> str | None:
        """The user of a bearer token oidc-authservice's authenticators accept, else None."""
        claims = self._verified(token, self._dex.issuer, [CLIENT_ID])
        if claims is not None:
            email = claims.get("email")
            return str(email) if email else None
        return self._kube.review(token, self.settings.authservice_audiences)

    # --- the KFP API (TokenReview) -----------------------------------------------------

    def kfp_review(self, token: str) -> str | None:
        return self._kube.review(token, [KFP_AUDIENCE])


def urlsplit_host(url: str) -> str:
    return url.partition("://")[2].split("/", 1)[0]
