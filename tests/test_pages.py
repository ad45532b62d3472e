"""Reading an answer's parts (kfp_profiles.auth.pages): queries, forms, links, Set-Cookie."""

from __future__ import annotations

import pytest

from kfp_profiles.auth.pages import find_password_form, links, query_params, set_cookies

NOW = 1_800_000_000.0


def test_query_params_keep_blank_values_and_the_last_of_a_repeated_key() -> None:
    assert query_params("http://h/l?back=&state=s&state=t&rd=%2Fpipeline") == {
        "back": "",
        "state": "t",
        "rd": "/pipeline",
    }


def test_the_password_form_is_the_one_with_a_password_input() -> None:
    page = (
        '<form action="/search"><input name="q"></form>'
        '<form method="post" action="/dex/auth/local?req=r&amp;x=1">'
        '<input name="login"><input type="password" name="password">'
        '<button name="submit">Login</button></form>'
    )
    form = find_password_form(page)
    assert form is not None
    assert form.action == "/dex/auth/local?req=r&x=1"
    assert form.fields == ["login", "password", "submit"]
    assert find_password_form('<form action="/a"><input name="q"></form>') is None
    assert find_password_form("password, but no form") is None


def test_links_are_the_hrefs_of_anchors_in_page_order() -> None:
    page = '<link href="/style.css"><a href="/b?x=1&amp;y=2">b</a><a>none</a><a href="/a">a</a>'
    assert links(page) == ["/b?x=1&y=2", "/a"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("s=v; Path=/; Max-Age=86400; HttpOnly", ("s", "v", NOW + 86400, False)),
        ("s=v; Expires=Sat, 16 Jan 2027 07:00:00 GMT", ("s", "v", NOW + 23 * 3600, False)),
        ("s=v; Expires=Sat, 16-Jan-2027 07:00:00 GMT", ("s", "v", NOW + 23 * 3600, False)),
        ("s=v; Max-Age=60; Expires=Sat, 16 Jan 2027 07:00:00 GMT", ("s", "v", NOW + 60, False)),
        ("s=v; Path=/", ("s", "v", None, False)),
        ("csrf=; Path=/; Max-Age=0", ("csrf", "", NOW, True)),
        ("s=v; Max-Age=0", ("s", "v", NOW, True)),
        ("s=v; Max-Age=soon; Expires=nonsense", ("s", "v", None, False)),
    ],
)
def test_set_cookie_lines_give_expiry_and_deletion(
    line: str, expected: tuple[str, str, float | None, bool]
) -> None:
    (cookie,) = set_cookies([line], NOW)
    assert (cookie.name, cookie.value, cookie.expires_at, cookie.deleted) == expected


def test_lines_that_are_not_cookies_are_skipped_and_order_is_kept() -> None:
    cookies = set_cookies(["no-equals-sign", "=v", "b=s3cr3t-value", "a=1"], NOW)
    assert [c.name for c in cookies] == ["b", "a"]
    assert "s3cr3t-value" not in repr(cookies[0])
