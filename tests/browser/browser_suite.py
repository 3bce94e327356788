"""The demo page (web/) in a real browser: headless Chromium (Debian's package) driven by
Playwright, against the local stack `make test` starts (cargo lambda watch, real Redis
and DynamoDB Local). docs/contract.md, "Browser clients".

    python tests/browser/browser_suite.py --api URL --page URL --other-page URL --out DIR

--page serves web/ from an origin in ALLOWED_ORIGINS, --other-page serves the same files
from one that is not. Every scenario saves a screenshot in --out. Every wait is bounded;
everything talks to 127.0.0.1 only. Ends with "browser: N passed, N failed".
"""

import argparse
import json
import sys
import time
import traceback
import uuid
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

PASSWORD = "correct horse battery staple"
WAIT_MS = 30_000  # the longest any single step may take (on a busy 2-core machine)
SCENARIOS = []


def scenario(function):
    SCENARIOS.append(function)
    return function


class Suite:
    def __init__(self, args, browser):
        self.api = args.api.rstrip("/")
        self.page_url = f"{args.page.rstrip('/')}/?api={self.api}"
        self.other_url = f"{args.other_page.rstrip('/')}/?api={self.api}"
        self.out = Path(args.out)
        self.browser = browser
        self.pages = []  # of the running scenario, screenshotted if it fails

    def context(self):
        context = self.browser.new_context(viewport={"width": 1100, "height": 900})
        context.set_default_timeout(WAIT_MS)
        return context

    def open(self, context, url=None):
        page = context.new_page()
        self.pages.append(page)
        page.goto(url or self.page_url)
        # The page has finished starting once it shows a state.
        expect(page.locator("body:not([data-state='starting'])")).to_be_attached()
        return page

    def sign_up(self, page):
        """Signs a new user up through the form; returns (email, the /signup response)."""
        email = f"browser-{uuid.uuid4().hex[:12]}@example.com"
        expect(page.locator("body")).to_have_attribute("data-state", "signed-out")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        with page.expect_response(lambda r: r.url.endswith("/signup") and r.request.method == "POST") as signup:
            page.click("#signup")
        expect_signed_in(page, email)
        return email, signup.value

    def screenshot(self, page, name):
        path = self.out / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def expect_signed_in(page, email=None):
    expect(page.locator("body")).to_have_attribute("data-state", "signed-in")
    if email:
        expect(page.locator("#status")).to_have_text(f"signed in as {email}")


def claims_on(page):
    return json.loads(page.locator("#claims").text_content())


def refresh_cookie(context):
    cookies = [c for c in context.cookies() if c["name"] == "__Host-refresh"]
    assert len(cookies) <= 1, cookies
    return cookies[0] if cookies else None


@scenario
def sign_up(suite):
    context = suite.context()
    page = suite.open(context)
    email, signup = suite.sign_up(page)
    assert signup.status == 201, signup.status
    body = signup.json()
    assert list(body["tokens"]) == ["idToken"], body  # the refresh token is not in the body
    claims = claims_on(page)
    assert claims["email"] == email and claims["sid"], claims
    expect(page.locator("#sessions tr")).to_have_count(1)
    expect(page.locator("#sessions tr")).to_contain_text("(this one)")
    cookie = refresh_cookie(context)
    assert cookie and cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict", cookie
    assert cookie["path"] == "/" and cookie["domain"] == "127.0.0.1", cookie
    suite.screenshot(page, "01-sign-up")
    context.close()


@scenario
def reload_keeps_the_user_signed_in(suite):
    context = suite.context()
    page = suite.open(context)
    email, _ = suite.sign_up(page)
    before = claims_on(page)
    with page.expect_response(lambda r: r.url.endswith("/tokens")) as refreshed:
        page.reload()
    assert refreshed.value.status == 200, refreshed.value.status
    expect_signed_in(page, email)
    after = claims_on(page)
    assert after["sid"] == before["sid"], "the same session, refreshed through the cookie"
    assert after["jti"] != before["jti"], "a new id token"
    suite.screenshot(page, "02-reload-still-signed-in")
    context.close()


@scenario
def no_token_is_readable_by_the_page(suite):
    context = suite.context()
    page = suite.open(context)
    _, signup = suite.sign_up(page)
    id_token = signup.json()["tokens"]["idToken"]
    refresh_token = refresh_cookie(context)["value"]
    storage = page.evaluate(
        """() => ({
            local: JSON.stringify(Object.entries(localStorage)),
            session: JSON.stringify(Object.entries(sessionStorage)),
            cookie: document.cookie,
        })"""
    )
    assert storage == {"local": "[]", "session": "[]", "cookie": ""}, storage
    for where, text in storage.items():
        assert id_token not in text and refresh_token not in text, where
    # And after a reload and a refresh, still nothing.
    page.reload()
    expect_signed_in(page)
    page.click("#refresh")
    expect_signed_in(page)
    assert page.evaluate("() => localStorage.length + sessionStorage.length + document.cookie.length") == 0
    suite.screenshot(page, "03-no-token-in-storage")
    context.close()


