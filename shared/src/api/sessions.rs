//! `GET /sessions`: the caller's live sessions, their own marked `current`.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::context::SessionContext;
use crate::error::ApiError;
use crate::http::{json_response, require_method};
use crate::time::{now_millis, rfc3339_millis};

pub async fn handle(context: &SessionContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::GET, "GET")?;
    let now_ms = now_millis();
    let claims = super::authenticate(context, &request, now_ms).await?;
    let sessions = context.whitelist.list_sessions(&claims.sub, now_ms).await?;
    let sessions: Vec<_> = sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.session_id,
                "createdAt": rfc3339_millis(s.created_ms),
                "lastUsedAt": rfc3339_millis(s.last_used_ms),
                "userAgent": s.user_agent,
                "ipAddress": s.ip,
                "current": s.session_id == claims.sid,
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "sessions": sessions })))
}
