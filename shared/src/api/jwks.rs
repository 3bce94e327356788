//! `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;

use crate::context::KeyContext;
use crate::error::ApiError;
use crate::http::{json_response_with_cache, require_method};

/// Short enough that a newly published key is seen well before it starts signing.
const CACHE_CONTROL: &str = "public, max-age=300";

pub fn discovery_document(context: &KeyContext) -> serde_json::Value {
    let issuer = context.issuer.trim_end_matches('/');
    let mut algorithms: Vec<String> = context
        .tokens
        .keys()
        .id_verifying
        .values()
        .map(|k| format!("{:?}", k.algorithm))
        .collect();
    algorithms.sort();
    algorithms.dedup();
    json!({
        "issuer": context.issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "id_token_signing_alg_values_supported": algorithms,
        "subject_types_supported": ["public"],
        "response_types_supported": ["id_token"],
        "claims_supported": ["iss", "aud", "sub", "sid", "email", "iat", "exp", "jti"],
    })
}

pub async fn handle(context: &KeyContext, request: Request) -> Result<Response<Body>, ApiError> {
    require_method(&request, Method::GET, "GET")?;
    let body = if request.uri().path().ends_with("/openid-configuration") {
        discovery_document(context)
    } else {
        context.tokens.keys().jwks.clone()
    };
    Ok(json_response_with_cache(StatusCode::OK, &body, CACHE_CONTROL))
}
