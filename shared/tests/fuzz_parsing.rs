//! Property tests over everything a client controls before any store is touched:
//! request bodies, headers, emails, passwords and tokens. Nothing panics, and every
//! rejection is one of the contract's errors. CI runs the default number of cases;
//! `PROPTEST_CASES=1000000 cargo test -p shared --test fuzz_parsing --release`
//! runs a million per property.

use lambda_http::http::{header, Request as HttpRequest};
use lambda_http::Body;
use proptest::prelude::*;
use shared::api::parse_credentials;
use shared::email::Email;
use shared::error::ApiError;
use shared::http::{bearer_token, json_object, parse_object, MAX_BODY_BYTES};

fn request(content_type: &str, body: Vec<u8>, authorization: &str) -> lambda_http::Request {
    let mut builder = HttpRequest::builder().method("POST").uri("/signup");
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        builder = builder.header(header::CONTENT_TYPE, value);
    }
    if let Ok(value) = header::HeaderValue::from_str(authorization) {
        builder = builder.header(header::AUTHORIZATION, value);
    }
    builder.body(Body::Binary(body)).unwrap()
}

fn is_client_error(error: &ApiError) -> bool {
    (400..500).contains(&error.status().as_u16())
}

/// JSON-ish bytes: mostly structure, sometimes garbage, to reach deep into the parser.
fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        "[{}\\[\\]\":,a-z0-9 .@\\\\u-]{0,80}".prop_map(String::into_bytes),
        (".{0,40}", ".{0,40}", ".{0,10}")
            .prop_map(|(e, p, extra)| { format!(r#"{{"email":"{e}","password":"{p}"{extra}}}"#).into_bytes() }),
    ]
}

proptest! {
    // Cases from PROPTEST_CASES (default 256); nothing written to disk.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_body_parses_or_is_a_client_error(body in jsonish(), content_type in prop_oneof![
        Just("application/json".to_string()), Just("application/json; charset=utf-8".to_string()), ".{0,30}"
    ]) {
        let request = request(&content_type, body.clone(), "");
        match json_object(&request) {
            Ok(object) => {
                prop_assert!(body.len() <= MAX_BODY_BYTES);
                if let Err(error) = parse_credentials(object) {
                    prop_assert!(is_client_error(&error));
                }
            }
            Err(error) => prop_assert!(is_client_error(&error)),
        }
    }

    #[test]
    fn parse_object_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Err(error) = parse_object(&body) {
            prop_assert!(is_client_error(&error));
        }
    }

    #[test]
    fn accepted_emails_are_normalized_ascii(raw in ".{0,300}") {
        if let Ok(email) = Email::parse(&raw) {
            let s = email.as_str();
            prop_assert!(s.is_ascii() && s.len() <= 254 && !s.chars().any(|c| c.is_control() || c.is_whitespace()));
            prop_assert_eq!(s, s.to_ascii_lowercase());
        }
    }

    #[test]
    fn any_authorization_header_gives_a_token_or_401(value in ".{0,200}") {
        let request = request("application/json", vec![], &value);
        if let Err(error) = bearer_token(&request) {
            prop_assert_eq!(error, ApiError::InvalidToken);
        }
    }
}

mod tokens {
    use super::*;
    use shared::keys::KeySet;
    use shared::tokens::{RefreshGrant, Tokens};
    use std::sync::OnceLock;

    fn tokens() -> &'static (Tokens, String, String) {
        static TOKENS: OnceLock<(Tokens, String, String)> = OnceLock::new();
        TOKENS.get_or_init(|| {
            let output = std::process::Command::new("openssl")
                .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
                .output()
                .expect("openssl");
            let pem = String::from_utf8(output.stdout).unwrap();
            let document = serde_json::json!({
                "idTokenKeys": [{"kid": "k1", "alg": "RS256", "privateKeyPem": pem}],
                "refreshSecrets": [{"kid": "r1", "secret": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}],
            });
            let lookup = |name: &str| match name {
                "ISSUER" => Some("https://issuer.example".to_string()),
                "ID_TOKEN_AUDIENCE" => Some("aud".to_string()),
                "REDIS_URL" => Some("redis://127.0.0.1:1".to_string()),
                _ => None,
            };
            let settings = shared::Settings::from_lookup(&lookup, document.to_string()).unwrap();
            let tokens = Tokens::new(&settings, KeySet::from_json(&settings.keys_json).unwrap());
            let now = shared::time::now_millis() / 1000;
            let id = tokens
                .mint_id_token(
                    "user",
                    "session",
                    &shared::tokens::Identity {
                        email: "a@example.com".into(),
                        email_verified: false,
                        signed_in_with_otp: false,
                    },
                    now,
                )
                .unwrap();
            let grant = RefreshGrant {
                user_id: "user".into(),
                session_id: "session".into(),
                jti: "j".into(),
                issued_at: now,
                expires_at: now + 3600,
                kid: "r1".into(),
            };
            let refresh = tokens.mint_refresh_token(&grant).unwrap();
            (tokens, id, refresh)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_strings_are_never_valid_tokens(token in ".{0,600}") {
            let (tokens, _, _) = tokens();
            let now = shared::time::now_millis() / 1000;
            prop_assert_eq!(tokens.verify_id_token(&token, now).unwrap_err(), ApiError::InvalidToken);
            prop_assert_eq!(tokens.verify_refresh_token(&token, now).unwrap_err(), ApiError::InvalidToken);
        }

        #[test]
        fn a_mutated_real_token_is_refused(which in any::<bool>(), position in any::<prop::sample::Index>(), byte in 0x21u8..0x7f) {
            let (tokens, id, refresh) = tokens();
            let now = shared::time::now_millis() / 1000;
            let original = if which { id } else { refresh };
            let mut bytes = original.clone().into_bytes();
            let i = position.index(bytes.len());
            // Always a different byte (no rejected cases, which proptest caps).
            bytes[i] = if bytes[i] == byte { if byte == 0x7e { 0x21 } else { byte + 1 } } else { byte };
            let mutated = String::from_utf8(bytes).unwrap();
            // A flip inside base64url padding bits can decode to the same bytes; then
            // the token is the same token and may verify. Anything else must be refused.
            let same = |a: &str, b: &str| a.split('.').map(base64_decode).eq(b.split('.').map(base64_decode));
            if !same(&mutated, original) {
                prop_assert!(tokens.verify_id_token(&mutated, now).is_err());
                prop_assert!(tokens.verify_refresh_token(&mutated, now).is_err());
            }
        }
    }

    fn base64_decode(part: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok()
    }

    #[test]
    fn the_unmutated_tokens_verify() {
        let (tokens, id, refresh) = tokens();
        let now = shared::time::now_millis() / 1000;
        assert!(tokens.verify_id_token(id, now).is_ok());
        assert!(tokens.verify_refresh_token(refresh, now).is_ok());
    }
}