@scenario
def two_tabs_refreshing_at_the_same_moment_both_stay_signed_in(suite):
    context = suite.context()
    tab_a = suite.open(context)
    email, _ = suite.sign_up(tab_a)
    tab_b = suite.open(context)  # signs in through the cookie
    expect_signed_in(tab_b, email)
    sid = claims_on(tab_a)["sid"]
    assert claims_on(tab_b)["sid"] == sid
    answers = []
    for tab in (tab_a, tab_b):
        tab.on("response", lambda r: r.url.endswith("/tokens") and answers.append(r))
    # Both tabs click "Refresh now" at one instant of the shared clock.
    at = tab_a.evaluate("() => Date.now() + 750")
    for tab in (tab_a, tab_b):
        tab.evaluate("at => setTimeout(() => document.getElementById('refresh').click(), at - Date.now())", at)
    deadline = time.monotonic() + WAIT_MS / 1000
    while len(answers) < 2 and time.monotonic() < deadline:
        tab_a.wait_for_timeout(100)
    assert [r.status for r in answers] == [200, 200], [(r.url, r.status) for r in answers]
    cookies = [r.header_value("set-cookie").split(";")[0] for r in answers]
    assert cookies[0] == cookies[1], "the grace window gave both tabs the same new cookie"
    assert refresh_cookie(context)["value"] == cookies[0].split("=", 1)[1]
    for tab in (tab_a, tab_b):
        expect_signed_in(tab, email)
        assert claims_on(tab)["sid"] == sid
    # And each goes on refreshing.
    for tab in (tab_a, tab_b):
        with tab.expect_response(lambda r: r.url.endswith("/tokens")) as again:
            tab.click("#refresh")
        assert again.value.status == 200
        expect_signed_in(tab, email)
    suite.screenshot(tab_a, "04-two-tabs-tab-a")
    suite.screenshot(tab_b, "04-two-tabs-tab-b")
    context.close()


@scenario
def sign_out_everywhere_in_one_tab_signs_the_other_out_at_its_next_refresh(suite):
    context = suite.context()
    tab_a = suite.open(context)
    email, _ = suite.sign_up(tab_a)
    tab_b = suite.open(context)
    expect_signed_in(tab_b, email)
    with tab_a.expect_response(lambda r: r.url.endswith("/revoke-all")) as revoked:
        tab_a.click("#signout-everywhere")
    assert revoked.value.status == 204
    expect(tab_a.locator("body")).to_have_attribute("data-state", "signed-out")
    assert refresh_cookie(context) is None, "revoke-all cleared the cookie"
    expect_signed_in(tab_b, email)  # tab B has not asked anything yet
    with tab_b.expect_response(lambda r: r.url.endswith("/tokens")) as refreshed:
        tab_b.click("#refresh")
    assert refreshed.value.status == 401
    expect(tab_b.locator("body")).to_have_attribute("data-state", "signed-out")
    expect(tab_b.locator("#error-type")).to_have_text("invalid-token")
    suite.screenshot(tab_a, "05-sign-out-everywhere-tab-a")
    suite.screenshot(tab_b, "05-sign-out-everywhere-tab-b")
    context.close()


class NetworkLog:
    """What the network saw, from the DevTools protocol: a page cannot read a response
    that CORS blocks (nor can Playwright's response events), but the browser received it."""

    def __init__(self, context, page):
        self.requests, self.statuses, self.cookies = {}, {}, set()
        cdp = context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._sent)
        # The headers as sent, cookies included (requestWillBeSent has them without).
        cdp.on("Network.requestWillBeSentExtraInfo", self._sent_headers)
        cdp.on("Network.responseReceivedExtraInfo", self._received)
        cdp.send("Network.enable")

    def _sent(self, event):
        request = event["request"]
        self.requests[event["requestId"]] = (request["method"], request["url"])

    def _sent_headers(self, event):
        if any(name.lower() == "cookie" for name in event["headers"]):
            self.cookies.add(event["requestId"])

    def _received(self, event):
        self.statuses[event["requestId"]] = event["statusCode"]

    def answers(self, method, url):
        """(status, whether the request carried a cookie) of each such request, in order."""
        return [
            (self.statuses.get(id_), id_ in self.cookies)
            for id_, (m, u) in self.requests.items()
            if m == method and u == url
        ]


