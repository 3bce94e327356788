//! `POST /signup`: create a user and open their first session.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

use crate::context::AccountContext;
use crate::email::parse_credentials;
use crate::error::ApiError;
use crate::http::{json_object, require_method, ClientInfo};
use crate::time::now_millis;
use crate::users::NewUser;

pub async fn handle(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    let (email, password) = parse_credentials(json_object(&request)?)?;
    let client = ClientInfo::of(&request);
    let sessions = &context.sessions;

    let password_hash = crate::password::hash(&password).await?;
    let user_id = uuid::Uuid::new_v4().to_string();
    let now_ms = now_millis();

    // The session is opened first and the user written second: if Redis is down
    // nothing is written and a retry succeeds; if DynamoDB refuses (409, 503) the
    // session of a user that does not exist is removed again. No outcome leaves a
    // half-registered account that could only ever answer 409.
    let grant = sessions
        .whitelist
        .open_session(&user_id, email.as_str(), &client, sessions.tokens.refresh_kid(), now_ms)
        .await?;
    let created = context
        .users
        .create(NewUser {
            id: &user_id,
            email: &email,
            password_hash: &password_hash,
            created_ms: now_ms,
        })
        .await;
    if let Err(error) = created {
        if sessions
            .whitelist
            .close_session(&user_id, &grant.session_id, now_ms)
            .await
            .is_err()
        {
            // Harmless: nobody holds its token and it expires on its own.
            tracing::warn!(user_id, "could not remove the session of a failed sign-up");
        }
        return Err(error);
    }
    tracing::info!(user_id, session_id = %grant.session_id, "user signed up");
    super::issue(sessions, StatusCode::CREATED, &grant, email.as_str(), now_ms)
}
