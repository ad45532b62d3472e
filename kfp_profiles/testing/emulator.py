"""A local Kubeflow over real HTTP: a front door, Dex, and the KFP API behind them.

::

    from kfp_profiles.testing import Emulator

    with Emulator.for_release("1.11") as emu:
        emu.url       # "http://127.0.0.1:PORT", the gateway
        emu.api_url   # what kfp.Client(host=...) takes: emu.url + "/pipeline"

The gateway routes as Kubeflow's Istio does: ``/dex/`` to Dex, the door's own
paths (``/oauth2/`` or ``/authservice/``) to the door, everything else
through the door to the apps (the KFP API under ``/pipeline``). Without a
door (``door="none"``) it is a standalone KFP, API at ``/`` and ``/pipeline``.
Behaviour follows the upstream projects' sources, release by release (``_RELEASES``);
every request is counted and recorded.

Bearer JWTs are real RS256 tokens: Dex signs its ID tokens (JWKS at
``/dex/keys``), the emulated cluster signs ServiceAccount tokens (its API at
``kube_url``: TokenRequest, JWKS, TokenReview), and each door checks them as
its release does (``bearer.py``). Dex is a whole OIDC provider (discovery,
authorization code with PKCE, refresh tokens, the device flow: ``oidc.py``,
``device.py``); ``controls.py`` has what a test steers.
"""

from __future__ import annotations

import collections
import dataclasses
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from kfp_profiles.testing import kube
from kfp_profiles.testing.bearer import Gateway, GatewaySettings
from kfp_profiles.testing.controls import IdentityControls
from kfp_profiles.testing.device import DeviceFlow
from kfp_profiles.testing.dex import Dex, parse_version
from kfp_profiles.testing.doors import (
    DOOR_KINDS,
    CredentialStore,
    Door,
    OAuth2Proxy,
    OidcAuthService,
)
from kfp_profiles.testing.jwt import KeySet
from kfp_profiles.testing.kfp_api import API_ROOT, KfpApi, default_namespace
from kfp_profiles.testing.messages import (
    Request,
    RequestLog,
    Response,
    html_response,
    text_response,
)
from kfp_profiles.testing.oidc import OidcProvider, OidcSettings
from kfp_profiles.testing.server import EmulatorServer

from .lifetime import Background

DEFAULT_USERS: Mapping[str, str] = {"user@example.com": "12341234"}

#: Kubeflow release -> (door, Dex version) as each release's manifests ship them.
_RELEASES: dict[str, tuple[str, str]] = {
    "1.5": ("oidc-authservice", "v2.28"),
    "1.6": ("oidc-authservice", "v2.31"),
    "1.7": ("oidc-authservice", "v2.31"),
    "1.8": ("oidc-authservice", "v2.36"),
    "1.9.0": ("oauth2-proxy-first", "v2.39"),
    "1.9.1": ("oauth2-proxy", "v2.39"),
    "1.10": ("oauth2-proxy", "v2.41"),
    "1.11": ("oauth2-proxy", "v2.44"),
}


_OIDC_FIELDS = frozenset(f.name for f in dataclasses.fields(OidcSettings))
_GATEWAY_FIELDS = frozenset(f.name for f in dataclasses.fields(GatewaySettings))


