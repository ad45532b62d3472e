"""What both hops trust, which proxy they take, and what a failure says (transport.py).

Failures are real: a refused loopback port, a name under ``.invalid``, a
listener whose backlog is full (connects time out), a Blackhole that never
answers, the emulator's TLS with a throwaway CA, a proxy that is not there.
Each is read through ``requests`` (the login's hop) and through ``urllib3``
(the API calls' hop under kfp): both must give the user the same sentence.
"""

from __future__ import annotations

import contextlib
import socket
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3

from kfp_profiles.auth.dex_flow import DexLoginSettings
from kfp_profiles.errors import ConnectionFailedError, ProfileNotFoundError
from kfp_profiles.testing import Blackhole, Emulator
from kfp_profiles.testing.tls import write_tls_files
from kfp_profiles.transport import (
    Attempt,
    Failure,
    connection_failed,
    describe_failure,
    origin,
    proxy_for,
    tls_trust,
)

from .browser import USER
from .helpers import free_port

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


@pytest.fixture
def no_ca_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither CA bundle variable set (real machines set them; the tests set their own)."""
    for name in CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# --- the two hops -------------------------------------------------------------------------------


def through_requests(url: str, trust: bool | str, timeout: float, proxy: str | None = None) -> int:
    """One GET the way the login sends it."""
    proxies = {"http": proxy, "https": proxy} if proxy else None
    with requests.Session() as session:
        session.trust_env = False  # the trust and the proxy are the ones given here
        answer = session.get(url, verify=trust, timeout=timeout, proxies=proxies)
        return answer.status_code


def through_urllib3(url: str, trust: bool | str, timeout: float, proxy: str | None = None) -> int:
    """One GET the way kfp's API client sends it."""
    tls: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED" if trust else "CERT_NONE"}
    if isinstance(trust, str):
        tls["ca_certs"] = trust
    pool = urllib3.ProxyManager(proxy, **tls) if proxy else urllib3.PoolManager(**tls)
    with pool:
        return pool.request("GET", url, timeout=timeout, retries=False).status


HOPS: dict[str, Callable[..., int]] = {"login": through_requests, "api": through_urllib3}


def failure_of(
    hop: str, url: str, timeout: float, *, ca_bundle: str | None = None, proxy: str | None = None
) -> str:
    """The one sentence a user reads when a GET of ``url`` through ``hop`` gets no answer.

    The GET trusts what :func:`tls_trust` chooses, as both hops of the library do.
    """
    with pytest.raises(Exception) as caught:
        HOPS[hop](url, tls_trust(True, ca_bundle), timeout, proxy)
    failure = connection_failed(
        caught.value, url, profile="p", timeout=timeout, verify_tls=True, ca_bundle=ca_bundle
    )
    return str(failure)


