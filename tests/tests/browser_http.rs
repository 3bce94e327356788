//! Browser clients (docs/contract.md, "Browser clients"), at the HTTP level: the
//! refresh token in the `__Host-refresh` cookie, the Origin allow-list that guards every
//! request relying on it, and CORS answered by the functions. The same promises in a
//! real browser: tests/browser/ (run by `make test`).

use std::collections::BTreeMap;

use e2e::*;
use serde_json::{json, Value};

const ORIGIN: &str = "http://app.test.example:8080";
const OTHER_ORIGIN: &str = "http://evil.test.example";
const COOKIE_ATTRIBUTES: &str = "; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=";

async fn app(target: Target) -> App {
    App::adjusted(target, |s| s.allowed_origins = vec![ORIGIN.to_string()]).await
}

/// A browser's request: `origin` (if any), `X-Token-Transport: cookie` when `cookie_mode`,
/// and the refresh cookie as API Gateway hands cookies over (the event's `cookies`).
struct Browser<'a> {
    origin: Option<&'a str>,
    cookie_mode: bool,
    cookie: Option<&'a str>,
}

const PAGE: Browser<'static> = Browser {
    origin: Some(ORIGIN),
    cookie_mode: true,
    cookie: None,
};

impl<'a> Browser<'a> {
    fn with_cookie(self, cookie: &'a str) -> Self {
        Browser {
            cookie: Some(cookie),
            ..self
        }
    }

    fn request(&self, method: &str, path: &str, extra: &[(&str, &str)], body: Option<&str>) -> lambda_http::Request {
        let mut headers: Vec<(&str, &str)> = vec![("user-agent", "browser-test/1.0")];
        if let Some(origin) = self.origin {
            headers.push(("origin", origin));
        }
        if self.cookie_mode {
            headers.push(("x-token-transport", "cookie"));
        }
        headers.extend_from_slice(extra);
        let mut event = event(method, path, &headers, body, "198.51.100.7");
        if let Some(cookie) = self.cookie {
            event["cookies"] = json!(["theme=dark", format!("__Host-refresh={cookie}")]);
        }
        lambda_http::request::from_str(&event.to_string()).expect("a valid event")
    }

    fn post_json(&self, path: &str, body: &Value) -> lambda_http::Request {
        self.request(
            "POST",
            path,
            &[("content-type", "application/json")],
            Some(&body.to_string()),
        )
    }

    /// What `fetch(url, {method: "POST", credentials: "include"})` sends: no body at all.
    fn post_empty(&self, path: &str) -> lambda_http::Request {
        self.request("POST", path, &[], None)
    }
}

/// The refresh token and Max-Age of the response's one `Set-Cookie`, after checking
/// every attribute is exactly the contract's.
fn refresh_cookie_of(response: &TestResponse) -> (String, u64) {
    let set_cookies: Vec<_> = response.headers.get_all("set-cookie").iter().collect();
    assert_eq!(set_cookies.len(), 1, "{response:?}");
    let set_cookie = set_cookies[0].to_str().unwrap();
    let rest = set_cookie
        .strip_prefix("__Host-refresh=")
        .unwrap_or_else(|| panic!("{set_cookie}"));
    let (value, max_age) = rest
        .split_once(COOKIE_ATTRIBUTES)
        .unwrap_or_else(|| panic!("unexpected attributes: {set_cookie}"));
    (value.to_string(), max_age.parse().expect("Max-Age in seconds"))
}

fn assert_cookie_cleared(response: &TestResponse) {
    let (value, max_age) = refresh_cookie_of(response);
    assert_eq!((value.as_str(), max_age), ("", 0), "{response:?}");
}

/// A cookie-mode token response: only `idToken` in the body, the refresh token in the
/// cookie, with its remaining life as Max-Age.
fn cookie_of_token_response(response: &TestResponse, status: u16) -> String {
    assert_eq!(response.status, status, "{response:?}");
    let tokens = response.body["tokens"].as_object().expect("tokens");
    assert_eq!(tokens.keys().collect::<Vec<_>>(), ["idToken"], "{response:?}");
    assert!(!response.raw_body.contains("refreshToken"));
    let (token, max_age) = refresh_cookie_of(response);
    let exp = claims_of(&token)["exp"].as_u64().unwrap();
    let now = shared::time::now_millis() / 1000;
    assert!(
        exp.saturating_sub(now).abs_diff(max_age) <= 2,
        "Max-Age {max_age} is the token's remaining life ({exp} - {now})"
    );
    assert_eq!(claims_of(&response.id_token())["sid"], claims_of(&token)["sid"]);
    assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(response.header("access-control-allow-credentials"), Some("true"));
    token
}