@scenario
def a_page_of_a_disallowed_origin_cannot_refresh(suite):
    context = suite.context()
    good = suite.open(context)
    email, _ = suite.sign_up(good)
    cookie_before = refresh_cookie(context)["value"]
    # The same page, served from an origin not in ALLOWED_ORIGINS, in the same browser
    # (same-site, so the browser attaches the cookie to what it sends).
    evil = context.new_page()
    suite.pages.append(evil)
    network = NetworkLog(context, evil)
    evil.goto(suite.other_url)
    expect(evil.locator("body")).to_have_attribute("data-state", "signed-out")
    expect(evil.locator("#error-type")).to_have_text("network-error")
    tokens = f"{suite.api}/tokens"
    # Its refresh at start-up (X-Token-Transport: cookie) stopped at the preflight: 403.
    assert network.answers("OPTIONS", tokens) == [(403, False)], network.answers("OPTIONS", tokens)
    assert all(status is None for status, _ in network.answers("POST", tokens)), "the request itself never went"
    # A request a page may send without a preflight (no custom header) carries the
    # cookie, and the API refuses it: 403 forbidden-origin, which the page cannot even read.
    outcome = evil.evaluate(
        """url => fetch(url, {method: "POST", credentials: "include"})
                  .then(r => "read " + r.status, e => "blocked: " + e.name)""",
        tokens,
    )
    assert outcome == "blocked: TypeError", outcome
    deadline = time.monotonic() + WAIT_MS / 1000
    while (403, True) not in network.answers("POST", tokens) and time.monotonic() < deadline:
        evil.wait_for_timeout(100)
    assert (403, True) in network.answers("POST", tokens), network.answers("POST", tokens)
    # Nothing changed: the cookie is the same and the allowed page still refreshes with it.
    assert refresh_cookie(context)["value"] == cookie_before
    with good.expect_response(lambda r: r.url.endswith("/tokens")) as refreshed:
        good.click("#refresh")
    assert refreshed.value.status == 200
    expect_signed_in(good, email)
    suite.screenshot(evil, "06-disallowed-origin")
    context.close()


@scenario
def ending_another_session_from_the_list(suite):
    laptop, phone = suite.context(), suite.context()
    laptop_page = suite.open(laptop)
    email, _ = suite.sign_up(laptop_page)
    phone_page = suite.open(phone)
    phone_page.fill("#email", email)
    phone_page.fill("#password", PASSWORD)
    phone_page.click("#signin")
    expect_signed_in(phone_page, email)
    laptop_page.click("#list-sessions")
    rows = laptop_page.locator("#sessions tr")
    expect(rows).to_have_count(2)
    other = rows.filter(has_not_text="(this one)")
    with laptop_page.expect_response(lambda r: "/sessions/" in r.url) as ended:
        other.locator("button.end-session").click()
    assert ended.value.status == 204
    expect(rows).to_have_count(1)
    with phone_page.expect_response(lambda r: r.url.endswith("/tokens")) as refreshed:
        phone_page.click("#refresh")
    assert refreshed.value.status == 401
    expect(phone_page.locator("body")).to_have_attribute("data-state", "signed-out")
    suite.screenshot(laptop_page, "07-end-another-session")
    laptop.close()
    phone.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--page", required=True, help="web/ served from an allowed origin")
    parser.add_argument("--other-page", required=True, help="web/ served from an origin not allowed")
    parser.add_argument("--out", required=True, help="screenshots go here")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Debian's chromium")
    parser.add_argument("--only", help="run only the scenarios whose name contains this")
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    passed, failed = 0, 0
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, timeout=60_000)
        try:
            suite = Suite(args, browser)
            for test in SCENARIOS:
                if args.only and args.only not in test.__name__:
                    continue
                started = time.monotonic()
                suite.pages = []
                try:
                    test(suite)
                    passed += 1
                    print(f"browser: {test.__name__} ... ok ({time.monotonic() - started:.1f} s)", flush=True)
                except Exception:  # noqa: BLE001 - every failure is reported, then the next scenario runs
                    failed += 1
                    print(f"browser: {test.__name__} ... FAILED", flush=True)
                    traceback.print_exc()
                    for number, page in enumerate(suite.pages):
                        if not page.is_closed():
                            suite.screenshot(page, f"FAILED-{test.__name__}-{number}")
        finally:
            browser.close()
    print(f"browser: screenshots in {args.out}")
    print(f"browser: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
