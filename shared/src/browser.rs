//! Browser clients (docs/contract.md, "Browser clients"), handled once, at the edge
//! (`runtime::respond`), for every HTTP function:
//!
//! - **cookie mode**: a request with `X-Token-Transport: cookie` gets its refresh token
//!   as the cookie `__Host-refresh` (HttpOnly, so no script of the page can read it),
//!   and the body's `tokens` holds only `idToken`. Handlers stay transport-agnostic:
//!   they mark their response with a [`RefreshDelivery`] and [`Edge::finish`] delivers it
//!   the way the request asked;
//! - **CSRF**: a cookie-mode request must come from an `Origin` of `ALLOWED_ORIGINS`,
//!   else 403 `forbidden-origin` before the handler runs (nothing changes); and a
//!   handler takes the refresh token from the cookie only in cookie mode (a cookie
//!   the browser attached to a request that did not ask for it is refused the same way,
//!   `api::refresh_token_field`). A page of another origin cannot set that header
//!   without a preflight, which it fails;
//! - **CORS**: preflights from the allowed origins are answered 204 with credentials;
//!   every response to an allowed origin carries `Access-Control-Allow-Origin` (that
//!   origin, never `*`) and `Access-Control-Allow-Credentials`. The functions answer CORS
//!   themselves, the same in AWS (API Gateway's own CORS stays off, template.yaml) and
//!   under `make dev` (`cargo lambda watch --disable-cors`, scripts/services.sh).

use cookie::{Cookie, SameSite};
use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::error::ApiError;

/// The refresh token's cookie. `__Host-`: the browser accepts it only with `Secure`,
/// `Path=/` and no `Domain`, so no sibling subdomain can set or shadow it.
pub const REFRESH_COOKIE: &str = "__Host-refresh";
/// `X-Token-Transport: cookie` asks for cookie mode; absent (or anything else), body mode.
pub const TRANSPORT_HEADER: &str = "x-token-transport";
/// The request headers a browser may send (the preflight's `Access-Control-Allow-Headers`).
pub const ALLOWED_HEADERS: &str = "content-type, authorization, x-token-transport";
/// How long a browser may reuse a preflight's answer (Chromium caps it at 2 hours).
pub const PREFLIGHT_MAX_AGE_SECS: u32 = 7200;
/// Response headers a page may read beyond the CORS-safelisted ones.
const EXPOSED_HEADERS: &str = "retry-after";

/// What the edge needs of a function's context: the browser origins it trusts.
pub trait AllowedOrigins {
    /// `ALLOWED_ORIGINS`: serialized origins (`https://app.example.com`), never `*`.
    fn allowed_origins(&self) -> &[String];
}

/// A context that trusts no browser origin (handlers run without one, as in some tests).
impl AllowedOrigins for () {
    fn allowed_origins(&self) -> &[String] {
        &[]
    }
}

/// How the refresh token travels between this service and the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `{"tokens": {"idToken", "refreshToken"}}` and `{"refreshToken"}` bodies.
    Body,
    /// The `__Host-refresh` cookie.
    Cookie,
}

impl Transport {
    pub fn of(request: &Request) -> Self {
        match request.headers().get(TRANSPORT_HEADER) {
            Some(value) if value.as_bytes().trim_ascii().eq_ignore_ascii_case(b"cookie") => Transport::Cookie,
            _ => Transport::Body,
        }
    }
}

/// The request's `__Host-refresh` cookie, if it has a non-empty one.
pub fn refresh_cookie(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == REFRESH_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| !value.is_empty())
}

/// What a handler's response means for the refresh token; the edge acts on it only
/// for a cookie-mode request (a body-mode response already says everything).
#[derive(Clone)]
pub enum RefreshDelivery {
    /// A pair was issued; the refresh token stays valid this many more seconds.
    Issued {
        id_token: String,
        refresh_token: String,
        max_age_secs: u64,
    },
    /// The session the cookie belongs to ended (sign-out, revoke-all): clear it.
    Ended,
}

/// The `Set-Cookie` value of the refresh cookie; `Max-Age=0` with an empty value clears it.
pub fn refresh_cookie_header(token: &str, max_age_secs: u64) -> String {
    Cookie::build((REFRESH_COOKIE, token))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age_secs).unwrap_or(i64::MAX),
        ))
        .build()
        .to_string()
}

/// One request's browser concerns, read before the handler runs and applied to its response.
pub struct Edge {
    /// The request's `Origin`, when it is in the allow-list.
    allowed_origin: Option<HeaderValue>,
    preflight: bool,
    transport: Transport,
}