fn credentials(email: &str) -> Value {
    json!({"email": email, "password": PASSWORD})
}

async fn signed_up_in_cookie_mode(app: &App) -> (String, TestResponse, String) {
    let email = unique_email();
    let response = app
        .call(Function::Signup, PAGE.post_json("/signup", &credentials(&email)))
        .await;
    let cookie = cookie_of_token_response(&response, 201);
    (email, response, cookie)
}

/// Every field of the user's whitelist hash.
async fn whitelist_state(app: &App, id_token: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let user_id = claims_of(id_token)["sub"].as_str().unwrap().to_string();
    let mut redis = app.redis().await;
    redis::cmd("HGETALL")
        .arg(shared::whitelist::sessions_key(&user_id))
        .query_async(&mut redis)
        .await
        .unwrap()
}

async fn sign_up_sign_in_and_refresh_put_the_refresh_token_in_the_cookie_only(target: Target) {
    let app = app(target).await;
    let max_life = app.settings.refresh_token_ttl.as_secs();
    let (email, _, first) = signed_up_in_cookie_mode(&app).await;
    assert!(max_life - refresh_cookie_max_age(&first) <= 2);

    let signin = app
        .call(Function::Signin, PAGE.post_json("/signin", &credentials(&email)))
        .await;
    let second = cookie_of_token_response(&signin, 200);
    assert_ne!(claims_of(&first)["sid"], claims_of(&second)["sid"], "a new session");

    // Refresh through the cookie, with no body or with `{}`.
    let refreshed = app
        .call(Function::Refresh, PAGE.with_cookie(&second).post_empty("/tokens"))
        .await;
    let third = cookie_of_token_response(&refreshed, 200);
    assert_ne!(third, second, "rotated");
    let again = app
        .call(
            Function::Refresh,
            PAGE.with_cookie(&third).post_json("/tokens", &json!({})),
        )
        .await;
    let fourth = cookie_of_token_response(&again, 200);
    assert_eq!(claims_of(&fourth)["sid"], claims_of(&second)["sid"]);

    // A cookie-mode refresh may still send the token in the body (a migrating client).
    let from_body = app
        .call(
            Function::Refresh,
            PAGE.post_json("/tokens", &json!({"refreshToken": fourth})),
        )
        .await;
    cookie_of_token_response(&from_body, 200);
}

fn refresh_cookie_max_age(token: &str) -> u64 {
    let exp = claims_of(token)["exp"].as_u64().unwrap();
    exp - shared::time::now_millis() / 1000
}

async fn body_mode_is_unchanged_and_sets_no_cookie(target: Target) {
    let app = app(target).await;
    let body_mode = Browser {
        cookie_mode: false,
        ..PAGE
    };
    let email = unique_email();
    let signup = app
        .call(Function::Signup, body_mode.post_json("/signup", &credentials(&email)))
        .await;
    assert_eq!(signup.status, 201);
    assert!(signup.header("set-cookie").is_none());
    let refreshed = app.refresh(&signup.refresh_token()).await;
    assert_eq!(refreshed.status, 200);
    assert!(refreshed.header("set-cookie").is_none());
    assert!(refreshed.body["tokens"]["refreshToken"].is_string());
    assert_eq!(app.signout(&refreshed.refresh_token()).await.status, 204);
}

async fn sign_out_through_the_cookie_ends_the_session_and_clears_the_cookie(target: Target) {
    let app = app(target).await;
    let (_, signup, cookie) = signed_up_in_cookie_mode(&app).await;
    let signed_out = app
        .call(Function::Signout, PAGE.with_cookie(&cookie).post_empty("/signout"))
        .await;
    assert_eq!(signed_out.status, 204, "{signed_out:?}");
    assert_cookie_cleared(&signed_out);
    assert_eq!(signed_out.header("access-control-allow-origin"), Some(ORIGIN));
    app.call(Function::Refresh, PAGE.with_cookie(&cookie).post_empty("/tokens"))
        .await
        .assert_error(401, "invalid-token");
    app.list_sessions(&signup.id_token())
        .await
        .assert_error(401, "invalid-token");
    // No cookie at all, in cookie mode: the page is signed out.
    app.call(Function::Refresh, PAGE.post_empty("/tokens"))
        .await
        .assert_error(401, "invalid-token");
}

