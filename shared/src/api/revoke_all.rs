//! `POST /revoke-all`: end every session of the id token's user.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use crate::context::SessionContext;
use crate::error::ApiError;
use crate::http::require_method;
use crate::time::now_millis;

pub async fn handle(context: &SessionContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    let now_ms = now_millis();
    let claims = super::authenticate(context, &request, now_ms).await?;
    context.whitelist.revoke_all(&claims.sub, now_ms).await?;
    Ok(super::session_ended())
}
