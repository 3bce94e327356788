//! One handler per endpoint. Each parses at the edge, calls the domain and maps the
//! result; `functions/<name>/src/main.rs` only wires one of these to the runtime.

#[cfg(feature = "users")]
pub mod account;
#[cfg(feature = "users")]
pub mod admin;
pub mod authorizer;
#[cfg(feature = "mail")]
pub mod email;
pub mod jwks;
pub mod me;
#[cfg(feature = "users")]
pub mod mfa;
#[cfg(feature = "mail")]
pub mod recovery;
pub mod refresh;
pub mod revoke_all;
pub mod sessions;
#[cfg(feature = "users")]
pub mod signin;
pub mod signout;
#[cfg(feature = "users")]
pub mod signup;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::browser::{self, RefreshDelivery, Transport};
use crate::context::SessionContext;
use crate::email::{Email, Password};
use crate::error::ApiError;
use crate::http::{bearer_token, has_no_body, json_object, json_response, no_content, Fields};
use crate::tokens::{IdClaims, Identity, RefreshGrant, TokenPair};

/// Runs `password_work` (an argon2id hash or verification: tens of milliseconds on
/// the blocking pool) while this thread imports the id-token signing key the first
/// time (about 0.3 ms: AWS-LC checks the key). Sign-in and sign-up import it here,
/// beside their first password, instead of at start-up, where it would lengthen every
/// cold start; refresh, whose requests hash nothing, imports it at start-up.
#[cfg(feature = "users")]
pub(crate) async fn while_ready_to_sign<T>(
    sessions: &SessionContext,
    password_work: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    // `join!` polls the password work first: it hands the hash to the blocking pool
    // and waits, and the import then runs beside it.
    let (outcome, ready) = tokio::join!(password_work, async { sessions.tokens.ready_to_sign() });
    ready.map_err(|e| ApiError::internal(format!("id-token signing key: {e}")))?;
    outcome
}

/// The claims of the request's bearer id token, only while its session is live: an
/// id token outlives a sign-out until its `exp`, but no endpoint of this service
/// honours it after (one HGET, as the authorizer does).
pub(crate) async fn authenticate(
    context: &SessionContext,
    request: &Request,
    now_ms: u64,
) -> Result<IdClaims, ApiError> {
    let claims = context.tokens.verify_id_token(bearer_token(request)?, now_ms / 1000)?;
    if context.whitelist.is_live(&claims.sub, &claims.sid, now_ms).await? {
        Ok(claims)
    } else {
        Err(ApiError::InvalidToken)
    }
}

/// The refresh token of `/tokens` and `/signout`: the body's `refreshToken`, or, when the
/// body has none (empty or `{}`), the `__Host-refresh` cookie. Only a cookie-mode request
/// (`X-Token-Transport: cookie`) may rely on the cookie: the edge has let it through only
/// from an allowed Origin (`browser::Edge::refusal`). A cookie on any other request was
/// attached by the browser, not asked for by the page: a possible CSRF, 403.
pub(crate) fn refresh_token_field(request: &Request) -> Result<String, ApiError> {
    let cookie_mode = Transport::of(request) == Transport::Cookie;
    let cookie = browser::refresh_cookie(request);
    let may_rely_on_cookie = cookie_mode || cookie.is_some();
    let from_cookie = move || match (cookie_mode, cookie) {
        (false, _) => Err(ApiError::ForbiddenOrigin),
        (true, Some(token)) => Ok(token),
        (true, None) => Err(ApiError::InvalidToken),
    };
    if may_rely_on_cookie && has_no_body(request) {
        return from_cookie();
    }
    let object = json_object(request)?;
    if may_rely_on_cookie && object.is_empty() {
        return from_cookie();
    }
    let mut fields = Fields::new(object, &["refreshToken"]);
    let token = fields.string("refreshToken");
    fields.finish()?;
    Ok(token)
}

/// Email and password of a sign-up or sign-in body, with every field problem reported.
pub fn parse_credentials(object: serde_json::Map<String, serde_json::Value>) -> Result<(Email, Password), ApiError> {
    let mut fields = Fields::new(object, &["email", "password"]);
    let raw_email = fields.string("email");
    let raw_password = fields.string("password");
    let email = if fields.has_error("email") {
        None
    } else {
        Email::parse(&raw_email).map_err(|m| fields.reject("email", m)).ok()
    };
    let password = if fields.has_error("password") {
        None
    } else {
        Password::parse(raw_password)
            .map_err(|m| fields.reject("password", m))
            .ok()
    };
    fields.finish()?;
    match (email, password) {
        (Some(email), Some(password)) => Ok((email, password)),
        _ => Err(ApiError::internal(
            "credentials parsed without an error but without a value",
        )),
    }
}

