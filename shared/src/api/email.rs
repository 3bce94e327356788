//! `POST /email/verify`, `/email/verify/resend`, `/email/change` and
//! `/email/change/confirm`: proving an address is the user's, and moving the account
//! to a new one. Every route takes the bearer id token of a live session.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use crate::codes::Purpose;
use crate::context::AccountContext;
use crate::email::{Email, Password};
use crate::error::ApiError;
use crate::http::{has_no_body, json_object, no_content, require_method, ClientInfo, Fields};
use crate::mail::Mail;
use crate::time::now_millis;
use crate::tokens::IdClaims;

use super::{accepted, authenticate, prove_password, send_code, CodeRequest};

pub async fn handle(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    let claims = authenticate(&context.sessions, &request, now_millis()).await?;
    let path = request.uri().path().trim_end_matches('/');
    if path.ends_with("/email/verify/resend") {
        resend(context, &request, &claims).await
    } else if path.ends_with("/email/verify") {
        verify(context, &request, &claims).await
    } else if path.ends_with("/email/change/confirm") {
        confirm_change(context, &request, &claims).await
    } else {
        change(context, &request, &claims).await
    }
}

/// The `code` of a `{"code"}` body.
fn code_field(request: &Request) -> Result<String, ApiError> {
    let mut fields = Fields::new(json_object(request)?, &["code"]);
    let code = fields.string("code");
    fields.finish()?;
    Ok(code)
}

/// Emails a verification code to the user's current address (sign-up and resend).
pub(crate) async fn send_verification(
    context: &AccountContext,
    client: &ClientInfo,
    user_id: &str,
    email: &str,
) -> Result<(), ApiError> {
    let code = CodeRequest {
        purpose: Purpose::VerifyEmail,
        subject: user_id,
        // The address it was sent to: a code for an address the user left is void.
        extra: email,
        limited_email: email,
    };
    send_code(context, client, code, |code| {
        vec![(email.to_owned(), Mail::verify_email(code))]
    })
    .await
}

async fn resend(context: &AccountContext, request: &Request, claims: &IdClaims) -> Result<Response<Body>, ApiError> {
    // No fields: an empty body, or `{}`.
    if !has_no_body(request) {
        Fields::new(json_object(request)?, &[]).finish()?;
    }
    let user = context
        .users
        .find_by_id(&claims.sub)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    if !user.email_verified {
        send_verification(context, &ClientInfo::of(request), &user.id, &user.email).await?;
    }
    Ok(accepted())
}

async fn verify(context: &AccountContext, request: &Request, claims: &IdClaims) -> Result<Response<Body>, ApiError> {
    let code = code_field(request)?;
    let redis = context.sessions.whitelist.redis();
    let sent_to = context
        .codes
        .redeem(redis, Purpose::VerifyEmail, &claims.sub, &code)
        .await?;
    let user = context
        .users
        .find_by_id(&claims.sub)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    if sent_to != user.email {
        return Err(ApiError::InvalidCode);
    }
    context.users.set_email_verified(&user).await?;
    context
        .sessions
        .whitelist
        .set_identity(&user.id, None, true, None, now_millis())
        .await?;
    tracing::info!(user_id = %user.id, "email verified");
    Ok(no_content())
}

async fn change(context: &AccountContext, request: &Request, claims: &IdClaims) -> Result<Response<Body>, ApiError> {
    let mut fields = Fields::new(json_object(request)?, &["newEmail", "password"]);
    let raw_email = fields.string("newEmail");
    let new_email = if fields.has_error("newEmail") {
        None
    } else {
        Email::parse(&raw_email).map_err(|m| fields.reject("newEmail", m)).ok()
    };
    let password = Password::presented(fields.string("password"));
    fields.finish()?;
    let new_email =
        new_email.ok_or_else(|| ApiError::internal("newEmail parsed without an error but without a value"))?;

    let client = ClientInfo::of(request);
    let user = prove_password(context, claims, &password, &client)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    if new_email.as_str() == user.email {
        return Err(ApiError::validation("newEmail", "must differ from the current email"));
    }
    if context.users.find_by_email(&new_email).await?.is_some() {
        return Err(ApiError::EmailTaken);
    }
    let code = CodeRequest {
        purpose: Purpose::ChangeEmail,
        subject: &user.id,
        extra: new_email.as_str(),
        limited_email: new_email.as_str(),
    };
    send_code(context, &client, code, |code| {
        vec![
            (new_email.as_str().to_owned(), Mail::change_email(code)),
            (user.email.clone(), Mail::email_change_requested(new_email.as_str())),
        ]
    })
    .await?;
    tracing::warn!(security_event = "email_change_requested", user_id = %user.id, "email change requested");
    Ok(accepted())
}

async fn confirm_change(
    context: &AccountContext,
    request: &Request,
    claims: &IdClaims,
) -> Result<Response<Body>, ApiError> {
    let code = code_field(request)?;
    let redis = context.sessions.whitelist.redis();
    let new_email = context
        .codes
        .redeem(redis, Purpose::ChangeEmail, &claims.sub, &code)
        .await?;
    let new_email = Email::parse(&new_email).map_err(|_| ApiError::internal("a stored new email does not parse"))?;
    let user = context
        .users
        .find_by_id(&claims.sub)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    context.users.change_email(&user, &new_email).await?;
    let ended = context
        .sessions
        .whitelist
        .set_identity(
            &user.id,
            Some(new_email.as_str()),
            true,
            Some(&claims.sid),
            now_millis(),
        )
        .await?;
    tracing::warn!(security_event = "email_changed", user_id = %user.id, other_sessions_ended = ended, "email changed");
    Ok(no_content())
}