impl Edge {
    pub fn of(request: &Request, allowed: &[String]) -> Self {
        let headers = request.headers();
        let origin = headers.get(header::ORIGIN);
        let allowed_origin = origin
            .filter(|origin| allowed.iter().any(|a| a.as_bytes() == origin.as_bytes()))
            .cloned();
        Edge {
            allowed_origin,
            // A CORS preflight, as the Fetch standard defines it; a bare OPTIONS is a
            // request like any other (405 from the handler).
            preflight: request.method() == Method::OPTIONS
                && origin.is_some()
                && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD),
            transport: Transport::of(request),
        }
    }

    /// The 403 a request gets without reaching its handler: a preflight, or a request
    /// in cookie mode, from an origin that is not allowed (or with no `Origin` at all).
    pub fn refusal(&self) -> Option<ApiError> {
        let needs_allowed_origin = self.preflight || self.transport == Transport::Cookie;
        (needs_allowed_origin && self.allowed_origin.is_none()).then_some(ApiError::ForbiddenOrigin)
    }

    /// The response the client gets, from the handler's (or the refusal's).
    ///
    /// A preflight runs the handler like any request: its method is OPTIONS, which every
    /// handler refuses first thing with 405 and `Allow` (what `http::require_method`
    /// does, before any work), so the route's own methods come from the one place that
    /// knows them, and a route added later needs nothing here. This adds nothing a
    /// caller could not do before: any OPTIONS request already reaches the handler.
    pub fn finish(&self, mut response: Response<Body>) -> Response<Body> {
        let delivery = response.extensions_mut().remove::<RefreshDelivery>();
        if self.preflight && self.allowed_origin.is_some() {
            response = preflight_answer(response);
        } else if self.transport == Transport::Cookie {
            deliver_as_cookie(&mut response, delivery);
        }
        let headers = response.headers_mut();
        // Every response varies by Origin (with or without the CORS headers), so that
        // no cache hands one origin's answer to another.
        headers.append(header::VARY, HeaderValue::from_static("origin"));
        if let Some(origin) = &self.allowed_origin {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
            if !self.preflight {
                headers.insert(
                    header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static(EXPOSED_HEADERS),
                );
            }
        }
        response
    }
}

/// The handler's 405 to an allowed origin's preflight, turned into the 204 that lets the
/// browser send the real request: its `Allow` is the route's methods.
fn preflight_answer(response: Response<Body>) -> Response<Body> {
    let allow = match response.headers().get(header::ALLOW) {
        Some(allow) if response.status() == StatusCode::METHOD_NOT_ALLOWED => allow.clone(),
        // A handler that answered OPTIONS itself keeps its answer.
        _ => return response,
    };
    let mut answer = crate::http::no_content();
    let headers = answer.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, allow);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
    );
    answer
}

/// Cookie mode: the refresh token moves from the body into the cookie, or the cookie
/// is cleared when its session ended.
fn deliver_as_cookie(response: &mut Response<Body>, delivery: Option<RefreshDelivery>) {
    let set_cookie = match delivery {
        Some(RefreshDelivery::Issued {
            id_token,
            refresh_token,
            max_age_secs,
        }) => {
            *response.body_mut() = Body::Text(json!({ "tokens": { "idToken": id_token } }).to_string());
            refresh_cookie_header(&refresh_token, max_age_secs)
        }
        Some(RefreshDelivery::Ended) => refresh_cookie_header("", 0),
        None => return,
    };
    if let Ok(value) = HeaderValue::from_str(&set_cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = lambda_http::http::Request::builder().method(method).uri("/tokens");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[test]
    fn the_refresh_cookie_has_exactly_the_contract_attributes() {
        assert_eq!(
            refresh_cookie_header("a.b.c", 259_200),
            "__Host-refresh=a.b.c; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=259200"
        );
        assert_eq!(
            refresh_cookie_header("", 0),
            "__Host-refresh=; HttpOnly; SameSite=Strict; Secure; Path=/; Max-Age=0"
        );
    }

    #[test]
    fn the_refresh_cookie_is_found_among_others_and_empty_counts_as_none() {
        let r = request("POST", &[("cookie", "a=1; __Host-refresh=tok.en.x; b=2")]);
        assert_eq!(refresh_cookie(&r).as_deref(), Some("tok.en.x"));
        assert_eq!(refresh_cookie(&request("POST", &[("cookie", "__Host-refresh=")])), None);
        assert_eq!(refresh_cookie(&request("POST", &[("cookie", "refresh=x")])), None);
        assert_eq!(refresh_cookie(&request("POST", &[])), None);
    }

    #[test]
    fn cookie_mode_and_preflights_need_an_allowed_origin() {
        let allowed = vec!["https://app.example".to_string()];
        let cookie = |origin: &str| request("POST", &[("x-token-transport", "cookie"), ("origin", origin)]);
        assert!(Edge::of(&cookie("https://app.example"), &allowed).refusal().is_none());
        assert!(Edge::of(&cookie("https://evil.example"), &allowed).refusal().is_some());
        assert!(Edge::of(&request("POST", &[("x-token-transport", "Cookie")]), &allowed)
            .refusal()
            .is_some());
        // Body mode is not affected by the origin.
        assert!(
            Edge::of(&request("POST", &[("origin", "https://evil.example")]), &allowed)
                .refusal()
                .is_none()
        );
        let preflight = request(
            "OPTIONS",
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "POST"),
            ],
        );
        assert_eq!(
            Edge::of(&preflight, &allowed).refusal(),
            Some(ApiError::ForbiddenOrigin)
        );
    }
}
