//! `POST /signin`: prove the password, open a session; with MFA on, the password
//! buys only an mfaToken, and `POST /signin/mfa` with a code opens the session.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::context::AccountContext;
use crate::error::ApiError;
use crate::http::{json_object, json_response, require_method, ClientInfo, Fields};
use crate::metrics::{self, Metric};
use crate::time::now_millis;
use crate::tokens::Identity;
use crate::users::StoredUser;
use crate::whitelist::Opener;

pub async fn handle(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    if request.uri().path().trim_end_matches('/').ends_with("/signin/mfa") {
        return second_factor(context, request).await;
    }
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
    // What the password is checked against is read now: a change after this point
    // wins over this sign-in (see `Opener`).
    let proof_read_ms = now_millis();
    let user = context.users.find_by_email(&email).await?;
    // Unknown emails verify a dummy hash: same cost, same answer as a wrong password.
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    // A disabled user gets the same answer as a wrong password: it reveals nothing.
    let verified =
        super::while_ready_to_sign(&context.sessions, crate::password::verify(&password, stored_hash)).await?;
    let user = match (verified, user) {
        (true, Some(user)) if !user.disabled => user,
        _ => {
            metrics::count(Metric::SignIn("failure"));
            tracing::info!(security_event = "signin_failed", ip = %client.ip, "sign-in refused");
            return Err(ApiError::InvalidCredentials);
        }
    };

    if user.mfa_enabled {
        // No session yet: the password alone buys a 5-minute token for the second step.
        let token = context.mfa.issue_token(redis, &user.id).await?;
        tracing::info!(user_id = %user.id, "password proven; second factor required");
        return Ok(json_response(
            StatusCode::OK,
            &json!({ "mfaRequired": true, "mfaToken": token }),
        ));
    }
    open_session(context, &user, &client, false, proof_read_ms).await
}

/// `POST /signin/mfa` `{"mfaToken", "code"}`: a TOTP code or a recovery code. A
/// wrong code counts against the token (burned at the fifth) and against the sign-in
/// limits like a wrong password.
async fn second_factor(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    let mut fields = Fields::new(json_object(&request)?, &["mfaToken", "code"]);
    let (token, code) = (fields.string("mfaToken"), fields.string("code"));
    fields.finish()?;
    let client = ClientInfo::of(&request);
    let redis = context.sessions.whitelist.redis();

    let user_id = context.mfa.token_user(redis, &token).await?;
    let proof_read_ms = now_millis();
    let user = context
        .users
        .find_by_id(&user_id)
        .await?
        .filter(|user| user.mfa_enabled && !user.disabled)
        .ok_or(ApiError::InvalidToken)?;
    context.signin_limiter.attempt(redis, &user.email, &client.ip).await?;
    if !super::mfa::second_factor_holds(context, &user, &code, true).await? {
        context.mfa.token_failed(redis, &token).await?;
        metrics::count(Metric::SignIn("failure"));
        tracing::info!(security_event = "mfa_failed", user_id = %user.id, ip = %client.ip, "second factor refused");
        return Err(ApiError::InvalidMfaCode);
    }
    if !context.mfa.burn_token(redis, &token).await? {
        return Err(ApiError::InvalidToken);
    }
    open_session(context, &user, &client, true, proof_read_ms).await
}

/// Opens the session of a user who proved who they are, and answers with its tokens.
async fn open_session(
    context: &AccountContext,
    user: &StoredUser,
    client: &ClientInfo,
    with_otp: bool,
    proof_read_ms: u64,
) -> Result<Response<Body>, ApiError> {
    let sessions = &context.sessions;
    let now_ms = now_millis();
    let identity = Identity {
        signed_in_with_otp: with_otp,
        ..user.identity()
    };
    let opener = Opener {
        user_id: &user.id,
        identity: &identity,
        proof_read_ms,
    };
    let (grant, cleared) = tokio::join!(
        sessions
            .whitelist
            .open_session(&opener, client, sessions.tokens.refresh_kid(), now_ms),
        context
            .signin_limiter
            .succeeded(sessions.whitelist.redis(), &user.email, &client.ip),
    );
    let grant = grant?;
    if let Err(error) = cleared {
        tracing::warn!(user_id = %user.id, cause = error.cause(), "could not clear the sign-in attempt counter");
    }
    metrics::count(Metric::SignIn("success"));
    tracing::info!(user_id = %user.id, session_id = %grant.session_id, "user signed in");
    super::issue(sessions, StatusCode::OK, &grant, &identity, now_ms)
}
