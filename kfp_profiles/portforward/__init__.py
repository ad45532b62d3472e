"""Supervise ``kubectl port-forward`` for ``standalone-port-forward`` profiles.

``ensure_forward(spec_for(resolved))`` gives the local URL of a profile's KFP,
starting kubectl when needed. The parts, each one job:

- ``kubectl``: the spec of a forward, its command line, and the typed errors
  kubectl's lines become;
- ``probe``: whether a local port answers, and whether as Kubeflow Pipelines;
- ``spawn``: starting kubectl so it dies with this process, and stopping it;
- ``process``: one kubectl process, ``PortForward``: started, read, made ready, stopped;
- ``registry``: at most one forward per profile, reused, restarted, stopped at exit.

Only the standard library is used here: the probes speak HTTP with ``http.client``.
"""

from __future__ import annotations

from .kubectl import PortForwardSpec, classify_kubectl_failure, kubectl_command, spec_for
from .probe import PortState, port_state
from .process import OutputCallback, PortForward
from .registry import ensure_forward, kfp_already_at, stop_all

__all__ = [
    "OutputCallback",
    "PortForward",
    "PortForwardSpec",
    "PortState",
    "classify_kubectl_failure",
    "ensure_forward",
    "kfp_already_at",
    "kubectl_command",
    "port_state",
    "spec_for",
    "stop_all",
]
