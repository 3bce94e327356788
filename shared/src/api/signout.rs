//! `POST /signout`: end the session of a refresh token.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use crate::context::SessionContext;
use crate::error::ApiError;
use crate::http::require_method;
use crate::time::now_millis;

pub async fn handle(context: &SessionContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    let token = super::refresh_token_field(&request)?;
    let now_ms = now_millis();
    let claims = context.tokens.verify_refresh_token(&token, now_ms / 1000)?;
    if !context.whitelist.sign_out(&claims, now_ms).await? {
        return Err(ApiError::InvalidToken);
    }
    tracing::info!(user_id = %claims.sub, session_id = %claims.sid, "user signed out");
    Ok(super::session_ended())
}