async fn revoke_all_in_cookie_mode_clears_the_cookie(target: Target) {
    let app = app(target).await;
    let (email, signup, cookie) = signed_up_in_cookie_mode(&app).await;
    let other_tab = app
        .call(Function::Signin, PAGE.post_json("/signin", &credentials(&email)))
        .await;
    let other_cookie = cookie_of_token_response(&other_tab, 200);
    let authorization = format!("Bearer {}", signup.id_token());
    let revoked = app
        .call(
            Function::RevokeAll,
            PAGE.request("POST", "/revoke-all", &[("authorization", &authorization)], None),
        )
        .await;
    assert_eq!(revoked.status, 204, "{revoked:?}");
    assert_cookie_cleared(&revoked);
    for cookie in [&cookie, &other_cookie] {
        app.call(Function::Refresh, PAGE.with_cookie(cookie).post_empty("/tokens"))
            .await
            .assert_error(401, "invalid-token");
    }
    // In body mode, revoke-all sets no cookie.
    let (_, body_user) = app.new_user().await;
    let revoked = app.revoke_all(&body_user.id_token()).await;
    assert_eq!(revoked.status, 204);
    assert!(revoked.header("set-cookie").is_none());
}

async fn two_tabs_refreshing_at_once_both_get_the_same_new_cookie(target: Target) {
    let app = app(target).await;
    for round in 0..5 {
        let (_, _, cookie) = signed_up_in_cookie_mode(&app).await;
        let (a, b) = tokio::join!(
            app.call(Function::Refresh, PAGE.with_cookie(&cookie).post_empty("/tokens")),
            app.call(Function::Refresh, PAGE.with_cookie(&cookie).post_empty("/tokens")),
        );
        let (a, b) = (cookie_of_token_response(&a, 200), cookie_of_token_response(&b, 200));
        assert_eq!(a, b, "round {round}: the grace window hands both tabs the same token");
        let next = app
            .call(Function::Refresh, PAGE.with_cookie(&a).post_empty("/tokens"))
            .await;
        cookie_of_token_response(&next, 200);
    }
}

async fn requests_relying_on_the_cookie_without_the_header_or_an_allowed_origin_are_403_and_change_nothing(
    target: Target,
) {
    let app = app(target).await;
    let (_, signup, cookie) = signed_up_in_cookie_mode(&app).await;
    let before = whitelist_state(&app, &signup.id_token()).await;
    let refusals = [
        (
            "no X-Token-Transport",
            Browser {
                cookie_mode: false,
                ..PAGE
            },
        ),
        (
            "an origin not allowed",
            Browser {
                origin: Some(OTHER_ORIGIN),
                ..PAGE
            },
        ),
        ("no Origin", Browser { origin: None, ..PAGE }),
        (
            "neither",
            Browser {
                origin: None,
                cookie_mode: false,
                cookie: None,
            },
        ),
    ];
    for (what, browser) in refusals {
        let browser = browser.with_cookie(&cookie);
        for (function, path) in [(Function::Refresh, "/tokens"), (Function::Signout, "/signout")] {
            for request in [browser.post_empty(path), browser.post_json(path, &json!({}))] {
                let response = app.call(function, request).await;
                response.assert_error(403, "forbidden-origin");
                assert!(response.header("set-cookie").is_none(), "{what}: {response:?}");
                assert!(
                    response.header("access-control-allow-origin").is_none() || browser.origin == Some(ORIGIN),
                    "{what}: {response:?}"
                );
            }
        }
    }
    assert_eq!(
        whitelist_state(&app, &signup.id_token()).await,
        before,
        "no refusal changed the whitelist"
    );
    // Sign-up in cookie mode from an origin not allowed: refused before anything is written.
    let email = unique_email();
    let evil = Browser {
        origin: Some(OTHER_ORIGIN),
        ..PAGE
    };
    app.call(Function::Signup, evil.post_json("/signup", &credentials(&email)))
        .await
        .assert_error(403, "forbidden-origin");
    app.signin(&email, PASSWORD)
        .await
        .assert_error(401, "invalid-credentials");
    // The cookie still works from the allowed page, and was never rotated by a refusal.
    let refreshed = app
        .call(Function::Refresh, PAGE.with_cookie(&cookie).post_empty("/tokens"))
        .await;
    let rotated = cookie_of_token_response(&refreshed, 200);
    assert_ne!(rotated, cookie);
}

