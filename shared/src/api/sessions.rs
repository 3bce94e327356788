//! `GET /sessions`: the caller's live sessions, their own marked `current`.
//! `userAgent` is the label of the device that opened the session ("Chrome 131,
//! macOS", `device.rs`), not the raw header: the whitelist keeps 2 bytes of it
//! (issue 19); `ipAddress` is the address that used the session last.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::context::SessionContext;
use crate::error::ApiError;
use crate::http::{json_response, no_content, require_method};
use crate::time::{now_millis, rfc3339_millis};

/// `GET /sessions` and `DELETE /sessions/{id}`.
pub async fn handle(context: &SessionContext, request: Request) -> Result<Response<Body>, ApiError> {
    let path = request.uri().path();
    if path.trim_end_matches('/').ends_with("/sessions") {
        list(context, request).await
    } else {
        let id = path.rsplit('/').next().unwrap_or_default().to_string();
        end(context, request, &id).await
    }
}

/// Ends one of the caller's sessions (any of them, the current one included); 404
/// for an id the user does not have, whoever else has it.
async fn end(context: &SessionContext, request: Request, id: &str) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::DELETE, "DELETE")?;
    let now_ms = now_millis();
    let claims = super::authenticate(context, &request, now_ms).await?;
    if crate::whitelist::id_bytes(id).is_none() || !context.whitelist.end_session(&claims.sub, id, now_ms).await? {
        return Err(ApiError::NotFound);
    }
    tracing::info!(user_id = %claims.sub, session_id = id, "session ended by its owner");
    Ok(no_content())
}

async fn list(context: &SessionContext, request: Request) -> Result<Response<Body>, ApiError> {
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
                "userAgent": s.device,
                "ipAddress": s.ip,
                "current": s.session_id == claims.sid,
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({ "sessions": sessions })))
}
