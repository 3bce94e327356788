//! The `admin` function: no HTTP route, invoked with IAM only (`aws lambda invoke`,
//! the console, or the Lambda invoke API of `make dev`), so it adds no secret and
//! no public surface. One JSON event per action:
//! `{"action": "get-user" | "disable-user" | "enable-user" | "sign-out-user" | "delete-user",
//!   "email": "..."}` (or `"userId"` instead of `"email"`).
//! The result is JSON; a failure is the contract's error shape (`{"error": {...}}`).

use serde_json::{json, Map, Value};

use crate::context::AccountContext;
use crate::email::Email;
use crate::error::ApiError;
use crate::http::Fields;
use crate::time::{now_millis, rfc3339_millis};
use crate::users::StoredUser;

const ACTIONS: [&str; 5] = [
    "get-user",
    "disable-user",
    "enable-user",
    "sign-out-user",
    "delete-user",
];

/// Who invoked the function, as far as Lambda tells it (the IAM principal itself is
/// in CloudTrail's Invoke event, under the same request id).
#[derive(Debug, Clone, Default)]
pub struct Invoker {
    pub request_id: String,
    pub function_arn: String,
}

/// Runs one action; every outcome is a JSON value (errors in the contract's shape).
pub async fn handle(context: &AccountContext, event: Value, invoker: &Invoker) -> Value {
    match run(context, event, invoker).await {
        Ok(result) => result,
        Err(error) => {
            if let Some(cause) = error.cause() {
                tracing::error!(request_id = %invoker.request_id, cause, "admin action failed");
            }
            error.body()
        }
    }
}

async fn run(context: &AccountContext, event: Value, invoker: &Invoker) -> Result<Value, ApiError> {
    let Value::Object(object) = event else {
        return Err(ApiError::validation("body", "must be a JSON object"));
    };
    let (action, user) = parse(context, object).await?;
    let sessions = &context.sessions.whitelist;
    let now_ms = now_millis();
    let result = match action.as_str() {
        "get-user" => {
            let live = sessions.list_sessions(&user.id, now_ms).await?.len();
            json!({ "user": describe(&user, live) })
        }
        "disable-user" => {
            // The flag first: once it is set no sign-in succeeds, then every session ends.
            context.users.set_disabled(&user, true).await?;
            let ended = sessions.revoke_all(&user.id, now_ms).await?;
            json!({ "disabled": true, "sessionsEnded": ended })
        }
        "enable-user" => {
            context.users.set_disabled(&user, false).await?;
            json!({ "disabled": false })
        }
        "sign-out-user" => json!({ "sessionsEnded": sessions.revoke_all(&user.id, now_ms).await? }),
        _ => {
            // delete-user: the items, then the sessions (a retry finishes the job).
            context.users.delete(&user).await?;
            context
                .codes
                .forget_user(sessions.redis(), &user.id, &user.email)
                .await?;
            json!({ "deleted": true, "sessionsEnded": sessions.revoke_all(&user.id, now_ms).await? })
        }
    };
    let action_name = ACTIONS.iter().find(|a| **a == action).copied().unwrap_or("unknown");
    crate::metrics::count(crate::metrics::Metric::AdminAction(action_name));
    tracing::warn!(
        security_event = "admin_action",
        action = %action,
        user_id = %user.id,
        request_id = %invoker.request_id,
        function_arn = %invoker.function_arn,
        "operator action"
    );
    if action == "get-user" {
        return Ok(result);
    }
    Ok(json!({ "action": action, "userId": user.id, "result": result }))
}

/// The action and the user it names; 400 for an unknown action or a bad event, 404
/// for an unknown user.
async fn parse(context: &AccountContext, object: Map<String, Value>) -> Result<(String, StoredUser), ApiError> {
    let by_id = object.contains_key("userId");
    let mut fields = Fields::new(object, &["action", "email", "userId"]);
    let action = fields.string("action");
    if !fields.has_error("action") && !ACTIONS.contains(&action.as_str()) {
        fields.reject(
            "action",
            "must be one of get-user, disable-user, enable-user, sign-out-user, delete-user",
        );
    }
    let user = if by_id {
        let id = fields.string("userId");
        fields.finish()?;
        context.users.find_by_id(&id).await?
    } else {
        let raw = fields.string("email");
        let email = Email::parse(&raw).map_err(|m| fields.reject("email", m)).ok();
        fields.finish()?;
        match email {
            Some(email) => context.users.find_by_email(&email).await?,
            None => None,
        }
    };
    Ok((action, user.ok_or(ApiError::NotFound)?))
}

fn describe(user: &StoredUser, live_sessions: usize) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "emailVerified": user.email_verified,
        "mfaEnabled": user.mfa_enabled,
        "disabled": user.disabled,
        "createdAt": rfc3339_millis(user.created_ms),
        "liveSessions": live_sessions,
    })
}
