"""``get_client``: a profile in, a ready ``kfp.Client`` out.

The only work done before the client is returned is what the profile needs to
be ready: a login when no live session is cached, a managed port-forward. The
``kfp`` import happens here, at the first client, never at ``import kfp_profiles``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from .resolve import ResolvedProfile, resolve

if TYPE_CHECKING:
    import kfp


_FORWARD_FIELDS = (
    "k8s_namespace",
    "service",
    "local_port",
    "remote_port",
    "kube_context",
    "kubectl",
)


def base_url_for(resolved: ResolvedProfile) -> str:
    """Where the client connects: the host, or a managed port-forward's local URL."""
    profile = resolved.profile
    managed = resolved.kind == "standalone-port-forward" and getattr(profile, "manage", False)
    # A host set by hand (or KFP_HOST) means someone else serves it: no forward.
    if managed and resolved.sources.get("host", "default") == "default":
        from .portforward import PortForwardSpec, ensure_forward

        values = profile.model_dump()
        spec = PortForwardSpec(
            profile=resolved.name,
            **{key: values[key] for key in _FORWARD_FIELDS},
            timeout=profile.timeout,
        )
        url: str = ensure_forward(spec)
        return url
    return resolved.host


def client_for(resolved: ResolvedProfile, *, prompt: bool = False) -> kfp.Client:
    """Build the hermetic client of an already resolved profile."""
    from .auth import authenticator_for
    from .kfp_client import ProfileClient

    base_url = base_url_for(resolved)
    auth = authenticator_for(resolved, prompt=prompt)
    return ProfileClient(resolved, auth, base_url=base_url)


def get_client(
    name: str | None = None,
    *,
    password: str | SecretStr | None = None,
    prompt: bool = False,
    **overrides: Any,
) -> kfp.Client:
    """A ready ``kfp.Client`` for profile ``name`` (else ``KFP_PROFILE``, else the default).

    ``overrides`` are profile fields that win over the environment and the file,
    e.g. ``get_client("prod", namespace="team-a")``. ``password`` is used for a
    Dex login instead of ``KFP_PASSWORD`` or the keyring; with ``prompt=True`` a
    person at a terminal or notebook is asked when no password is stored.
    """
    resolved = resolve(name, password=password, **overrides)
    return client_for(resolved, prompt=prompt)