#[cfg(feature = "users")]
/// The user behind the id token, once `password` is proven to be theirs; `None`
/// when the user no longer exists (only their sessions can be left).
pub(crate) async fn prove_password(
    context: &crate::context::AccountContext,
    claims: &IdClaims,
    password: &Password,
    client: &crate::http::ClientInfo,
) -> Result<Option<crate::users::StoredUser>, ApiError> {
    let Some(user) = context.users.find_by_id(&claims.sub).await? else {
        return Ok(None);
    };
    let redis = context.sessions.whitelist.redis();
    context.signin_limiter.attempt(redis, &user.email, &client.ip).await?;
    if crate::password::verify(password, Some(user.password_hash.clone())).await? {
        Ok(Some(user))
    } else {
        tracing::info!(security_event = "password_check_failed", user_id = %user.id, ip = %client.ip, "wrong current password");
        Err(ApiError::InvalidCredentials)
    }
}

/// Emails a fresh one-time code (and any notices): counts the request against the
/// code limits first; if SES does not take every mail, the request is given back
/// (a user whose mail failed is not held to a cooldown) and the answer is 503.
#[cfg(feature = "mail")]
pub(crate) async fn send_code(
    context: &crate::context::AccountContext,
    client: &crate::http::ClientInfo,
    code: CodeRequest<'_>,
    mails: impl FnOnce(&str) -> Vec<(String, crate::mail::Mail)>,
) -> Result<(), ApiError> {
    let redis = context.sessions.whitelist.redis();
    context
        .code_limiter
        .attempt(redis, code.limited_email, &client.ip)
        .await?;
    let issued = context
        .codes
        .issue(redis, code.purpose, code.subject, code.extra)
        .await?;
    // Sent together: two mails (a code and a notice) take the time of one.
    let mails = mails(&issued);
    let sent = futures_util::future::join_all(mails.iter().map(|(to, mail)| context.mail.send(to, mail))).await;
    if let Some(Err(error)) = sent.into_iter().find(Result::is_err) {
        if let Err(refund) = context.code_limiter.refund(redis, code.limited_email, &client.ip).await {
            tracing::warn!(cause = refund.cause(), "could not give back a code request");
        }
        return Err(error);
    }
    Ok(())
}

/// What [`send_code`] issues: a code for `subject` (handed `extra` back when
/// redeemed), counted against `limited_email`'s code requests.
#[cfg(feature = "mail")]
pub(crate) struct CodeRequest<'a> {
    pub purpose: crate::codes::Purpose,
    pub subject: &'a str,
    pub extra: &'a str,
    pub limited_email: &'a str,
}

/// `202 {}`: accepted, whatever happens next (and nothing told about who exists).
#[cfg(feature = "mail")]
pub(crate) fn accepted() -> Response<Body> {
    json_response(StatusCode::ACCEPTED, &json!({}))
}

/// `{"tokens": {"idToken", "refreshToken"}}` with the given status. For a cookie-mode
/// request the edge moves the refresh token, valid `max_age_secs` more, into the cookie.
pub(crate) fn tokens_response(status: StatusCode, pair: &TokenPair, max_age_secs: u64) -> Response<Body> {
    let mut response = json_response(status, &json!({ "tokens": pair }));
    response.extensions_mut().insert(RefreshDelivery::Issued {
        id_token: pair.id_token.clone(),
        refresh_token: pair.refresh_token.clone(),
        max_age_secs,
    });
    response
}

/// 204 for a request that ended the caller's session (sign-out, revoke-all); in cookie
/// mode the edge clears the cookie.
pub(crate) fn session_ended() -> Response<Body> {
    let mut response = no_content();
    response.extensions_mut().insert(RefreshDelivery::Ended);
    response
}

/// Mints the pair of a grant and wraps it in the contract's response.
pub(crate) fn issue(
    context: &SessionContext,
    status: StatusCode,
    grant: &RefreshGrant,
    identity: &Identity,
    now_ms: u64,
) -> Result<Response<Body>, ApiError> {
    let pair = context.tokens.pair(grant, identity, now_ms / 1000)?;
    let max_age_secs = grant.expires_at.saturating_sub(now_ms / 1000);
    Ok(tokens_response(status, &pair, max_age_secs))
}