class Emulator(IdentityControls, Background["Emulator"]):
    """One emulated Kubeflow (or standalone KFP) on 127.0.0.1 at an ephemeral port.

    Options: ``door`` ("none", "oauth2-proxy" = second config of 1.9.1+,
    "oauth2-proxy-first" = 1.9.0, "oidc-authservice" = 1.8 and earlier);
    ``dex`` version ("v2.28" has the old pre-v2.29 paths); ``connectors``
    (several give Dex's connector list page); ``users`` (Dex static users,
    also accepted by an ``ldap`` connector); ``multi_user`` (default: True
    behind a door, False without); ``tokens`` (opaque bearer token ->
    "system:serviceaccount:NS:SA" that TokenReview accepts: the KFP API's,
    oidc-authservice's; Istio refuses them as not JWTs); ``session_lifetime``
    (seconds a door session or Dex ID token lives); ``approval_screen`` (None: as
    the release does; True/False forces Dex's approval page on or off);
    ``tls`` (HTTPS with a generated CA at ``ca_path``); ``latency`` (seconds
    slept before every response; may be changed while running);
    ``split_cookie_size`` and ``pad_session_cookie`` (oauth2-proxy splits its
    session cookie into ``_0``, ``_1``, ... above the size; padding makes
    the value that long); ``kubernetes_issuer`` (the cluster's ServiceAccount
    token issuer). Every field of ``OidcSettings`` (Dex: ``clients``,
    ``public_issuer``, ``id_token_lifetime``, ``refresh_*``, ``device_*``, ...)
    and of ``GatewaySettings`` (``audiences``, ``m2m_issuers``,
    ``extra_jwt_issuers``, ``clock_skew``, ...) is a keyword too; both stay
    changeable while running as ``emu.oidc`` and ``emu.gateway``.
    """

    RELEASES: ClassVar[tuple[str, ...]] = tuple(_RELEASES)

    def __init__(
        self,
        door: str = "none",
        dex: str = "v2.39",
        connectors: Sequence[str] = ("local",),
        users: Mapping[str, str] | None = None,
        multi_user: bool | None = None,
        tokens: Mapping[str, str] | None = None,
        session_lifetime: float = 86400.0,
        approval_screen: bool | None = None,
        tls: bool = False,
        latency: float = 0.0,
        split_cookie_size: int = 4000,
        pad_session_cookie: int = 0,
        kubernetes_issuer: str = kube.ISSUER,
        **settings: Any,
    ) -> None:
        unknown = set(settings) - _OIDC_FIELDS - _GATEWAY_FIELDS
        if unknown:
            raise TypeError(f"Emulator() got unknown keywords: {', '.join(sorted(unknown))}.")
        if door not in DOOR_KINDS:
            raise ValueError(f"door {door!r} is not one of {', '.join(DOOR_KINDS)}.")
        if isinstance(connectors, str):
            raise ValueError("connectors is a sequence of connector ids, such as ('local',).")
        for account in (tokens or {}).values():
            if kube.split_account(account) is None:
                raise ValueError(
                    f"tokens maps a token to 'system:serviceaccount:NS:SA', not {account!r}."
                )
        self.door = door
        self.dex_version = dex
        self.release: str | None = None
        self.multi_user = door != "none" if multi_user is None else multi_user
        self.tls = tls
        self.latency = latency
        self._users = dict(DEFAULT_USERS if users is None else users)
        self._session_lifetime = session_lifetime

        self.oidc = OidcSettings(**{k: v for k, v in settings.items() if k in _OIDC_FIELDS})
        self.gateway = GatewaySettings(
            **{k: v for k, v in settings.items() if k in _GATEWAY_FIELDS}
        )
        self._kube = kube.Kubernetes(kubernetes_issuer, tokens)
        self._provider = OidcProvider(
            self.oidc,
            version=parse_version(dex),
            base_url=lambda: self.url,
            session_lifetime=session_lifetime,
        )
        self._dex = Dex(dex, connectors, self._users, approval_screen, self._provider)
        self._device = DeviceFlow(self._provider)
        self._dex.device = self._device
        self._bearer = Gateway(self.gateway, self._provider, self._kube, lambda: self.url)
        self._strangers: dict[str, KeySet] = {}
        self._sessions = CredentialStore()
        self._door = self._make_door(door, split_cookie_size, pad_session_cookie)
        self._api = KfpApi(multi_user=self.multi_user, review=self._bearer.kfp_review)
        for user in self._users:
            self._api.allow(user, default_namespace(user))
            self._kube.add_profile(default_namespace(user))
        for name in ("default", "ml-pipeline", "pipeline-runner"):
            self._kube.add_service_account("kubeflow", name)

        self._lock = threading.Lock()
        self._log = RequestLog()
        self._stopping = threading.Event()
        self._server: EmulatorServer | None = None
        self._kube_server: EmulatorServer | None = None
        self._tmpdir: Path | None = None
        self.ca_path: Path | None = None

    @classmethod
    def for_release(cls, release: str, **overrides: Any) -> Emulator:
        """The door and Dex of a Kubeflow release (see ``RELEASES``); keywords override."""
        if release not in _RELEASES:
            raise ValueError(
                f"Unknown Kubeflow release {release!r}; known: {', '.join(_RELEASES)}."
            )
        door, dex = _RELEASES[release]
        emulator = cls(**{"door": door, "dex": dex, **overrides})
        emulator.release = release
        return emulator

    def _make_door(self, door: str, split_cookie_size: int, pad_session_cookie: int) -> Door:
        if door in ("oauth2-proxy", "oauth2-proxy-first"):
            return OAuth2Proxy(
                first_config=door == "oauth2-proxy-first",
                dex=self._dex,
                sessions=self._sessions,
                gateway=self._bearer,
                session_lifetime=self._session_lifetime,
                split_cookie_size=split_cookie_size,
                pad_session_cookie=pad_session_cookie,
            )
        if door == "oidc-authservice":
            return OidcAuthService(
                dex=self._dex,
                sessions=self._sessions,
                gateway=self._bearer,
                session_lifetime=self._session_lifetime,
            )
        return Door()

    # --- life cycle ------------------------------------------------------------

    def start(self) -> Emulator:
        if self._server is not None:
            raise RuntimeError("This emulator is already running.")
        context = None
        if self.tls:
            from kfp_profiles.testing.tls import write_tls_files

            self._tmpdir = Path(tempfile.mkdtemp(prefix="kfp-emulator-"))
            files = write_tls_files(self._tmpdir)
            self.ca_path = files.ca_path
            context = files.server_context()
        self._stopping.clear()
        self._server = EmulatorServer(self._serve, context)
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving: open connections are closed and their threads joined."""
        self._stopping.set()  # cuts short any latency sleep in progress
        if self._server is not None:
            self._server.close()
            self._server = None
        with self._lock:
            kube_server, self._kube_server = self._kube_server, None
        if kube_server is not None:
            kube_server.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
            self.ca_path = None

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return (
            f"<Emulator door={self.door} dex={self.dex_version} "
            f"multi_user={self.multi_user} {where}>"
        )

    # --- where it is -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The gateway's origin, ``http(s)://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError(
                "The emulator is not running: use it in a with block or call start()."
            )
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.port}"

    @property
    def kube_url(self) -> str:
        """The emulated cluster's API server, ``http://127.0.0.1:PORT`` (started on first use).

        Plain HTTP and no authentication: what the stand-in ``kubectl``
        (``FAKE_KUBECTL_API``) asks for ``create token``.
        """
        if self._server is None:
            raise RuntimeError("The emulator is not running: start it before using kube_url.")
        with self._lock:
            if self._kube_server is None:
                self._kube_server = EmulatorServer(self._kube.handle)
                self._kube_server.start()
            return f"http://127.0.0.1:{self._kube_server.port}"

    @property
    def api_url(self) -> str:
        """The KFP host a profile names: ``url + "/pipeline"`` behind a door, else ``url``."""
        return self.url if self.door == "none" else self.url + "/pipeline"

    # --- what it saw -------------------------------------------------------------

    @property
    def counts(self) -> collections.Counter[str]:
        """Requests so far by ``"METHOD /path"`` (no query): a snapshot."""
        return self._log.counts()

    @property
    def total_requests(self) -> int:
        return len(self._log.snapshot())

    @property
    def requests(self) -> list[Request]:
        """Every request so far, as the client sent it (headers with lower-case names)."""
        return self._log.snapshot()

    def reset_counts(self) -> None:
        """Forget the requests recorded so far, at the gateway and at the cluster's API."""
        self._log.clear()
        self._kube.log.clear()

    # --- steering it from a test ------------------------------------------------------

    def expire_sessions(self) -> None:
        """Every door session and Dex token issued so far stops working (Dex tokens as expired)."""
        self._sessions.expire_all()
        self._provider.expire_tokens()

    def add_experiment(
        self, display_name: str, namespace: str = "", description: str = ""
    ) -> dict[str, Any]:
        """Store an experiment as if created through the API; returns its JSON."""
        return self._api.add_experiment(display_name, namespace, description)

    def add_user_namespace(self, user: str, namespace: str) -> None:
        """Let ``user`` (an email, or ``system:serviceaccount:NS:SA``) use ``namespace``.

        The namespace gets a profile's ServiceAccounts, and a ServiceAccount
        user comes into being.
        """
        self._api.allow(user, namespace)
        self._kube.add_profile(namespace)
        account = kube.split_account(user)
        if account is not None:
            self._kube.add_service_account(*account)

    # --- the gateway ----------------------------------------------------------------

    def _serve(self, req: Request) -> Response:
        self._log.record(req)
        if self.latency > 0:
            self._stopping.wait(self.latency)
        return self._route(req)

    def _route(self, req: Request) -> Response:
        refused = self._door.screen(req)
        if refused is not None:
            return refused
        if self.door != "none" and (req.path == "/dex" or req.path.startswith("/dex/")):
            return self._dex.handle(req)
        own_prefix = self._door.own_prefix
        if own_prefix and req.path.startswith(own_prefix):
            return self._door.handle_own(req)
        admitted = self._door.admit(req)
        if isinstance(admitted, Response):
            return admitted
        return self._app(admitted)

    def _app(self, req: Request) -> Response:
        """What sits behind the door: the KFP API and UI, the dashboard."""
        path = req.path
        if path.startswith("/pipeline/apis/"):
            path = path.removeprefix("/pipeline")
        elif self.door != "none" and path.startswith("/apis/"):
            return text_response(404, "404 page not found\n")
        if path == API_ROOT or path.startswith(API_ROOT + "/"):
            return self._api.handle(req, path)
        if path in ("/pipeline", "/pipeline/"):
            return html_response(200, "Kubeflow Pipelines", '<div id="root"></div>')
        if path == "/":
            title = "Kubeflow Pipelines" if self.door == "none" else "Kubeflow Central Dashboard"
            return html_response(200, title, '<div id="root"></div>')
        return text_response(404, "404 page not found\n")
