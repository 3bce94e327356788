//! `POST /revoke-all`: end every session of the id token's user.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use crate::context::SessionContext;
use crate::error::ApiError;
use crate::http::{bearer_token, require_method};
use crate::time::now_millis;

pub async fn handle(context: &SessionContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    let now_ms = now_millis();
    // The id token is checked here; that its session is still live (what
    // `super::authenticate` checks for every other bearer endpoint) is checked by the
    // revoking script itself: one round trip instead of two.
    let claims = context.tokens.verify_id_token(bearer_token(&request)?, now_ms / 1000)?;
    context
        .whitelist
        .revoke_all_from(&claims.sub, &claims.sid, now_ms)
        .await?;
    Ok(super::session_ended())
}
