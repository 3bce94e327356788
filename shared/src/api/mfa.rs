//! `POST /mfa/totp/enroll`, `/mfa/totp/confirm` and `/mfa/totp/disable`: the owner of
//! a live session turns the second factor on and off (see `crate::mfa`). Turning it
//! on or off ends the user's other sessions.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::context::AccountContext;
use crate::email::Password;
use crate::error::ApiError;
use crate::http::{json_object, json_response, no_content, require_method, ClientInfo, Fields};
use crate::time::now_millis;
use crate::tokens::IdClaims;
use crate::users::StoredUser;

use super::{authenticate, prove_password};

pub async fn handle(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    let claims = authenticate(&context.sessions, &request, now_millis()).await?;
    let path = request.uri().path().trim_end_matches('/');
    if path.ends_with("/enroll") {
        enroll(context, &claims).await
    } else if path.ends_with("/confirm") {
        confirm(context, &request, &claims).await
    } else {
        disable(context, &request, &claims).await
    }
}

/// Whether `code` is a second factor of `user` right now: a TOTP code of a step
/// never used before, or (if `recovery_allowed`) an unused recovery code, which it
/// uses up. A wrong or replayed code is `false`.
pub(crate) async fn second_factor_holds(
    context: &AccountContext,
    user: &StoredUser,
    code: &str,
    recovery_allowed: bool,
) -> Result<bool, ApiError> {
    let state = context.users.mfa_state(&user.id).await?;
    let Some(sealed) = state.secret else { return Ok(false) };
    let secret = context.mfa.open(&sealed, &user.id)?;
    if let Some(step) = context.mfa.matching_step(&secret, code.trim(), now_millis() / 1000)? {
        return context.users.use_totp_step(&user.id, step).await;
    }
    if !recovery_allowed {
        return Ok(false);
    }
    let candidates = context.mfa.recovery_hashes_of(code);
    let Some(hash) = candidates.iter().find(|hash| state.recovery_hashes.contains(hash)) else {
        return Ok(false);
    };
    context.users.use_recovery_code(&user.id, hash).await
}

fn code_field(fields: &mut Fields) -> String {
    fields.string("code")
}

async fn current_user(context: &AccountContext, claims: &IdClaims) -> Result<StoredUser, ApiError> {
    context
        .users
        .find_by_id(&claims.sub)
        .await?
        .ok_or(ApiError::InvalidToken)
}

async fn enroll(context: &AccountContext, claims: &IdClaims) -> Result<Response<Body>, ApiError> {
    let user = current_user(context, claims).await?;
    if user.mfa_enabled {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let secret = crate::mfa::Mfa::new_secret()?;
    context
        .users
        .set_mfa_pending(&user, &context.mfa.seal(&secret, &user.id)?)
        .await?;
    let (secret, uri) = context.mfa.enrollment(&secret, &user.email)?;
    tracing::info!(user_id = %user.id, "mfa enrollment started");
    Ok(json_response(
        StatusCode::OK,
        &json!({ "secret": secret, "otpauthUri": uri }),
    ))
}

async fn confirm(context: &AccountContext, request: &Request, claims: &IdClaims) -> Result<Response<Body>, ApiError> {
    let mut fields = Fields::new(json_object(request)?, &["code"]);
    let code = code_field(&mut fields);
    fields.finish()?;
    let user = current_user(context, claims).await?;
    if user.mfa_enabled {
        return Err(ApiError::MfaAlreadyEnabled);
    }
    let Some(pending) = context.users.mfa_state(&user.id).await?.pending else {
        return Err(ApiError::validation(
            "code",
            "enroll first: there is nothing to confirm",
        ));
    };
    let secret = context.mfa.open(&pending, &user.id)?;
    let step = context
        .mfa
        .matching_step(&secret, code.trim(), now_millis() / 1000)?
        .ok_or(ApiError::InvalidMfaCode)?;
    let (codes, hashes) = context.mfa.recovery_codes()?;
    if !context.users.enable_mfa(&user, &pending, hashes, step).await? {
        // Another enrollment replaced this secret meanwhile.
        return Err(ApiError::InvalidMfaCode);
    }
    let ended = context
        .sessions
        .whitelist
        .revoke_others(&claims.sub, &claims.sid, now_millis())
        .await?;
    tracing::warn!(security_event = "mfa_enabled", user_id = %user.id, other_sessions_ended = ended, "mfa turned on");
    Ok(json_response(StatusCode::OK, &json!({ "recoveryCodes": codes })))
}

async fn disable(context: &AccountContext, request: &Request, claims: &IdClaims) -> Result<Response<Body>, ApiError> {
    let mut fields = Fields::new(json_object(request)?, &["password", "code"]);
    let password = Password::presented(fields.string("password"));
    let code = code_field(&mut fields);
    fields.finish()?;
    let user = prove_password(context, claims, &password, &ClientInfo::of(request))
        .await?
        .ok_or(ApiError::InvalidToken)?;
    // A recovery code will do: it is how a user who lost the authenticator gets out.
    if !user.mfa_enabled || !second_factor_holds(context, &user, &code, true).await? {
        return Err(ApiError::InvalidMfaCode);
    }
    context.users.disable_mfa(&user).await?;
    let ended = context
        .sessions
        .whitelist
        .revoke_others(&claims.sub, &claims.sid, now_millis())
        .await?;
    tracing::warn!(security_event = "mfa_disabled", user_id = %user.id, other_sessions_ended = ended, "mfa turned off");
    Ok(no_content())
}