/// Preflights involve no store; the allowed origin's answer, the refused one's, and a bare
/// OPTIONS (not a preflight) that is the handler's 405 as before.
#[tokio::test]
async fn preflights_are_answered_for_allowed_origins_only_with_the_routes_methods() {
    let app = app(Target::Standalone).await;
    let preflight = |origin: &str, path: &str, method: &str| {
        let headers = [
            ("origin", origin),
            ("access-control-request-method", method),
            ("access-control-request-headers", "content-type,x-token-transport"),
        ];
        request("OPTIONS", path, &headers, None)
    };
    for (function, path, methods) in [
        (Function::Signup, "/signup", "POST"),
        (Function::Signin, "/signin", "POST"),
        (Function::Refresh, "/tokens", "POST"),
        (Function::Signout, "/signout", "POST"),
        (Function::RevokeAll, "/revoke-all", "POST"),
        (Function::Sessions, "/sessions", "GET"),
        (
            Function::Sessions,
            "/sessions/0123456789abcdef0123456789abcdef",
            "DELETE",
        ),
        (Function::Account, "/password/change", "POST"),
        (Function::Account, "/account", "DELETE"),
        (Function::Jwks, "/.well-known/jwks.json", "GET"),
        (Function::Me, "/me", "GET"),
    ] {
        let answer = app.call(function, preflight(ORIGIN, path, methods)).await;
        assert_eq!(answer.status, 204, "{path}: {answer:?}");
        assert_eq!(answer.raw_body, "");
        for (name, value) in [
            ("access-control-allow-origin", ORIGIN),
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-methods", methods),
            (
                "access-control-allow-headers",
                "content-type, authorization, x-token-transport",
            ),
            ("access-control-max-age", "7200"),
            ("vary", "origin"),
        ] {
            assert_eq!(answer.header(name), Some(value), "{path}: {name} in {answer:?}");
        }

        let refused = app.call(function, preflight(OTHER_ORIGIN, path, methods)).await;
        refused.assert_error(403, "forbidden-origin");
        assert!(refused.header("access-control-allow-origin").is_none());
        assert!(refused.header("access-control-allow-methods").is_none());
        assert_eq!(refused.header("vary"), Some("origin"));

        let bare = app.call(function, request("OPTIONS", path, &[], None)).await;
        bare.assert_error(405, "method-not-allowed");
        assert_eq!(bare.header("allow"), Some(methods));
    }
}

async fn every_response_to_an_allowed_origin_carries_the_cors_headers(target: Target) {
    let app = app(target).await;
    let page = Browser {
        cookie_mode: false,
        ..PAGE
    };
    let (_, signup) = app.new_user().await;
    let authorization = format!("Bearer {}", signup.id_token());
    let allowed = [
        (
            Function::Sessions,
            page.request("GET", "/sessions", &[("authorization", &authorization)], None),
            200,
        ),
        (
            Function::Sessions,
            page.request("GET", "/sessions", &[("authorization", "Bearer nope")], None),
            401,
        ),
        (
            Function::Jwks,
            page.request("GET", "/.well-known/jwks.json", &[], None),
            200,
        ),
        (Function::Refresh, page.request("GET", "/tokens", &[], None), 405),
    ];
    for (function, request, status) in allowed {
        let response = app.call(function, request).await;
        assert_eq!(response.status, status, "{response:?}");
        assert_eq!(response.header("access-control-allow-origin"), Some(ORIGIN));
        assert_eq!(response.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(response.header("vary"), Some("origin"));
    }
    let elsewhere = Browser {
        origin: Some(OTHER_ORIGIN),
        ..page
    };
    let response = app
        .call(
            Function::Sessions,
            elsewhere.request("GET", "/sessions", &[("authorization", &authorization)], None),
        )
        .await;
    assert_eq!(response.status, 200, "body mode does not depend on the origin");
    assert!(response.header("access-control-allow-origin").is_none());
    assert!(response.header("access-control-allow-credentials").is_none());
}

on_both_redis_modes!(
    sign_up_sign_in_and_refresh_put_the_refresh_token_in_the_cookie_only,
    body_mode_is_unchanged_and_sets_no_cookie,
    sign_out_through_the_cookie_ends_the_session_and_clears_the_cookie,
    revoke_all_in_cookie_mode_clears_the_cookie,
    two_tabs_refreshing_at_once_both_get_the_same_new_cookie,
    requests_relying_on_the_cookie_without_the_header_or_an_allowed_origin_are_403_and_change_nothing,
    every_response_to_an_allowed_origin_carries_the_cors_headers,
);
