//! The HTTP API Lambda authorizer (simple response format) for the user's own APIs:
//! allows an id token only while its session is live in Redis, so sign-out and
//! revoke-all cut off id tokens at once. Fails closed: if Redis cannot answer, the
//! request is denied (and the failure logged).

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use serde::Serialize;

use crate::context::SessionContext;
use crate::time::now_millis;

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    pub is_authorized: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<AuthorizerContext>,
}

/// Passed to the protected integration as `$context.authorizer.*`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct AuthorizerContext {
    pub sub: String,
    pub sid: String,
    pub email: String,
}

const DENY: AuthorizerResponse = AuthorizerResponse {
    is_authorized: false,
    context: None,
};

fn token_of(event: &ApiGatewayV2CustomAuthorizerV2Request) -> Option<String> {
    let raw = event
        .identity_source
        .as_ref()
        .and_then(|sources| sources.first().cloned())
        .or_else(|| {
            event
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })?;
    crate::http::parse_bearer(&raw).map(str::to_string)
}

pub async fn handle(context: &SessionContext, event: ApiGatewayV2CustomAuthorizerV2Request) -> AuthorizerResponse {
    let Some(token) = token_of(&event) else { return DENY };
    let now_ms = now_millis();
    let Ok(claims) = context.tokens.verify_id_token(&token, now_ms / 1000) else {
        return DENY;
    };
    match context.whitelist.is_live(&claims.sub, &claims.sid, now_ms).await {
        Ok(true) => AuthorizerResponse {
            is_authorized: true,
            context: Some(AuthorizerContext {
                sub: claims.sub,
                sid: claims.sid,
                email: claims.email,
            }),
        },
        Ok(false) => DENY,
        Err(_) => {
            tracing::error!(user_id = %claims.sub, "authorizer could not check the session; denying");
            DENY
        }
    }
}
