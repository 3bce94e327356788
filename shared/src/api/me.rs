//! `GET /me`: a sample protected route that returns the caller's id-token claims.
//!
//! In AWS it sits behind API Gateway's JWT authorizer (`/me`) or this project's
//! Lambda authorizer (`/me/strict`); it verifies the token itself as well, so that it
//! behaves the same under `make dev`, where no authorizer runs.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::context::KeyContext;
use crate::error::ApiError;
use crate::http::{bearer_token, json_response, require_method};
use crate::time::now_millis;

pub async fn handle(context: &KeyContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::GET, "GET")?;
    let claims = context
        .tokens
        .verify_id_token(bearer_token(&request)?, now_millis() / 1000)?;
    Ok(json_response(StatusCode::OK, &json!({ "claims": claims })))
}
