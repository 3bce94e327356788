//! `POST /signin`: prove the password, open a session.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

use crate::context::AccountContext;
use crate::error::ApiError;
use crate::http::{json_object, require_method, ClientInfo};
use crate::metrics::{self, Metric};
use crate::time::now_millis;

pub async fn handle(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    let (email, password) = super::parse_credentials(json_object(&request)?)?;
    let client = ClientInfo::of(&request);
    let sessions = &context.sessions;
    let redis = sessions.whitelist.redis();

    context
        .signin_limiter
        .attempt(redis, email.as_str(), &client.ip)
        .await
        .inspect_err(|error| {
            if matches!(error, ApiError::RateLimited { .. }) {
                metrics::count(Metric::SignIn("rate-limited"));
            }
        })?;
    let user = context.users.find_by_email(&email).await?;
    // Unknown emails verify a dummy hash: same cost, same answer as a wrong password.
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    // A disabled user gets the same answer as a wrong password: it reveals nothing.
    let user = match (crate::password::verify(&password, stored_hash).await?, user) {
        (true, Some(user)) if !user.disabled => user,
        _ => {
            metrics::count(Metric::SignIn("failure"));
            tracing::info!(security_event = "signin_failed", ip = %client.ip, "sign-in refused");
            return Err(ApiError::InvalidCredentials);
        }
    };

    let now_ms = now_millis();
    let identity = user.identity();
    let (grant, cleared) = tokio::join!(
        sessions
            .whitelist
            .open_session(&user.id, &identity, &client, sessions.tokens.refresh_kid(), now_ms),
        context.signin_limiter.succeeded(redis, email.as_str(), &client.ip),
    );
    let grant = grant?;
    if let Err(error) = cleared {
        tracing::warn!(user_id = %user.id, cause = error.cause(), "could not clear the sign-in attempt counter");
    }
    metrics::count(Metric::SignIn("success"));
    tracing::info!(user_id = %user.id, session_id = %grant.session_id, "user signed in");
    super::issue(sessions, StatusCode::OK, &grant, &identity, now_ms)
}
