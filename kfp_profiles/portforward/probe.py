"""Whether a local port answers, and whether as Kubeflow Pipelines: the readiness probes.

A probe asks ``GET /apis/v2beta1/healthz`` with ``http.client`` only: KFP
answers it without a session, with JSON that names ``multi_user``. Its
timeout is a deadline on the whole exchange (:mod:`kfp_profiles.deadline`),
and at most 64 KiB of the answer is read.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Literal

from .. import deadline
from ..constants import HEALTHZ_PATH

#: What holds a local port: nothing, Kubeflow Pipelines, or something else.
PortState = Literal["free", "kfp", "other"]

#: Bound on each probe of a local port: loopback answers at once or not at all.
PROBE_TIMEOUT = 3.0
_OTHER_RECHECKS = 2


def local_url(port: int) -> str:
    """The base URL a client of the forward on ``port`` uses."""
    return f"http://localhost:{port}"


#: A healthz answer is a few dozen bytes: anything longer is not KFP's.
_ANSWER_CAP = 1 << 16


def _healthz_answer(host: str, port: int, timeout: float) -> tuple[bool, bytes | None]:
    """(connected, body): body is None when nothing came back as an HTTP answer in time."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    with deadline.within(timeout) as clock:
        try:
            try:
                connection.connect()
            except TimeoutError:
                return True, None  # something holds the port and does not accept in time
            except OSError:
                return False, None  # refused, or no such loopback address (no IPv6)
            assert connection.sock is not None
            with clock.watching(connection.sock):  # a drip or a stall ends at the deadline
                try:
                    connection.request("GET", HEALTHZ_PATH, headers={"Accept": "application/json"})
                    body = connection.getresponse().read(_ANSWER_CAP)
                except (OSError, http.client.HTTPException):
                    return True, None
            return True, None if clock.fired else body
        finally:
            connection.close()


def _is_kfp_healthz(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    return isinstance(payload, dict) and "multi_user" in payload


def port_state(port: int, timeout: float = PROBE_TIMEOUT) -> PortState:
    """What holds ``localhost:port``: nothing, Kubeflow Pipelines, or something else.

    Both loopback addresses are asked, as kubectl listens on both and a client
    of ``localhost`` may reach either. "Something else" is asked again a few
    times: the listener of a kubectl that just exited can still accept a
    connection for a moment (seen under gVisor) and then drops it unanswered.
    """
    state = _port_state_once(port, timeout)
    for _ in range(_OTHER_RECHECKS):
        if state != "other":
            break
        time.sleep(0.2)
        state = _port_state_once(port, timeout)
    return state


def _port_state_once(port: int, timeout: float) -> PortState:
    states: list[PortState] = []
    for host in ("127.0.0.1", "::1"):
        connected, body = _healthz_answer(host, port, timeout)
        if not connected:
            states.append("free")
        elif body is not None and _is_kfp_healthz(body):
            states.append("kfp")
        else:
            states.append("other")
    if "other" in states:
        return "other"
    return "kfp" if "kfp" in states else "free"


def answers_http(host: str, port: int, timeout: float) -> bool:
    """Whether an HTTP answer, any answer, comes back through the forward."""
    _, body = _healthz_answer(host, port, timeout)
    return body is not None
