//! The one error type of the service and its mapping to HTTP, in one place.
//!
//! Every error body has the contract's shape:
//! `{"error": {"type": "<kebab-case kind>", "message": "<human text>", "fields"?: {...}}}`.
//! Messages are fixed strings: a store's raw error or a secret never reaches a client.
//! A 503 or 500 carries its cause (what failed, in words that hold no token, password
//! or secret), and `runtime::respond` logs it once, with the request id.

use std::collections::BTreeMap;
use std::time::Duration;

use lambda_http::http::StatusCode;
use serde_json::{json, Value};

/// What went wrong, as the client is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The body is not valid JSON.
    MalformedJson,
    /// The JSON is well formed but fields are missing, unknown or invalid.
    Validation(BTreeMap<String, String>),
    /// Unknown email or wrong password (one message for both).
    InvalidCredentials,
    /// Any invalid, expired, revoked or reused token, or a missing one.
    InvalidToken,
    /// The route exists but not with this method.
    MethodNotAllowed {
        allow: &'static str,
    },
    EmailTaken,
    /// A preflight, or a request that relies on the refresh cookie, from an origin not in
    /// `ALLOWED_ORIGINS` (or without `X-Token-Transport: cookie`): a possible CSRF.
    ForbiddenOrigin,
    /// A one-time code that is wrong, used, expired or burned (or an unknown email).
    InvalidCode,
    /// A second-factor code (TOTP or recovery code) that is wrong or already used.
    InvalidMfaCode,
    /// MFA is already on: enrolling again needs disabling first.
    MfaAlreadyEnabled,
    /// Nothing of the caller's by that id (e.g. a session id the user does not have).
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// Too many sign-in attempts; retry after this long.
    RateLimited {
        retry_after: Duration,
    },
    /// Redis or DynamoDB unreachable or timing out; the cause is for the log only.
    Unavailable(String),
    /// A bug; the cause is for the log only.
    Internal(String),
}

/// Seconds a client should wait before retrying after a 503.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

impl ApiError {
    pub fn validation(field: &str, message: &str) -> Self {
        let mut fields = BTreeMap::new();
        fields.insert(field.to_string(), message.to_string());
        ApiError::Validation(fields)
    }

    /// A dependency is down or slow: 503, with what failed for the log.
    pub fn unavailable(cause: impl Into<String>) -> Self {
        ApiError::Unavailable(cause.into())
    }

    /// A bug: 500, with what failed for the log.
    pub fn internal(cause: impl Into<String>) -> Self {
        ApiError::Internal(cause.into())
    }

    /// What the log says about an error the client sees only as 503 or 500.
    pub fn cause(&self) -> Option<&str> {
        match self {
            ApiError::Unavailable(cause) | ApiError::Internal(cause) => Some(cause),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson | ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidCredentials | ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::EmailTaken => StatusCode::CONFLICT,
            ApiError::ForbiddenOrigin => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::InvalidCode => StatusCode::BAD_REQUEST,
            ApiError::InvalidMfaCode => StatusCode::UNAUTHORIZED,
            ApiError::MfaAlreadyEnabled => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::MalformedJson => "malformed-json",
            ApiError::Validation(_) => "validation-failed",
            ApiError::InvalidCredentials => "invalid-credentials",
            ApiError::InvalidToken => "invalid-token",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::EmailTaken => "email-taken",
            ApiError::ForbiddenOrigin => "forbidden-origin",
            ApiError::NotFound => "not-found",
            ApiError::InvalidCode => "invalid-code",
            ApiError::InvalidMfaCode => "invalid-mfa-code",
            ApiError::MfaAlreadyEnabled => "mfa-already-enabled",
            ApiError::PayloadTooLarge => "payload-too-large",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::RateLimited { .. } => "too-many-requests",
            ApiError::Unavailable(_) => "service-unavailable",
            ApiError::Internal(_) => "internal-error",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            ApiError::MalformedJson => "The request body is not valid JSON.",
            ApiError::Validation(_) => "Some fields are missing or invalid.",
            ApiError::InvalidCredentials => "The email or password is incorrect.",
            ApiError::InvalidToken => "The token is invalid, expired or revoked.",
            ApiError::MethodNotAllowed { .. } => "This method is not allowed on this route.",
            ApiError::EmailTaken => "This email is already registered.",
            ApiError::ForbiddenOrigin => {
                "This origin is not allowed, or the request relies on the refresh cookie without X-Token-Transport: cookie."
            }
            ApiError::NotFound => "There is nothing with this id.",
            ApiError::InvalidCode => "The code is wrong, used or expired. Ask for a new one.",
            ApiError::InvalidMfaCode => "The authentication code is wrong or was already used.",
            ApiError::MfaAlreadyEnabled => "Two-factor sign-in is already on. Disable it first to enroll again.",
            ApiError::PayloadTooLarge => "The request body is larger than 16 KiB.",
            ApiError::UnsupportedMediaType => "The request body must be JSON (Content-Type: application/json).",
            ApiError::RateLimited { .. } => "Too many attempts. Retry later.",
            ApiError::Unavailable(_) => "The service is temporarily unavailable. Retry later.",
            ApiError::Internal(_) => "An internal error occurred.",
        }
    }

    /// Extra headers the status calls for (`Allow`, `Retry-After`).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            ApiError::MethodNotAllowed { allow } => vec![("allow", allow.to_string())],
            ApiError::RateLimited { retry_after } => {
                // Rounded up: a client that waits exactly this long is let in.
                let secs = (retry_after.as_millis() as u64).div_ceil(1000).max(1);
                vec![("retry-after", secs.to_string())]
            }
            ApiError::Unavailable(_) => vec![("retry-after", UNAVAILABLE_RETRY_AFTER_SECS.to_string())],
            _ => vec![],
        }
    }

    pub fn body(&self) -> Value {
        let mut error = json!({ "type": self.kind(), "message": self.message() });
        if let ApiError::Validation(fields) = self {
            error["fields"] = json!(fields);
        }
        json!({ "error": error })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for ApiError {}