@contextlib.contextmanager
def full_backlog() -> Iterator[str]:
    """A loopback listener that never accepts and whose queue is full: connects time out."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(3):
                filler = socket.socket()
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
                fillers.append(filler)
            yield f"http://127.0.0.1:{port}"
        finally:
            for filler in fillers:
                filler.close()


# --- the origin ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://kf.example.com/pipeline?ns=a#x", "https://kf.example.com"),
        ("HTTPS://KF.Example.COM:8443/pipeline", "https://kf.example.com:8443"),
        ("http://me:p%40ss@127.0.0.1:3000/", "http://127.0.0.1:3000"),
        ("http://[::1]:8888/apis", "http://[::1]:8888"),
    ],
)
def test_origin_is_scheme_and_host_lowercased_without_path_or_password(
    url: str, expected: str
) -> None:
    assert origin(url) == expected


def test_one_origin_for_every_message_lowercased_and_without_userinfo() -> None:
    settings = DexLoginSettings(
        profile="prod", api_url="HTTPS://me:pw@KF.Example.com:8443/pipeline", username=USER
    )
    failure = connection_failed(
        ConnectionRefusedError(111, "Connection refused"),
        "HTTPS://me:pw@KF.Example.com:8443/oauth2/start?rd=%2Fpipeline&state=s3cret",
        profile=settings.profile,
        timeout=settings.timeout,
        verify_tls=settings.verify_tls,
        ca_bundle=settings.ca_bundle,
    )
    assert settings.origin == failure.fields["host"] == "https://kf.example.com:8443"
    assert ":pw@" not in str(failure) and "s3cret" not in str(failure)


# --- what TLS trusts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verify_tls", "ca_bundle", "env", "trust"),
    [
        (
            True,
            "/profile/ca.pem",
            {"REQUESTS_CA_BUNDLE": "/r.pem", "CURL_CA_BUNDLE": "/c.pem"},
            "/profile/ca.pem",
        ),
        (True, None, {"REQUESTS_CA_BUNDLE": "/r.pem", "CURL_CA_BUNDLE": "/c.pem"}, "/r.pem"),
        (True, None, {"CURL_CA_BUNDLE": "/c.pem"}, "/c.pem"),
        (True, None, {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": "/c.pem"}, "/c.pem"),
        (True, "", {}, True),
        (False, "/profile/ca.pem", {"REQUESTS_CA_BUNDLE": "/r.pem"}, False),
    ],
    ids=[
        "ca_bundle over both variables",
        "REQUESTS_CA_BUNDLE over CURL_CA_BUNDLE",
        "CURL_CA_BUNDLE alone",
        "an empty variable counts as unset",
        "the default store",
        "verify_tls false over everything",
    ],
)
def test_tls_trust_precedence(
    verify_tls: bool,
    ca_bundle: str | None,
    env: dict[str, str],
    trust: bool | str,
    no_ca_variables: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert tls_trust(verify_tls, ca_bundle) == trust


@pytest.mark.parametrize("hop", list(HOPS))
def test_the_profiles_ca_bundle_wins_over_the_environments_on_both_hops(
    hop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The environment names a CA that did not sign the server: the profile's must win.
    (tmp_path / "unrelated").mkdir()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(write_tls_files(tmp_path / "unrelated").ca_path))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with Emulator(tls=True) as emu:
        url = f"{emu.url}/apis/v2beta1/healthz"
        assert HOPS[hop](url, tls_trust(True, str(emu.ca_path)), 5.0) == 200
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            assert HOPS[hop](url, tls_trust(False, None), 5.0) == 200
        assert failure_of(hop, url, 5.0) == (
            f"Cannot reach {emu.url} for profile 'p': TLS failed: the server's TLS certificate "
            "could not be verified; set `ca_bundle` to the CA that signed it (or "
            "`verify_tls = false` for a test cluster)."
        )


@pytest.mark.parametrize("hop", list(HOPS))
def test_an_unreadable_ca_bundle_is_named_with_the_setting_that_named_it(
    hop: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "gone" / "ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(missing))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with Emulator(tls=True) as emu:
        assert failure_of(hop, emu.url + "/", 5.0) == (
            f"Cannot reach {emu.url} for profile 'p': the CA bundle {missing} named by "
            "REQUESTS_CA_BUNDLE cannot be read; point REQUESTS_CA_BUNDLE at an existing PEM "
            "file, or unset it."
        )
        assert failure_of(hop, emu.url + "/", 5.0, ca_bundle=str(missing)) == (
            f"Cannot reach {emu.url} for profile 'p': the CA bundle {missing} cannot be read; "
            "point `ca_bundle` at an existing PEM file."
        )
        assert emu.total_requests == 0


# --- which proxy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "profile_proxy", "env", "expected"),
    [
        (
            "https://kf.corp",
            "http://mine:3128",
            {"HTTPS_PROXY": "http://env:3128"},
            "http://mine:3128",
        ),
        ("https://kf.corp", None, {"HTTPS_PROXY": "http://env:3128"}, "http://env:3128"),
        ("https://kf.corp", None, {"https_proxy": "http://lower:3128"}, "http://lower:3128"),
        ("http://kf.corp", None, {"HTTPS_PROXY": "http://env:3128"}, None),
        ("http://kf.corp", None, {"HTTP_PROXY": "http://plain:3128"}, "http://plain:3128"),
        ("https://kf.corp", None, {"HTTPS_PROXY": "http://env:3128", "NO_PROXY": "kf.corp"}, None),
        (
            "https://kf.corp:8443",
            None,
            {"HTTPS_PROXY": "http://env:3128", "NO_PROXY": "localhost,.corp"},
            None,
        ),
        (
            "https://kf.example.com",
            None,
            {"HTTPS_PROXY": "http://env:3128", "NO_PROXY": "localhost,.corp"},
            "http://env:3128",
        ),
        ("https://kf.corp", None, {"HTTPS_PROXY": "http://env:3128", "no_proxy": "*"}, None),
        ("https://kf.corp", "http://mine:3128", {"NO_PROXY": "*"}, "http://mine:3128"),
        ("https://kf.corp", None, {}, None),
    ],
    ids=[
        "the profile's proxy wins",
        "HTTPS_PROXY for https",
        "https_proxy in lower case",
        "HTTPS_PROXY is not for http",
        "HTTP_PROXY for http",
        "NO_PROXY names the host",
        "NO_PROXY names the domain, whatever the port",
        "NO_PROXY names another domain",
        "NO_PROXY star",
        "NO_PROXY does not bypass the profile's proxy",
        "no proxy at all",
    ],
)
def test_proxy_for(
    url: str,
    profile_proxy: str | None,
    env: dict[str, str],
    expected: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert proxy_for(url, profile_proxy) == expected


# --- what a failure says, on both hops ---------------------------------------------------------


@pytest.mark.parametrize("hop", list(HOPS))
def test_a_refused_port(hop: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert failure_of(hop, f"{url}/apis/v2beta1/healthz", 5.0) == (
        f"Cannot reach {url} for profile 'p': the connection was refused (nothing listens "
        "there); check the host and port, or start the port-forward."
    )


@pytest.mark.parametrize("hop", list(HOPS))
def test_a_name_that_does_not_resolve(hop: str) -> None:
    # .invalid never resolves (RFC 6761): the resolver answers at once, online or not.
    assert failure_of(hop, "https://kf.invalid/pipeline", 5.0) == (
        "Cannot reach https://kf.invalid for profile 'p': the host name does not resolve "
        "(DNS); check the spelling of `host`, or the DNS or VPN you need to reach it."
    )


def test_a_host_name_that_does_not_resolve_is_reported_as_dns() -> None:
    # No DNS query leaves this machine: the exception is the one requests raises.
    error = requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='kf.invalid', port=443): Max retries exceeded with url: "
        '/oauth2/start?rd=%2Fpipeline (Caused by NameResolutionError("Failed to resolve '
        "'kf.invalid' ([Errno -2] Name or service not known)\"))"
    )
    settings = DexLoginSettings(
        profile="prod", api_url="https://kf.invalid/pipeline", username=USER
    )
    failure = connection_failed(
        error,
        "https://kf.invalid/oauth2/start?rd=%2Fpipeline",
        profile=settings.profile,
        timeout=settings.timeout,
        verify_tls=settings.verify_tls,
        ca_bundle=settings.ca_bundle,
    )
    assert "does not resolve" in str(failure) and "https://kf.invalid" in str(failure)


@pytest.mark.parametrize("hop", list(HOPS))
def test_no_connection_within_the_timeout(hop: str) -> None:
    with full_backlog() as url:
        assert failure_of(hop, url + "/", 0.5) == (
            f"Cannot reach {url} for profile 'p': no connection within 0.5 s; check that the "
            "host and port are right and reachable, or raise `timeout` in the profile."
        )


@pytest.mark.parametrize("hop", list(HOPS))
def test_a_connection_that_gets_no_answer_within_the_timeout(hop: str) -> None:
    with Blackhole() as url:
        assert failure_of(hop, url + "/", 0.3) == (
            f"Cannot reach {url} for profile 'p': the server accepted the connection but sent "
            "no answer within 0.3 s; check the server, or raise `timeout` in the profile."
        )


@pytest.mark.parametrize("hop", list(HOPS))
def test_a_certificate_no_trusted_ca_signed(hop: str, no_ca_variables: None) -> None:
    with Emulator(tls=True) as emu:
        assert failure_of(hop, emu.url + "/", 5.0) == (
            f"Cannot reach {emu.url} for profile 'p': TLS failed: the server's TLS certificate "
            "could not be verified; set `ca_bundle` to the CA that signed it (or "
            "`verify_tls = false` for a test cluster)."
        )


@pytest.mark.parametrize("hop", list(HOPS))
def test_a_proxy_that_is_not_there(hop: str) -> None:
    with Emulator() as emu:
        proxy = f"http://127.0.0.1:{free_port()}"
        assert failure_of(hop, emu.url + "/", 5.0, proxy=proxy) == (
            f"Cannot reach {emu.url} for profile 'p': the proxy refused or failed the "
            "connection; check the profile's `proxy`, or HTTPS_PROXY / HTTP_PROXY / NO_PROXY."
        )
        assert emu.total_requests == 0


# --- describe_failure: any failure in words, one home for both readings -----------------------


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


# --- a scheme that does not match the port: named as such, on both hops ------------------------

PLAIN_HTTP = (
    "the server speaks plain HTTP at that port, not TLS (HTTPS); use http:// in `host`, "
    "or the port that serves HTTPS."
)
SPEAKS_TLS = "the server speaks TLS (HTTPS) at that port, not plain HTTP; use https:// in `host`."


@contextlib.contextmanager
def wrong_scheme(tls: bool) -> Iterator[str]:
    """The emulator (1.11, over TLS or not), and its origin with the other scheme."""
    with Emulator.for_release("1.11", tls=tls) as emu:
        yield (
            emu.url.replace("https://", "http://")
            if tls
            else emu.url.replace("http://", "https://")
        )


def scheme_profiles(profiles_path: Path, host: str, verify_tls: bool) -> None:
    from .helpers import write_profiles

    write_profiles(
        profiles_path,
        f"""
        [profiles.api]
        kind = "standalone-in-cluster"
        host = "{host}/pipeline"
        verify_tls = {str(verify_tls).lower()}
        timeout = 5

        [profiles.dex]
        kind = "platform-dex"
        host = "{host}/pipeline"
        username = "{USER}"
        namespace = "kubeflow-user-example-com"
        verify_tls = {str(verify_tls).lower()}
        timeout = 5
        """,
    )


@pytest.mark.parametrize("verify_tls", [True, False])
@pytest.mark.parametrize(("tls", "cause"), [(False, PLAIN_HTTP), (True, SPEAKS_TLS)])
def test_a_scheme_that_does_not_match_the_port_is_named_on_both_hops(
    tls: bool, cause: str, verify_tls: bool, profiles_path: Path, no_keyring: None
) -> None:
    from kfp_profiles import get_client

    with wrong_scheme(tls) as host:
        scheme_profiles(profiles_path, host, verify_tls)
        with pytest.raises(ConnectionFailedError) as api:
            get_client("api").list_experiments()
        with pytest.raises(ConnectionFailedError) as login:
            get_client("dex", password="12341234")
    assert str(api.value) == f"Cannot reach {host} for profile 'api': {cause}"
    assert str(login.value) == f"Cannot reach {host} for profile 'dex': {cause}"


@pytest.mark.parametrize(("tls", "cause"), [(False, PLAIN_HTTP), (True, SPEAKS_TLS)])
def test_check_names_a_scheme_that_does_not_match_the_port(
    tls: bool, cause: str, profiles_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kfp_profiles.cli import run

    with wrong_scheme(tls) as host:
        scheme_profiles(profiles_path, host, verify_tls=False)
        assert run(["check", "api"]) == 5
    captured = capsys.readouterr()
    healthz = next(line for line in captured.out.splitlines() if line.startswith("healthz"))
    assert healthz.split()[1] == "FAIL"  # the step fails; its reason is said once, below
    assert captured.err == (
        f"kfp-profiles: error: check of profile 'api' failed: Cannot reach {host} for "
        f"profile 'api': {cause}\n"
    )


def test_a_plain_http_port_that_drops_the_connection_is_not_taken_for_tls() -> None:
    # The TLS probe behind SPEAKS_TLS only speaks up when a handshake succeeds.
    with Blackhole() as url:
        failure = connection_failed(
            urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError()),
            url,
            profile="p",
            timeout=0.5,
            verify_tls=True,
            ca_bundle=None,
        )
    assert str(failure) == (
        f"Cannot reach {url} for profile 'p': the connection broke mid-answer; try again, "
        "and check the server."
    )


def test_a_tls_failure_that_is_neither_a_certificate_nor_plain_http_says_what_openssl_said() -> (
    None
):
    import ssl

    alert = ssl.SSLError(1, "[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version")
    failure = connection_failed(
        urllib3.exceptions.SSLError(alert),
        "https://kf.example.com/pipeline",
        profile="p",
        timeout=5,
        verify_tls=True,
        ca_bundle=None,
    )
    assert str(failure) == (
        "Cannot reach https://kf.example.com for profile 'p': the TLS handshake failed ([SSL: "
        "TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version); check that `host` names "
        "the server's HTTPS port, and the server's TLS settings."
    )
