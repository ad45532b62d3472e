"""The emulated Dex answers as each of its versions does (kfp_profiles/testing/dex.py).

The old paths before v2.29, the new ones after; 401 for a wrong password
from v2.36; the approval page skipped in the login from v2.39; the
connector list; the registered client; codes that work once.

Everything runs over real HTTP on loopback, driven with ``requests`` and
with ``http.client`` (tests/browser.py); nothing here is mocked.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests

from kfp_profiles.testing import Emulator

from .browser import (
    DEX_QUERY,
    PASSWORD,
    USER,
    browser_login,
    cookie_value,
    dex_minor,
    oauth2_proxy_login,
    parse_page,
    post_form,
    query_of,
    raw,
)

# --- Dex, version by version ---------------------------------------------------------------


@pytest.mark.parametrize("version", ["v2.31", "v2.36", "v2.39", "v2.41", "v2.44"])
def test_dex_new_paths(version: str) -> None:
    new_enough_for_401 = dex_minor(version) >= 36
    skips_approval_in_login = dex_minor(version) >= 39
    with Emulator(door="oauth2-proxy", dex=version) as emu:
        auth = raw(emu, "GET", f"/dex/auth?{DEX_QUERY}")
        connector = raw(emu, "GET", auth.location)
        wrong_method = raw(emu, "POST", auth.location, body=b"")
        form = raw(emu, "GET", connector.location)
        body = form.body.decode()
        bad = post_form(emu, connector.location, f"login={USER}&password=wrong")
        good = post_form(emu, connector.location, f"login={USER}&password={PASSWORD}")
        approval = None if skips_approval_in_login else raw(emu, "GET", good.location)
        all_dex = [r for r in emu.requests if r.path.startswith("/dex/")]
    assert auth.status == 302 and auth.location == f"/dex/auth/local?{DEX_QUERY}"
    assert connector.status == 302
    assert re.fullmatch(r"/dex/auth/local/login\?back=&state=[a-z2-7]{25}", connector.location)
    assert wrong_method.status == 400 and b"Unsupported request method." in wrong_method.body
    (login_form,) = parse_page(body).forms
    assert (login_form.method, login_form.action) == ("post", connector.location)
    assert set(login_form.fields) == {"login", "password"}  # no CSRF token
    assert form.set_cookies == {} and all_dex
    assert bad.status == (401 if new_enough_for_401 else 200)
    assert bad.location == "" and 'name="password"' in bad.body.decode()
    assert good.status == 303
    callback = good.location if approval is None else approval.location
    if approval is not None:
        assert re.fullmatch(r"/dex/approval\?req=[a-z2-7]{25}&hmac=[\w-]+", good.location)
        assert approval.status == 303
    assert callback.startswith("/oauth2/callback?code=") and query_of(callback)["state"] == "s1"


def test_dex_old_paths_before_v2_29() -> None:
    with Emulator(door="oidc-authservice", dex="v2.28") as emu:
        query = DEX_QUERY.replace("%2Foauth2%2Fcallback", "%2Fauthservice%2Foidc%2Fcallback")
        auth = raw(emu, "GET", f"/dex/auth?{query}")
        form = raw(emu, "GET", auth.location)
        bad = post_form(emu, auth.location, f"login={USER}&password=nope")
        good = post_form(emu, auth.location, f"login={USER}&password={PASSWORD}")
        approval = raw(emu, "GET", good.location)
        new_path = raw(emu, "GET", "/dex/auth/local/login?back=&state=x")
    assert auth.status == 302 and re.fullmatch(r"/dex/auth/local\?req=[a-z2-7]{25}", auth.location)
    (login_form,) = parse_page(form.body.decode()).forms
    assert form.status == 200 and login_form.action == auth.location
    assert bad.status == 200 and bad.location == ""
    assert (
        good.status == 303
        and good.location == f"/dex/approval?req={query_of(auth.location)['req']}"
    )
    assert approval.status == 303
    assert approval.location.startswith("/authservice/oidc/callback?code=")
    assert new_path.status == 404


def test_dex_with_several_connectors_shows_the_list() -> None:
    with (
        Emulator(door="oauth2-proxy", connectors=("local", "ldap")) as emu,
        requests.Session() as s,
    ):
        listing = raw(emu, "GET", f"/dex/auth?{DEX_QUERY}")
        direct = raw(emu, "GET", f"/dex/auth?{DEX_QUERY}&connector_id=ldap")
        unknown = raw(emu, "GET", f"/dex/auth/github?{DEX_QUERY}")
        to_login = raw(emu, "GET", f"/dex/auth/ldap?{DEX_QUERY}")
        final = browser_login(emu, s, connector="ldap")
    links = parse_page(listing.body.decode()).links
    assert listing.status == 200 and listing.location == ""
    assert sorted(urlsplit(link).path for link in links) == ["/dex/auth/ldap", "/dex/auth/local"]
    assert all(urlsplit(link).query == DEX_QUERY for link in links)
    assert direct.status == 302 and direct.location.startswith("/dex/auth/ldap?")
    assert unknown.status == 404
    assert query_of(to_login.location)["back"]  # a way back to the list
    assert final.status_code == 200 and final.url.endswith("/pipeline/")


def test_dex_refuses_an_unregistered_client() -> None:
    with Emulator(door="oauth2-proxy") as emu:
        answer = raw(emu, "GET", "/dex/auth?client_id=other&redirect_uri=%2Foauth2%2Fcallback")
    assert answer.status == 400 and answer.location == ""


def test_dex_auth_codes_work_once() -> None:
    with Emulator(door="oauth2-proxy") as emu:
        first = oauth2_proxy_login(emu)
        used = [r for r in emu.requests if r.path == "/oauth2/callback"][-1].query["code"]
        again = raw(emu, "GET", "/oauth2/start?rd=/pipeline")
        nonce = cookie_value(again.set_cookies["oauth2_proxy_kubeflow_csrf"])
        replay = raw(
            emu,
            "GET",
            f"/oauth2/callback?code={used}&state={nonce}:/pipeline",
            headers={"Cookie": f"oauth2_proxy_kubeflow_csrf={nonce}"},
        )
    assert first.status == 302
    assert replay.status == 500 and "oauth2_proxy_kubeflow" not in replay.set_cookies
