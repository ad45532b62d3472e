"""Whether a local port answers, and as what (kfp_profiles/portforward/probe.py).

The KFP emulator plays Kubeflow Pipelines; behind oauth2-proxy it plays an
HTTP server that is not KFP (its healthz answers a login redirect or 404).
"""

from __future__ import annotations

import socket

from kfp_profiles.portforward import port_state
from kfp_profiles.portforward.probe import answers_http, local_url
from kfp_profiles.testing import Emulator

from .forwarding import port_of
from .helpers import free_port


def test_a_port_nothing_listens_on_is_free() -> None:
    port = free_port()

    assert port_state(port) == "free"
    assert not answers_http("127.0.0.1", port, 1.0)


def test_kfp_answers_as_kfp() -> None:
    with Emulator(door="none") as kfp:
        port = port_of(kfp.url)

        assert port_state(port) == "kfp"
        assert answers_http("127.0.0.1", port, 1.0)


def test_another_http_server_is_something_else_yet_answers_http() -> None:
    with Emulator(door="oauth2-proxy") as not_kfp:
        port = port_of(not_kfp.url)

        assert port_state(port) == "other"
        assert answers_http("127.0.0.1", port, 1.0)


def test_a_listener_that_never_answers_is_something_else() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]

        assert port_state(port, timeout=0.3) == "other"
        assert not answers_http("127.0.0.1", port, 0.3)


def test_local_url_is_localhost_and_the_port() -> None:
    assert local_url(3000) == "http://localhost:3000"
