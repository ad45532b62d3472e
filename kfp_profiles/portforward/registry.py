"""The forwards of this process: at most one per profile, reused, restarted, stopped at exit.

``ensure_forward(spec)`` gives the local URL of a profile's KFP: it reuses a
local port that already answers as KFP, else starts kubectl (at most one per
profile in a process), waits until the forward answers, and starts it again
on the next call when it has died (kubectl exits when its pod restarts).
A forward lives no longer than the process that started it: ``stop_all`` runs
at exit (and ``kfp_profiles/portforward/spawn.py`` covers a killed process).
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import threading

from .kubectl import PortForwardSpec, port_in_use_error
from .probe import PROBE_TIMEOUT, local_url, port_state
from .process import PortForward, stop_started

logger = logging.getLogger(__name__)


class _Slot:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spec: PortForwardSpec | None = None
        self.forward: PortForward | None = None


_slots: dict[str, _Slot] = {}
_slots_lock = threading.Lock()


def kfp_already_at(spec: PortForwardSpec) -> str | None:
    """The URL of the profile's set local port when it already answers as KFP, else None.

    None as well when kubectl is to pick the port (``local_port`` 0). A port held
    by anything else raises ``LocalPortInUseError``: kubectl could not bind it.
    """
    if not spec.local_port:
        return None
    state = port_state(spec.local_port, min(PROBE_TIMEOUT, spec.timeout))
    if state == "other":
        raise port_in_use_error(spec, kfp=False)
    return local_url(spec.local_port) if state == "kfp" else None


def ensure_forward(spec: PortForwardSpec) -> str:
    """The base URL (``http://localhost:<port>``) of the profile's KFP, forwarding if needed.

    A running forward of this process is returned as it is (no I/O); one that
    died is started again (on the port it had, when kubectl chose it). A local
    port that already answers as KFP is reused and nothing is started; one held
    by anything else raises ``LocalPortInUseError`` before kubectl runs.
    Thread-safe: concurrent callers for one profile share one kubectl.
    """
    with _slots_lock:
        slot = _slots.setdefault(spec.profile, _Slot())
    with slot.lock:
        previous_port: int | None = None
        if slot.forward is not None:
            if slot.spec == spec and slot.forward.alive:
                return slot.forward.url
            slot.forward.stop()  # reaps a dead kubectl; stops one whose spec changed
            if slot.spec == spec:
                previous_port = slot.forward.port  # it was ready, so it has one
                logger.warning(
                    "profile %r: kubectl port-forward exited (status %s: %s); starting it again",
                    spec.profile,
                    slot.forward.returncode,
                    slot.forward.last_error_line(),
                )
            slot.forward, slot.spec = None, None

        if (url := kfp_already_at(spec)) is not None:
            logger.info(
                "profile %r: localhost:%d already answers as KFP; reusing it",
                spec.profile,
                spec.local_port,
            )
            return url
        run_spec = spec
        if not spec.local_port and previous_port and port_state(previous_port) == "free":
            # Keep the URL that clients built earlier in this process still hold.
            run_spec = dataclasses.replace(spec, local_port=previous_port)

        # A set local port was probed just above: free.
        forward = PortForward(run_spec).start(port_checked=True)
        slot.forward, slot.spec = forward, spec
        return forward.url


def stop_all() -> None:
    """Stop every forward this process started (registered with ``atexit``)."""
    with _slots_lock:
        slots = list(_slots.values())
        _slots.clear()
    for slot in slots:
        with slot.lock:
            if slot.forward is not None:
                slot.forward.stop()
            slot.forward, slot.spec = None, None
    stop_started()


def _forget_after_fork() -> None:
    # A forked child inherits the parent's slots, not its kubectl: start afresh.
    global _slots_lock
    _slots.clear()
    _slots_lock = threading.Lock()


atexit.register(stop_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
