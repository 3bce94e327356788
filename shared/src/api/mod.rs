//! One handler per endpoint. Each parses at the edge, calls the domain and maps the
//! result; `functions/<name>/src/main.rs` only wires one of these to the runtime.

#[cfg(feature = "users")]
pub mod account;
#[cfg(feature = "users")]
pub mod admin;
pub mod authorizer;
pub mod jwks;
pub mod me;
pub mod refresh;
pub mod revoke_all;
pub mod sessions;
#[cfg(feature = "users")]
pub mod signin;
pub mod signout;
#[cfg(feature = "users")]
pub mod signup;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::context::SessionContext;
use crate::email::{Email, Password};
use crate::error::ApiError;
use crate::http::{bearer_token, json_object, json_response, Fields};
use crate::tokens::{IdClaims, RefreshGrant, TokenPair};

/// The claims of the request's bearer id token, only while its session is live: an
/// id token outlives a sign-out until its `exp`, but no endpoint of this service
/// honours it after (one HGET, as the authorizer does).
pub(crate) async fn authenticate(
    context: &SessionContext,
    request: &Request,
    now_ms: u64,
) -> Result<IdClaims, ApiError> {
    let claims = context.tokens.verify_id_token(bearer_token(request)?, now_ms / 1000)?;
    if context.whitelist.is_live(&claims.sub, &claims.sid, now_ms).await? {
        Ok(claims)
    } else {
        Err(ApiError::InvalidToken)
    }
}

/// The `refreshToken` of a `{"refreshToken": "..."}` body (refresh and sign-out).
pub(crate) fn refresh_token_field(request: &Request) -> Result<String, ApiError> {
    let mut fields = Fields::new(json_object(request)?, &["refreshToken"]);
    let token = fields.string("refreshToken");
    fields.finish()?;
    Ok(token)
}

/// Email and password of a sign-up or sign-in body, with every field problem reported.
pub fn parse_credentials(object: serde_json::Map<String, serde_json::Value>) -> Result<(Email, Password), ApiError> {
    let mut fields = Fields::new(object, &["email", "password"]);
    let raw_email = fields.string("email");
    let raw_password = fields.string("password");
    let email = if fields.has_error("email") {
        None
    } else {
        Email::parse(&raw_email).map_err(|m| fields.reject("email", m)).ok()
    };
    let password = if fields.has_error("password") {
        None
    } else {
        Password::parse(raw_password)
            .map_err(|m| fields.reject("password", m))
            .ok()
    };
    fields.finish()?;
    match (email, password) {
        (Some(email), Some(password)) => Ok((email, password)),
        _ => Err(ApiError::internal(
            "credentials parsed without an error but without a value",
        )),
    }
}

/// `{"tokens": {"idToken", "refreshToken"}}` with the given status.
pub(crate) fn tokens_response(status: StatusCode, pair: &TokenPair) -> Response<Body> {
    json_response(status, &json!({ "tokens": pair }))
}

/// Mints the pair of a grant and wraps it in the contract's response.
pub(crate) fn issue(
    context: &SessionContext,
    status: StatusCode,
    grant: &RefreshGrant,
    email: &str,
    now_ms: u64,
) -> Result<Response<Body>, ApiError> {
    let pair = context.tokens.pair(grant, email, now_ms / 1000)?;
    Ok(tokens_response(status, &pair))
}
