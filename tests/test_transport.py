"""describe_failure (kfp_profiles.transport): any failure in words, one home for both readings."""

from __future__ import annotations

import pytest

from kfp_profiles.errors import ConnectionFailedError, ProfileNotFoundError
from kfp_profiles.transport import Attempt, Failure, connection_failed, describe_failure


class ApiException(Exception):
    """Shaped like kfp_server_api's: the reading goes by its name, status, reason and body."""

    def __init__(self, status: int, reason: str = "", body: object = None) -> None:
        super().__init__(f"({status})\nReason: {reason}\n")
        self.status, self.reason, self.body = status, reason, body


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        pytest.param(
            ProfileNotFoundError(profile="x", where="f.toml", hint=""),
            "No profile named 'x' in f.toml.",
            id="ours",
        ),
        pytest.param(
            ApiException(403, "Forbidden", '{"error": "e", "code": 7, "message": "not allowed"}'),
            "the KFP API answered 403 Forbidden: not allowed",
            id="api-message",
        ),
        pytest.param(
            ApiException(401, "Unauthorized", '{"error": "no identity"}'),
            "the KFP API answered 401 Unauthorized: no identity",
            id="api-error",
        ),
        pytest.param(
            ApiException(502, "Bad Gateway", "<html>upstream</html>"),
            "the KFP API answered 502 Bad Gateway",
            id="api-html",
        ),
        pytest.param(ApiException(500, "", None), "the KFP API answered 500", id="api-bare"),
        pytest.param(ValueError("first line\nsecond"), "ValueError: first line", id="other"),
        pytest.param(KeyError(), "KeyError", id="other-without-text"),
    ],
)
def test_a_failed_step_is_one_line(exc: BaseException, cause: str) -> None:
    assert describe_failure(exc) == Failure(cause)


def test_a_request_that_got_no_answer_is_read_from_its_chain() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    assert describe_failure(refused, Attempt(timeout=5, trust=True)) == Failure(
        "the connection was refused (nothing listens there)",
        "check the host and port, or start the port-forward",
    )
    assert describe_failure(TimeoutError(), Attempt(timeout=2.5, trust=True)).cause == (
        "the server accepted the connection but sent no answer within 2.5 s"
    )
    unreadable = OSError("Could not find a suitable TLS CA certificate bundle, invalid path: /x")
    assert describe_failure(unreadable, Attempt(5, "/x", "REQUESTS_CA_BUNDLE")) == Failure(
        "the CA bundle /x named by REQUESTS_CA_BUNDLE cannot be read",
        "point REQUESTS_CA_BUNDLE at an existing PEM file, or unset it",
    )


def test_an_api_exception_without_an_answer_is_read_as_a_connection_failure() -> None:
    # The SDK turns urllib3's SSLError into ApiException(status=0): kfp_client passes it here.
    sdk_error = ApiException(0, "SSLError(CERTIFICATE_VERIFY_FAILED)")
    failure = connection_failed(
        sdk_error,
        "https://kf.example.com/pipeline?x=1",
        profile="prod",
        timeout=5,
        verify_tls=True,
        ca_bundle=None,
    )
    assert isinstance(failure, ConnectionFailedError)
    assert str(failure) == (
        "Cannot reach https://kf.example.com for profile 'prod': TLS failed: the server's TLS "
        "certificate could not be verified; set `ca_bundle` to the CA that signed it (or "
        "`verify_tls = false` for a test cluster)."
    )
