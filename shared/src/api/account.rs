//! `POST /password/change` and `DELETE /account`: the owner of a live session proves
//! the password again. A wrong password is a guess at it, counted like a sign-in.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use crate::context::AccountContext;
use crate::email::Password;
use crate::error::ApiError;
use crate::http::{json_object, no_content, require_method, ClientInfo, Fields};
use crate::time::now_millis;

pub async fn handle(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    if request.uri().path().ends_with("/password/change") {
        change_password(context, request).await
    } else {
        delete_account(context, request).await
    }
}

async fn change_password(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    let now_ms = now_millis();
    let claims = super::authenticate(&context.sessions, &request, now_ms).await?;
    let mut fields = Fields::new(json_object(&request)?, &["currentPassword", "newPassword"]);
    let current = Password::presented(fields.string("currentPassword"));
    let raw_new = fields.string("newPassword");
    let new = if fields.has_error("newPassword") {
        None
    } else {
        Password::parse(raw_new)
            .map_err(|m| fields.reject("newPassword", m))
            .ok()
    };
    if new.as_ref().is_some_and(|new| new.expose() == current.expose()) {
        fields.reject("newPassword", "must differ from the current password");
    }
    fields.finish()?;
    let new = new.ok_or_else(|| ApiError::internal("new password parsed without an error but without a value"))?;

    let client = ClientInfo::of(&request);
    let user = super::prove_password(context, &claims, &current, &client)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    let new_hash = crate::password::hash(&new).await?;
    // Both items change only if the hash read above is still current: of two
    // concurrent changes, the second is refused as a wrong current password.
    if !context.users.set_password_hash(&user, &new_hash).await? {
        return Err(ApiError::InvalidCredentials);
    }
    let ended = context
        .sessions
        .whitelist
        .revoke_others(&claims.sub, &claims.sid, now_millis())
        .await?;
    tracing::warn!(security_event = "password_changed", user_id = %claims.sub, other_sessions_ended = ended, "password changed");
    Ok(no_content())
}

/// Order: the other sessions end first (Redis), then the user goes (DynamoDB, one
/// transaction for both items), then the caller's own session. A failure at any
/// step is a 503 that leaves a retry possible with the same id token: until the
/// last step the caller's session is live, and once the user is gone a retry only
/// finishes ending the sessions. Nothing is ever half-deleted in DynamoDB.
async fn delete_account(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::DELETE, "DELETE")?;
    let now_ms = now_millis();
    let sessions = &context.sessions;
    let claims = super::authenticate(sessions, &request, now_ms).await?;
    let mut fields = Fields::new(json_object(&request)?, &["password"]);
    let password = Password::presented(fields.string("password"));
    fields.finish()?;

    let client = ClientInfo::of(&request);
    // On a retry the user is gone already, and the id token names the email.
    let mut email = claims.email.clone();
    if let Some(user) = super::prove_password(context, &claims, &password, &client).await? {
        sessions
            .whitelist
            .revoke_others(&claims.sub, &claims.sid, now_ms)
            .await?;
        context.users.delete(&user).await?;
        email = user.email;
    }
    // A pending code must not outlive the account (nor reach a new one of the same email).
    context
        .codes
        .forget_user(sessions.whitelist.redis(), &claims.sub, &email)
        .await?;
    sessions.whitelist.revoke_all(&claims.sub, now_millis()).await?;
    tracing::warn!(security_event = "account_deleted", user_id = %claims.sub, "account deleted");
    Ok(no_content())
}
