//! The HTTP edge: what every endpoint does the same way with a request and a response.

use lambda_http::http::{header, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Bodies above this are refused with 413 before parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Refuses any method but `expected` with 405 and an `Allow` header.
pub fn require_method(request: &Request, expected: Method, allow: &'static str) -> Result<(), ApiError> {
    if request.method() == expected {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed { allow })
    }
}

fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// True when the request has no body (or only whitespace): a browser's body-less POST.
pub fn has_no_body(request: &Request) -> bool {
    body_bytes(request).iter().all(u8::is_ascii_whitespace)
}

fn is_json_content_type(request: &Request) -> bool {
    let Some(value) = request.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else { return false };
    let media_type = value.split(';').next().unwrap_or("").trim();
    media_type.eq_ignore_ascii_case("application/json")
}

/// The JSON object of a POST body, after the contract's checks in the contract's order:
/// 413 over 16 KiB, 415 if not `application/json`, 400 if empty, not JSON or not an object.
pub fn json_object(request: &Request) -> Result<Map<String, Value>, ApiError> {
    let bytes = body_bytes(request);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    if !is_json_content_type(request) {
        return Err(ApiError::UnsupportedMediaType);
    }
    parse_object(bytes)
}

/// Pure part of [`json_object`], also fuzzed and unit tested on its own.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::validation("body", "must be a JSON object"));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::validation("body", "must be a JSON object")),
        Err(_) => Err(ApiError::MalformedJson),
    }
}

/// Reads the string fields of a request object, collecting every problem so the
/// client gets them all at once. Unknown fields are refused, as docs/contract.md says.
pub struct Fields {
    object: Map<String, Value>,
    errors: std::collections::BTreeMap<String, String>,
}

impl Fields {
    /// `allowed` is the complete list of fields this endpoint accepts.
    pub fn new(object: Map<String, Value>, allowed: &[&str]) -> Self {
        let mut errors = std::collections::BTreeMap::new();
        for key in object.keys() {
            if !allowed.contains(&key.as_str()) {
                errors.insert(truncate_for_echo(key), "unknown field".to_string());
            }
        }
        Fields { object, errors }
    }

    /// A required string field; records an error and returns "" when absent or not a string.
    pub fn string(&mut self, name: &str) -> String {
        match self.object.remove(name) {
            Some(Value::String(s)) => s,
            Some(_) => {
                self.errors.insert(name.into(), "must be a string".into());
                String::new()
            }
            None => {
                self.errors.insert(name.into(), "is required".into());
                String::new()
            }
        }
    }

    pub fn reject(&mut self, name: &str, message: &str) {
        self.errors.entry(name.into()).or_insert_with(|| message.into());
    }

    pub fn has_error(&self, name: &str) -> bool {
        self.errors.contains_key(name)
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// A client's unknown field name is echoed back, but bounded.
fn truncate_for_echo(key: &str) -> String {
    key.chars().take(64).collect()
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(request: &Request) -> Result<&str, ApiError> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::InvalidToken)?;
    parse_bearer(value).ok_or(ApiError::InvalidToken)
}

/// The token of an `Authorization` value `Bearer <token>` (scheme in any case), the
/// one parser of it (the authorizer reads the same value from its identity source).
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

pub use crate::client::ClientInfo;

/// Longest user agent read (a session keeps only the device label made from it).
const MAX_USER_AGENT_CHARS: usize = 256;

impl ClientInfo {
    /// The caller as API Gateway saw it.
    pub fn of(request: &Request) -> Self {
        let (mut ip, mut context_user_agent) = (None, None);
        if let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() {
            ip = context.http.source_ip.clone();
            context_user_agent = context.http.user_agent.clone();
        }
        // API Gateway copies the header into the context; local emulators may not.
        let user_agent = header_str(request, header::USER_AGENT.as_str())
            .or(context_user_agent)
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_USER_AGENT_CHARS)
            .collect();
        ClientInfo {
            ip: ip.unwrap_or_else(|| "unknown".into()),
            user_agent,
        }
    }
}

fn header_str(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn base_response(status: StatusCode) -> lambda_http::http::response::Builder {
    Response::builder()
        .status(status)
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
}

/// A JSON response; token responses and errors are never cacheable.
pub fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    json_response_with_cache(status, body, "no-store")
}

/// A JSON response with an explicit `Cache-Control` (public documents such as the JWKS).
pub fn json_response_with_cache(status: StatusCode, body: &Value, cache_control: &str) -> Response<Body> {
    let mut response = base_response(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body.to_string()))
        .expect("static headers are valid");
    if let Ok(value) = cache_control.parse() {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

pub fn no_content() -> Response<Body> {
    base_response(StatusCode::NO_CONTENT)
        .body(Body::Empty)
        .expect("static headers are valid")
}

/// The one place an [`ApiError`] becomes a response.
pub fn error_response(error: &ApiError) -> Response<Body> {
    let mut response = json_response(error.status(), &error.body());
    for (name, value) in error.headers() {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_object_refuses_what_is_not_a_json_object() {
        assert_eq!(parse_object(b"{").unwrap_err(), ApiError::MalformedJson);
        assert!(matches!(parse_object(b"  ").unwrap_err(), ApiError::Validation(_)));
        assert!(matches!(parse_object(b"[1]").unwrap_err(), ApiError::Validation(_)));
        assert!(parse_object(br#"{"a":1}"#).is_ok());
    }

    #[test]
    fn fields_reports_missing_wrong_type_and_unknown_together() {
        let object = parse_object(br#"{"email": 3, "extra": true}"#).unwrap();
        let mut fields = Fields::new(object, &["email", "password"]);
        fields.string("email");
        fields.string("password");
        let ApiError::Validation(errors) = fields.finish().unwrap_err() else {
            panic!()
        };
        assert_eq!(errors["email"], "must be a string");
        assert_eq!(errors["password"], "is required");
        assert_eq!(errors["extra"], "unknown field");
    }
}
