"""What a test steers on the emulator's identity side: tokens, keys, sign-ins, device codes.

A mixin of ``Emulator``: every method acts on the emulated Dex (issuer
``dex_issuer``), the emulated cluster (issuer ``kubernetes_issuer``, its
API at ``kube_url``) or the device requests waiting for a person.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kfp_profiles.testing import jwt
from kfp_profiles.testing.device import DeviceFlow
from kfp_profiles.testing.kfp_api import default_namespace
from kfp_profiles.testing.kube import Kubernetes, account_name
from kfp_profiles.testing.oidc import CLIENT_ID, OidcProvider


class IdentityControls:
    """Tokens minted on demand, key rotation, sign-ins revoked, device codes decided."""

    _provider: OidcProvider
    _kube: Kubernetes
    _device: DeviceFlow
    _users: dict[str, str]
    _strangers: dict[str, jwt.KeySet]

    # --- the issuers ---------------------------------------------------------------

    @property
    def dex_issuer(self) -> str:
        """Dex's issuer: the in-cluster URL, or ``url + "/dex"`` with ``public_issuer``."""
        return self._provider.issuer

    @property
    def kubernetes_issuer(self) -> str:
        return self._kube.issuer

    def keys(self, issuer: str = "dex") -> jwt.KeySet:
        """The signing keys of ``"dex"``, ``"kubernetes"`` or any other issuer URL."""
        return self._issuer(issuer)[1]

    def rotate_keys(self, issuer: str = "dex", *, keep_old: bool = True) -> str:
        """A new signing key for ``issuer`` (its kid); old keys stay in the JWKS unless dropped."""
        return self.keys(issuer).rotate(keep_old=keep_old)

    def _issuer(self, issuer: str) -> tuple[str, jwt.KeySet]:
        if issuer in ("dex", self._provider.issuer):
            return self._provider.issuer, self._provider.keys
        if issuer in ("kubernetes", self._kube.issuer):
            return self._kube.issuer, self._kube.keys
        if issuer not in self._strangers:
            self._strangers[issuer] = jwt.KeySet()
        return issuer, self._strangers[issuer]

    @property
    def _default_user(self) -> str:
        return next(iter(self._users), "user@example.com")

    # --- tokens on demand ------------------------------------------------------------

    def issue_id_token(
        self,
        user: str | None = None,
        *,
        client_id: str = CLIENT_ID,
        scopes: Sequence[str] = ("openid", "email", "profile"),
        lifetime: float | None = None,
    ) -> str:
        """A Dex ID token for ``user``, as Dex signs it for ``client_id``.

        It lives ``id_token_lifetime`` (default: ``session_lifetime``) seconds
        unless ``lifetime`` says otherwise, and is accepted as ``Authorization:
        Bearer`` by every door (its audience suits 1.9.0 and oidc-authservice).
        """
        return self._provider.id_token(
            client_id, user or self._default_user, scopes, lifetime=lifetime
        )

    def service_account_token(
        self,
        namespace: str | None = None,
        name: str = "default-editor",
        *,
        audiences: Sequence[str] = (),
        lifetime: float = 3600.0,
    ) -> str:
        """A token of the cluster's issuer for ``system:serviceaccount:NS:NAME``.

        The namespace defaults to the first user's profile namespace; the
        account is created when missing. This is what ``kubectl create token``
        returns, without counting as one.
        """
        namespace = namespace or default_namespace(self._default_user)
        account = self._kube.add_service_account(namespace, name)
        return self._kube.mint(account, audiences=audiences, lifetime=lifetime)[0]

    def mint_token(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        issuer: str = "dex",
        lifetime: float = 3600.0,
        foreign_signature: bool = False,
    ) -> str:
        """A JWT with chosen claims, signed by ``issuer``'s current key.

        ``issuer`` is ``"dex"``, ``"kubernetes"`` or any URL (an issuer no door
        trusts, with keys of its own). Defaults: ``iss``, ``iat``, ``exp`` (now
        + ``lifetime``; negative for a token already expired) and what that
        issuer puts in (Dex: the first user's ``sub``, ``email``, ``aud``
        ``kubeflow-oidc-authservice``; the cluster: ``default-editor`` of that
        user's namespace). ``claims`` override them; a claim set to None is
        left out. ``foreign_signature`` signs with a key no JWKS holds, keeping
        the ``kid``.
        """
        iss, keys = self._issuer(issuer)
        now = int(time.time())
        base: dict[str, Any] = {"iss": iss, "iat": now, "exp": int(now + lifetime)}
        if keys is self._provider.keys:
            user = self._default_user
            base.update(
                sub=self._provider.subject(user), aud=CLIENT_ID, email=user, email_verified=True
            )
        elif keys is self._kube.keys:
            namespace = default_namespace(self._default_user)
            account = self._kube.add_service_account(namespace, "default-editor")
            base.update(
                aud=[self._kube.issuer],
                nbf=now,
                sub=account_name(namespace, account.name),
                **{
                    "kubernetes.io": {
                        "namespace": namespace,
                        "serviceaccount": {"name": account.name, "uid": account.uid},
                    }
                },
            )
        else:
            base.update(sub="someone", aud="somewhere")
        merged = {k: v for k, v in {**base, **(claims or {})}.items() if v is not None}
        token = keys.sign(merged)
        if foreign_signature:
            token = jwt.with_foreign_signature(token)
        return self._provider.remember(token) if keys is self._provider.keys else token

    # --- the cluster ---------------------------------------------------------------------

    def add_service_account(self, namespace: str, name: str) -> None:
        self._kube.add_service_account(namespace, name)

    def remove_service_account(self, namespace: str, name: str) -> None:
        """Delete it: TokenReview refuses its tokens (Istio, checking keys only, does not)."""
        self._kube.remove_service_account(namespace, name)

    @property
    def service_account_token_lifetime(self) -> float | None:
        """Seconds the API server gives every new token, whatever was asked (None: as asked)."""
        return self._kube.token_lifetime

    @service_account_token_lifetime.setter
    def service_account_token_lifetime(self, seconds: float | None) -> None:
        self._kube.token_lifetime = seconds

    @property
    def tokens_created(self) -> int:
        """TokenRequests the emulated API server answered with a token."""
        return self._kube.tokens_created

    @property
    def kube_counts(self) -> collections.Counter[str]:
        """Requests to the emulated API server by ``"METHOD /path"``."""
        return self._kube.log.counts()

    # --- Dex's sign-ins ----------------------------------------------------------------------

    @property
    def grant_counts(self) -> collections.Counter[str]:
        """Requests to Dex's token endpoint by ``grant_type``: a snapshot."""
        return collections.Counter(self._provider.grant_counts)

    def sign_ins(self, user: str | None = None) -> int:
        """Live offline sessions (refresh-token chains), of ``user`` or of everyone."""
        return len(self._provider.sign_ins(user))

    def revoke_sign_ins(self, user: str | None = None) -> int:
        """Revoke sign-ins (of ``user``, or all): their refresh tokens get ``invalid_request``."""
        return self._provider.revoke_sign_ins(user)

    def expire_refresh_tokens(self) -> None:
        """Every refresh token so far gets "Refresh token expired." from now on."""
        self._provider.expire_refresh_tokens()

    # --- the device flow's person ---------------------------------------------------------------

    def pending_device_codes(self) -> list[str]:
        """User codes of device requests waiting for the person, oldest first."""
        return self._device.pending()

    def wait_for_device_code(self, timeout: float = 10.0) -> str:
        """The oldest pending user code, waiting up to ``timeout`` s (``TimeoutError``)."""
        return self._device.wait(timeout)

    def approve_device(
        self, user_code: str | None = None, *, user: str | None = None, approve: bool = True
    ) -> None:
        """The person approves as ``user`` (or refuses) the request of ``user_code``.

        ``None`` means the only pending request; the next poll gets the tokens,
        or ``access_denied``.
        """
        self._device.decide(user_code, user or self._default_user, approve=approve)

    def auto_approve_devices(self, user: str | None = "", *, approve: bool = True) -> None:
        """Decide every device request at its first poll, as ``user`` (None: stop doing so)."""
        self._device.auto_decide(
            None if user is None else (user or self._default_user), approve=approve
        )

    def expire_device_codes(self) -> None:
        """Every device request so far is past its lifetime: polls get ``expired_token``."""
        self._device.expire()
