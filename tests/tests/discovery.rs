//! OIDC discovery, as API Gateway's JWT authorizer uses it: the discovery document's
//! `issuer` equals every id token's `iss`, its `jwks_uri` is served, and those keys
//! verify a fresh id token with `iss` and `aud` checked exactly. The sample `/me`
//! route accepts a valid token and refuses an expired one.

use e2e::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

#[tokio::test]
async fn the_discovery_document_leads_to_keys_that_verify_a_fresh_id_token() {
    let app = App::new(Target::Standalone).await;
    let discovery = app.get("/.well-known/openid-configuration").await;
    assert_eq!(discovery.status, 200);
    assert!(discovery.header("cache-control").unwrap().contains("max-age"));
    let document = &discovery.body;
    assert_eq!(document["issuer"], ISSUER);
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert!(document["subject_types_supported"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    assert!(document["response_types_supported"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));

    // jwks_uri is this service's own JWKS route.
    let jwks_uri = document["jwks_uri"].as_str().unwrap();
    let path = jwks_uri.strip_prefix(ISSUER).expect("jwks_uri under the issuer URL");
    let jwks = app.get(path).await;
    assert_eq!(jwks.status, 200);
    let set: JwkSet = serde_json::from_value(jwks.body.clone()).unwrap();
    for key in &set.keys {
        assert_eq!(
            key.common.public_key_use,
            Some(jsonwebtoken::jwk::PublicKeyUse::Signature)
        );
        assert!(key.common.key_id.is_some());
        assert!(!jwks.raw_body.contains("\"d\""), "no private key material is published");
    }

    let (_, signup) = app.new_user().await;
    let token = signup.id_token();
    let header = decode_header(&token).unwrap();
    let jwk = set.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[document["issuer"].as_str().unwrap()]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let claims = decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["iss"], document["issuer"]);
    validation.set_audience(&["another-audience"]);
    assert!(decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation).is_err());
}

#[tokio::test]
async fn me_returns_the_callers_claims_and_refuses_an_expired_token() {
    let app = App::new(Target::Standalone).await;
    let (email, signup) = app.new_user().await;
    let me = app.call(Function::Me, bearer("GET", "/me", &signup.id_token())).await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["claims"]["email"], email.as_str());
    assert_eq!(me.body["claims"]["sub"], claims_of(&signup.id_token())["sub"]);

    let mut claims = claims_of(&signup.id_token());
    claims["iat"] = (claims["iat"].as_u64().unwrap() - 1000).into();
    claims["exp"] = (claims["iat"].as_u64().unwrap() + 900).into();
    let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
    header.kid = Some(keys().current_kid.clone());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(keys().current_private_pem.as_bytes()).unwrap();
    let expired = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    app.call(Function::Me, bearer("GET", "/me", &expired))
        .await
        .assert_error(401, "invalid-token");
    app.call(Function::Me, request("GET", "/me", &[], None))
        .await
        .assert_error(401, "invalid-token");
}
