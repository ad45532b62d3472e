"""The messages a login flow trades (kfp_profiles.auth.exchange): redaction, reprs, settings."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from pydantic import SecretStr

from kfp_profiles.auth.exchange import (
    REDACTED,
    DexLoginSettings,
    HttpRequest,
    HttpResponse,
    TrailStep,
    describe_answer,
    redact_url,
    render_trail,
)

PASSWORD = "pw-Sekr1t-9931"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://h/oauth2/callback?code=abc&state=xyz",
            f"https://h/oauth2/callback?code={REDACTED}&state={REDACTED}",
        ),
        (
            "https://h/dex/approval?req=r1&hmac=m1",
            f"https://h/dex/approval?req={REDACTED}&hmac={REDACTED}",
        ),
        (
            "https://h/x?password=p&rd=%2Fpipeline",
            f"https://h/x?password={REDACTED}&rd=%2Fpipeline",
        ),
        ("https://u:secret@h/p#frag", f"https://u:{REDACTED}@h/p"),
        ("/dex/auth/local?req=old&back=", f"/dex/auth/local?req={REDACTED}&back="),
    ],
)
def test_redact_url_hides_codes_states_and_passwords(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_reprs_show_no_password_and_no_secret_query_value() -> None:
    request = HttpRequest(
        "POST", "http://h/login?state=s", {"login": "u", "password": SecretStr(PASSWORD)}
    )
    assert PASSWORD not in repr(request) and "state=s" not in repr(request)
    assert (
        repr(HttpResponse(302, "http://h/cb?code=c1"))
        == f"HttpResponse(302 http://h/cb?code={REDACTED})"
    )


def test_settings_origin_is_scheme_and_host_of_the_api_url() -> None:
    settings = DexLoginSettings(
        profile="p", api_url="HTTPS://KF.Example.com:8443/pipeline", username="u"
    )
    assert settings.origin == "https://kf.example.com:8443"
    assert settings.api_path == "/pipeline"


def test_form_data_unwraps_the_secret_only_when_asked() -> None:
    request = HttpRequest("POST", "http://h/", {"password": SecretStr("x1"), "login": "u"})
    form: Mapping[str, object] = request.form or {}
    assert isinstance(form["password"], SecretStr)
    assert request.form_data() == {"password": "x1", "login": "u"}


def test_a_response_keeps_repeated_headers_and_makes_its_redirect_absolute() -> None:
    response = HttpResponse(
        302,
        "http://h/pipeline",
        (("Location", "/dex/auth?x=1"), ("Set-Cookie", "a=1"), ("set-cookie", "b=2")),
    )
    assert response.location == "http://h/dex/auth?x=1"
    assert response.header_values("Set-Cookie") == ["a=1", "b=2"]
    assert HttpResponse(200, "http://h/", (("Location", "/x"),)).location is None


def test_an_answer_and_a_trail_are_described_without_secrets() -> None:
    redirect = HttpResponse(303, "http://h/login", (("Location", "/cb?code=c9&state=s"),))
    assert describe_answer(redirect) == f"303 to http://h/cb?code={REDACTED}&state={REDACTED}"
    page = HttpResponse(500, "http://h/", (("Content-Type", "text/plain; charset=utf-8"),))
    assert describe_answer(page) == "500 (text/plain)"
    assert describe_answer(HttpResponse(502, "http://h/")) == "502 (no content type)"
    trail = [TrailStep("GET", "http://h/cb?code=c9", 302), TrailStep("POST", "http://h/l", 303)]
    assert render_trail(trail) == f"GET http://h/cb?code={REDACTED} -> 302; POST http://h/l -> 303"
    assert render_trail([]) == "(no request sent)"
