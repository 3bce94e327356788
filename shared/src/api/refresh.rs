//! `POST /tokens`: rotate a refresh token into a new pair.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

use crate::context::SessionContext;
use crate::error::ApiError;
use crate::http::{require_method, ClientInfo};
use crate::time::now_millis;
use crate::whitelist::Rotation;

pub async fn handle(context: &SessionContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    let token = super::refresh_token_field(&request)?;
    let now_ms = now_millis();
    let claims = context.tokens.verify_refresh_token(&token, now_ms / 1000)?;
    let client = ClientInfo::of(&request);
    let (grant, identity) = match context
        .whitelist
        .rotate(&claims, context.tokens.refresh_kid(), &client, now_ms)
        .await?
    {
        Rotation::Rotated { grant, identity } => (grant, identity),
        Rotation::Grace { grant, identity } => {
            tracing::info!(user_id = %claims.sub, session_id = %claims.sid, "refresh within the grace window");
            (grant, identity)
        }
    };
    super::issue(context, StatusCode::OK, &grant, &identity, now_ms)
}
