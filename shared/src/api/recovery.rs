//! `POST /password/forgot` and `POST /password/reset`: a forgotten password, recovered
//! through a code emailed to the account's address.
//!
//! No enumeration: forgot answers `202 {}` for every email and does the same work for
//! an unknown one (the same reads, a code stored, one mail sent: a notice that no
//! account has the address), so neither the answer nor its timing tells; reset
//! answers the same `invalid-code` for an unknown email as for a wrong code.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

use crate::codes::Purpose;
use crate::context::AccountContext;
use crate::email::{Email, Password};
use crate::error::ApiError;
use crate::http::{json_object, no_content, require_method, ClientInfo, Fields};
use crate::mail::Mail;
use crate::time::now_millis;

use super::{accepted, send_code, CodeRequest};

pub async fn handle(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    if request.uri().path().ends_with("/password/forgot") {
        forgot(context, request).await
    } else {
        reset(context, request).await
    }
}

fn email_field(fields: &mut Fields) -> Option<Email> {
    let raw = fields.string("email");
    if fields.has_error("email") {
        return None;
    }
    Email::parse(&raw).map_err(|m| fields.reject("email", m)).ok()
}

async fn forgot(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    let mut fields = Fields::new(json_object(&request)?, &["email"]);
    let email = email_field(&mut fields);
    fields.finish()?;
    let email = email.ok_or_else(|| ApiError::internal("email parsed without an error but without a value"))?;

    let client = ClientInfo::of(&request);
    let user = context.users.find_by_email(&email).await?;
    let code = CodeRequest {
        purpose: Purpose::ResetPassword,
        subject: email.as_str(),
        extra: "",
        limited_email: email.as_str(),
    };
    send_code(context, &client, code, |code| {
        let mail = match user {
            Some(_) => Mail::reset_password(code),
            None => Mail::reset_without_account(),
        };
        vec![(email.as_str().to_owned(), mail)]
    })
    .await?;
    tracing::info!(security_event = "password_reset_requested", ip = %client.ip, "password reset code sent");
    Ok(accepted())
}

async fn reset(context: &AccountContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::POST, "POST")?;
    let mut fields = Fields::new(json_object(&request)?, &["email", "code", "newPassword"]);
    let email = email_field(&mut fields);
    let code = fields.string("code");
    let raw_password = fields.string("newPassword");
    let password = if fields.has_error("newPassword") {
        None
    } else {
        Password::parse(raw_password)
            .map_err(|m| fields.reject("newPassword", m))
            .ok()
    };
    fields.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::internal(
            "reset fields parsed without an error but without a value",
        ));
    };

    let redis = context.sessions.whitelist.redis();
    context
        .codes
        .redeem(redis, Purpose::ResetPassword, email.as_str(), &code)
        .await?;
    let user = context
        .users
        .find_by_email(&email)
        .await?
        .ok_or(ApiError::InvalidCode)?;
    let new_hash = crate::password::hash(&password).await?;
    if !context.users.reset_password(&user, &new_hash).await? {
        return Err(ApiError::InvalidCode);
    }
    let ended = context.sessions.whitelist.revoke_all(&user.id, now_millis()).await?;
    tracing::warn!(security_event = "password_reset", user_id = %user.id, sessions_ended = ended, "password reset");
    // The notice is best effort: the reset is done, and a retry would find no code.
    if let Err(error) = context.mail.send(&user.email, &Mail::password_was_reset()).await {
        tracing::warn!(user_id = %user.id, cause = error.cause(), "could not send the reset notice");
    }
    Ok(no_content())
}
