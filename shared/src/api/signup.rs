//! `POST /signup`: create a user and open their first session.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};

use crate::context::AccountContext;
use crate::email::{Email, Password};
use crate::error::ApiError;
use crate::http::{json_object, require_method, ClientInfo};
use crate::time::now_millis;
use crate::tokens::Identity;
use crate::users::NewUser;
use crate::whitelist::Opener;

/// A sign-up whose reply was lost (a 503 after DynamoDB had written the user) is
/// recognised this long after the account was created, by its password.
const RETRY_WINDOW_MS: u64 = 15 * 60 * 1000;

pub async fn handle(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    let (email, password) = super::parse_credentials(json_object(&request)?)?;
    let client = ClientInfo::of(&request);
    let sessions = &context.sessions;
    context
        .signup_limiter
        .attempt(sessions.whitelist.redis(), &client.ip)
        .await?;

    let password_hash = super::while_ready_to_sign(&context.sessions, crate::password::hash(&password)).await?;
    let user_id = uuid::Uuid::new_v4().to_string();
    let now_ms = now_millis();

    // The session is opened first and the user written second: if Redis is down
    // nothing is written and a retry succeeds; if DynamoDB refuses (409, 503) the
    // session of a user that does not exist is removed again. No outcome leaves a
    // half-registered account that could only ever answer 409.
    let identity = Identity {
        email: email.as_str().to_owned(),
        email_verified: false,
        signed_in_with_otp: false,
    };
    // A new user id: nothing of it can have changed before now.
    let opener = Opener {
        user_id: &user_id,
        identity: &identity,
        proof_read_ms: now_ms,
    };
    let grant = sessions
        .whitelist
        .open_session(&opener, &client, sessions.tokens.refresh_kid(), now_ms)
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
        if let Err(cleanup) = sessions
            .whitelist
            .end_session(&user_id, &grant.session_id, now_ms)
            .await
        {
            // Harmless: nobody holds its token and it expires on its own.
            tracing::warn!(
                user_id,
                cause = cleanup.cause(),
                "could not remove the session of a failed sign-up"
            );
        }
        if error == ApiError::EmailTaken {
            return retried_signup(context, &email, &password, &client).await;
        }
        return Err(error);
    }
    tracing::info!(user_id, session_id = %grant.session_id, "user signed up");
    // The account exists whatever the mail does: a failed one is logged, and the
    // user asks for another (`POST /email/verify/resend`).
    #[cfg(feature = "mail")]
    if let Err(error) = super::email::send_verification(context, &client, &user_id, email.as_str()).await {
        tracing::warn!(user_id, cause = error.cause(), "could not send the verification code");
    }
    super::issue(sessions, StatusCode::CREATED, &grant, &identity, now_ms)
}

/// The email is taken. If by an account created moments ago with this very password,
/// this is the retry of a sign-up whose reply was lost: it gets its 201 and a
/// session, as the first reply would have. Checking the password is a guess at it,
/// so it counts like a sign-in attempt; every other case is 409.
async fn retried_signup(
    context: &AccountContext,
    email: &Email,
    password: &Password,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    let sessions = &context.sessions;
    let now_ms = now_millis();
    let Some(user) = context.users.find_by_email(email).await? else {
        return Err(ApiError::EmailTaken);
    };
    // Never a way around a second factor or an operator's block.
    if user.disabled || user.mfa_enabled || now_ms.saturating_sub(user.created_ms) > RETRY_WINDOW_MS {
        return Err(ApiError::EmailTaken);
    }
    let redis = sessions.whitelist.redis();
    context
        .signin_limiter
        .attempt(redis, email.as_str(), &client.ip)
        .await?;
    if !crate::password::verify(password, Some(user.password_hash.clone())).await? {
        return Err(ApiError::EmailTaken);
    }
    let grant = sessions
        .whitelist
        .open_session(
            &Opener {
                user_id: &user.id,
                identity: &user.identity(),
                proof_read_ms: now_ms,
            },
            client,
            sessions.tokens.refresh_kid(),
            now_ms,
        )
        .await?;
    tracing::info!(user_id = %user.id, session_id = %grant.session_id, "retried sign-up answered with a session");
    super::issue(sessions, StatusCode::CREATED, &grant, &user.identity(), now_ms)
}
