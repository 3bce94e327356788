//! The JWT attack matrix (docs/contract.md, Status codes: "401 ... any invalid, expired, revoked
//! or reused token"). Every forged token is presented to every endpoint that takes a
//! token: refresh (`POST /tokens`), sign-out (`POST /signout`), revoke-all and
//! `GET /sessions` (Bearer id token) and the authorizer. Each must be refused with 401
//! `invalid-token` (the authorizer: deny, with no context) and must change nothing:
//! the whitelist of the victim and of the attacker is byte for byte the same after
//! the attack, the victim's live session still refreshes, is still listed and its id
//! token is still authorized.
//!
//! Forged tokens start from the victim's real, current tokens, so a verifier that let
//! one through would act on a live session (rotate it, close it, revoke it, list it).
//! Attacks that only make sense with a valid signature (expired, wrong `iss`, ...) are
//! signed with the service's real keys: the claim alone must be what gets them refused.
//! A control test shows that the same signing, without the defect, is accepted.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use e2e::*;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------
// Who is attacked, and where.

/// Which kind of token an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carrier {
    IdToken,
    RefreshToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Refresh,
    Signout,
    RevokeAll,
    Sessions,
    Authorizer,
}

impl Endpoint {
    fn carrier(self) -> Carrier {
        match self {
            Endpoint::Refresh | Endpoint::Signout => Carrier::RefreshToken,
            Endpoint::RevokeAll | Endpoint::Sessions | Endpoint::Authorizer => Carrier::IdToken,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Endpoint::Refresh => "POST /tokens",
            Endpoint::Signout => "POST /signout",
            Endpoint::RevokeAll => "POST /revoke-all",
            Endpoint::Sessions => "GET /sessions",
            Endpoint::Authorizer => "the authorizer",
        }
    }

    /// `Ok` when the token was refused as docs/contract.md says; otherwise what happened.
    async fn refuses(self, app: &App, token: &str) -> Result<(), String> {
        let response = match self {
            Endpoint::Authorizer => {
                let answer = app.authorize(token).await;
                return if !answer.is_authorized && answer.context.is_none() {
                    Ok(())
                } else {
                    Err(format!("allowed it: {answer:?}"))
                };
            }
            Endpoint::Refresh => app.refresh(token).await,
            Endpoint::Signout => app.signout(token).await,
            Endpoint::RevokeAll => app.revoke_all(token).await,
            Endpoint::Sessions => app.list_sessions(token).await,
        };
        let message = response.body["error"]["message"].as_str().unwrap_or("");
        if response.status == 401 && response.error_type() == "invalid-token" && !message.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "answered {} {}",
                response.status,
                shortened(&response.raw_body)
            ))
        }
    }
}

/// Bodies quoted in failure messages can hold 100 KB tokens.
fn shortened(text: &str) -> String {
    if text.len() <= 300 {
        text.to_string()
    } else {
        format!("{}... ({} bytes)", &text[..300], text.len())
    }
}

/// A live session of a user, with its newest tokens.
struct Session {
    email: String,
    user_id: String,
    sid: String,
    id_token: String,
    refresh_token: String,
}

impl Session {
    fn of(email: &str, response: &TestResponse) -> Session {
        let claims = claims_of(&response.id_token());
        Session {
            email: email.to_string(),
            user_id: claims["sub"].as_str().unwrap().to_string(),
            sid: claims["sid"].as_str().unwrap().to_string(),
            id_token: response.id_token(),
            refresh_token: response.refresh_token(),
        }
    }

    async fn new_user(app: &App) -> Session {
        let (email, signup) = app.new_user().await;
        Session::of(&email, &signup)
    }

    /// The session is untouched: its newest refresh token rotates (we keep the new
    /// pair: every refresh rotates), it is still listed, and its id token still passes
    /// the authorizer.
    async fn still_works(&mut self, app: &App) -> Result<(), String> {
        let refreshed = app.refresh(&self.refresh_token).await;
        if refreshed.status != 200 {
            return Err(format!(
                "the victim's refresh token no longer refreshes: {} {}",
                refreshed.status,
                shortened(&refreshed.raw_body)
            ));
        }
        self.id_token = refreshed.id_token();
        self.refresh_token = refreshed.refresh_token();
        let listed = app.list_sessions(&self.id_token).await;
        let ids: Vec<&str> = listed.body["sessions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["id"].as_str())
            .collect();
        if listed.status != 200 || !ids.contains(&self.sid.as_str()) {
            return Err(format!(
                "the victim's session is no longer listed: {} {}",
                listed.status,
                shortened(&listed.raw_body)
            ));
        }
        if !app.authorize(&self.id_token).await.is_authorized {
            return Err("the victim's fresh id token is no longer authorized".into());
        }
        Ok(())
    }
}

/// Everything the whitelist holds about a user: every field of its one hash.
async fn whitelist_state(app: &App, user_id: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut redis = app.redis().await;
    redis::cmd("HGETALL")
        .arg(shared::whitelist::sessions_key(user_id))
        .query_async(&mut redis)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------
// Forging tools.

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn segments(token: &str) -> Vec<&str> {
    token.split('.').collect()
}

fn header_of(token: &str) -> Value {
    serde_json::from_slice(&B64.decode(segments(token)[0]).unwrap()).unwrap()
}

fn b64_json(value: &Value) -> String {
    B64.encode(value.to_string())
}

/// A token assembled by hand: `base64url(header).base64url(claims).signature`.
fn hand_made(header: &Value, claims: &Value, signature: &str) -> String {
    format!("{}.{}.{}", b64_json(header), b64_json(claims), signature)
}

fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    encode(header, claims, key).unwrap_or_else(|e| panic!("forging {header:?} failed: {e}"))
}

fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    header
}

/// The attacker's own RSA key pair (not in the key document).
fn attacker_rsa_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(rsa_private_pem)
}

fn attacker_rsa() -> EncodingKey {
    EncodingKey::from_rsa_pem(attacker_rsa_pem().as_bytes()).unwrap()
}

const ATTACKER_SECRET: &[u8] = b"the attacker's own 32+ byte HMAC secret, not the service's";

/// The service's real signing key for a kind of token: (algorithm, kid, key).
fn service_key(carrier: Carrier) -> (Algorithm, &'static str, EncodingKey) {
    let k = keys();
    match carrier {
        Carrier::IdToken => (
            Algorithm::RS256,
            &k.current_kid,
            EncodingKey::from_rsa_pem(k.current_private_pem.as_bytes()).unwrap(),
        ),
        Carrier::RefreshToken => (
            Algorithm::HS256,
            &k.refresh_kid,
            EncodingKey::from_secret(&k.refresh_secret),
        ),
    }
}

/// A key of the right family for the carrier that the service does not know.
fn attacker_key(carrier: Carrier) -> (Algorithm, EncodingKey) {
    match carrier {
        Carrier::IdToken => (Algorithm::RS256, attacker_rsa()),
        Carrier::RefreshToken => (Algorithm::HS256, EncodingKey::from_secret(ATTACKER_SECRET)),
    }
}

fn other(carrier: Carrier) -> Carrier {
    match carrier {
        Carrier::IdToken => Carrier::RefreshToken,
        Carrier::RefreshToken => Carrier::IdToken,
    }
}

/// What an attack is forged from: the victim's current tokens, the attacker's own.
struct Scene<'a> {
    carrier: Carrier,
    victim: &'a Session,
    attacker: &'a Session,
}

impl Scene<'_> {
    fn token_of(&self, session: &Session, carrier: Carrier) -> String {
        match carrier {
            Carrier::IdToken => session.id_token.clone(),
            Carrier::RefreshToken => session.refresh_token.clone(),
        }
    }

    /// The victim's real token of the kind the endpoint takes.
    fn genuine(&self) -> String {
        self.token_of(self.victim, self.carrier)
    }

    fn claims(&self) -> Value {
        claims_of(&self.genuine())
    }

    fn kid(&self) -> String {
        header_of(&self.genuine())["kid"].as_str().unwrap().to_string()
    }

    /// The victim's claims with some changed.
    fn claims_with(&self, changes: Value) -> Value {
        let mut claims = self.claims();
        for (name, value) in changes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    }

    /// Signed exactly as the service signs this kind of token.
    fn signed_by_service(&self, claims: &Value) -> String {
        let (alg, kid, key) = service_key(self.carrier);
        sign(&header(alg, Some(kid)), claims, &key)
    }

    fn signed_by_attacker(&self, kid: Option<&str>) -> String {
        let (alg, key) = attacker_key(self.carrier);
        sign(&header(alg, kid), &self.claims(), &key)
    }
}

struct Attack {
    name: &'static str,
    forge: fn(&Scene) -> String,
}

/// The matrix of the issue, each forged from the victim's current token of the kind
/// the endpoint takes.
fn attacks() -> Vec<Attack> {
    vec![
        // alg: none.
        Attack {
            name: "alg none, empty signature",
            forge: |s| hand_made(&json!({"alg": "none", "typ": "JWT", "kid": s.kid()}), &s.claims(), ""),
        },
        Attack {
            name: "alg None (mixed case), empty signature",
            forge: |s| hand_made(&json!({"alg": "None", "typ": "JWT", "kid": s.kid()}), &s.claims(), ""),
        },
        Attack {
            name: "alg NONE, no kid, empty signature",
            forge: |s| hand_made(&json!({"alg": "NONE", "typ": "JWT"}), &s.claims(), ""),
        },
        Attack {
            name: "alg none with the genuine signature kept",
            forge: |s| {
                hand_made(
                    &json!({"alg": "none", "typ": "JWT", "kid": s.kid()}),
                    &s.claims(),
                    segments(&s.genuine())[2],
                )
            },
        },
        // Algorithm confusion: the RSA public key (it is public: the JWKS) as an HMAC secret.
        Attack {
            name: "HS256 signed with the RSA public key PEM as HMAC secret, id key's kid (algorithm confusion)",
            forge: |s| {
                let k = keys();
                sign(
                    &header(Algorithm::HS256, Some(&k.current_kid)),
                    &s.claims(),
                    &EncodingKey::from_secret(k.current_public_pem.as_bytes()),
                )
            },
        },
        Attack {
            name: "HS256 signed with the RSA public key PEM as HMAC secret, the token's own kid (algorithm confusion)",
            forge: |s| {
                sign(
                    &header(Algorithm::HS256, Some(&s.kid())),
                    &s.claims(),
                    &EncodingKey::from_secret(keys().current_public_pem.as_bytes()),
                )
            },
        },
        // Token-type confusion.
        Attack {
            name: "token-type confusion: the victim's real token of the other type",
            forge: |s| s.token_of(s.victim, other(s.carrier)),
        },
        Attack {
            name: "token-type confusion: the other type's claims signed with this type's real key",
            forge: |s| s.signed_by_service(&claims_of(&s.token_of(s.victim, other(s.carrier)))),
        },
        Attack {
            name: "token-type confusion: this type's claims signed with the other type's real key",
            forge: |s| {
                let (alg, kid, key) = service_key(other(s.carrier));
                sign(&header(alg, Some(kid)), &s.claims(), &key)
            },
        },
        // Keys the service does not have.
        Attack {
            name: "unknown kid, signed with the attacker's key",
            forge: |s| s.signed_by_attacker(Some("attacker-key-1")),
        },
        Attack {
            name: "the service's kid, signed with the attacker's key",
            forge: |s| s.signed_by_attacker(Some(&s.kid())),
        },
        Attack {
            name: "no kid, signed with the attacker's key",
            forge: |s| s.signed_by_attacker(None),
        },
        Attack {
            name: "embedded jwk header with the attacker's public key",
            forge: |s| {
                let mut h = header(Algorithm::RS256, Some("attacker-key-1"));
                h.jwk = Some(Jwk::from_encoding_key(&attacker_rsa(), Algorithm::RS256).unwrap());
                sign(&h, &s.claims(), &attacker_rsa())
            },
        },
        Attack {
            name: "jku header pointing at the attacker's JWKS",
            forge: |s| {
                let mut h = header(Algorithm::RS256, Some("attacker-key-1"));
                h.jku = Some("http://evil.example/jwks.json".into());
                sign(&h, &s.claims(), &attacker_rsa())
            },
        },
        // kid injection.
        Attack {
            name: "kid path traversal ../../etc/passwd",
            forge: |s| s.signed_by_attacker(Some("../../etc/passwd")),
        },
        Attack {
            name: "kid path traversal to /dev/null, HS256 with an empty secret",
            forge: |s| {
                sign(
                    &header(Algorithm::HS256, Some("../../../../../../dev/null")),
                    &s.claims(),
                    &EncodingKey::from_secret(b""),
                )
            },
        },
        Attack {
            name: "kid URL http://evil.example/jwks.json",
            forge: |s| s.signed_by_attacker(Some("http://evil.example/jwks.json")),
        },
        Attack {
            name: "kid with a NUL byte after the real kid",
            forge: |s| s.signed_by_attacker(Some(&format!("{}\u{0}", s.kid()))),
        },
        Attack {
            name: "kid naming a Redis key (sess:{victim})",
            forge: |s| s.signed_by_attacker(Some(&format!("sess:{{{}}}", s.victim.user_id))),
        },
        // Time.
        Attack {
            name: "expired an hour ago (signed with the service's key)",
            forge: |s| s.signed_by_service(&s.claims_with(json!({"iat": now() - 7200, "exp": now() - 3600}))),
        },
        Attack {
            name: "iat an hour in the future (signed with the service's key)",
            forge: |s| s.signed_by_service(&s.claims_with(json!({"iat": now() + 3600, "exp": now() + 3600 + 900}))),
        },
        Attack {
            name: "nbf an hour in the future (signed with the service's key)",
            forge: |s| s.signed_by_service(&s.claims_with(json!({"nbf": now() + 3600}))),
        },
        // Issuer and audience.
        Attack {
            name: "wrong iss (signed with the service's key)",
            forge: |s| s.signed_by_service(&s.claims_with(json!({"iss": "https://evil.example"}))),
        },
        Attack {
            name: "wrong aud (signed with the service's key)",
            forge: |s| s.signed_by_service(&s.claims_with(json!({"aud": "evil-audience"}))),
        },
        // Tampering: the signature no longer covers the payload.
        Attack {
            name: "tampered payload: the attacker's own token with sub and sid changed to the victim's, signature kept",
            forge: |s| {
                let own = s.token_of(s.attacker, s.carrier);
                let parts = segments(&own);
                let payload = String::from_utf8(B64.decode(parts[1]).unwrap()).unwrap();
                let forged = payload
                    .replace(&s.attacker.user_id, &s.victim.user_id)
                    .replace(&s.attacker.sid, &s.victim.sid);
                assert_ne!(forged, payload);
                format!("{}.{}.{}", parts[0], B64.encode(forged), parts[2])
            },
        },
        Attack {
            name: "tampered payload: the victim's token with exp pushed a year out, signature kept",
            forge: |s| {
                let genuine = s.genuine();
                let parts = segments(&genuine);
                let claims = s.claims_with(json!({"exp": now() + 365 * 24 * 3600}));
                format!("{}.{}.{}", parts[0], b64_json(&claims), parts[2])
            },
        },
        // Truncation.
        Attack {
            name: "truncated: signature removed",
            forge: |s| {
                let genuine = s.genuine();
                let parts = segments(&genuine);
                format!("{}.{}.", parts[0], parts[1])
            },
        },
        Attack {
            name: "truncated: header and payload only (two segments)",
            forge: |s| {
                let genuine = s.genuine();
                let parts = segments(&genuine);
                format!("{}.{}", parts[0], parts[1])
            },
        },
        Attack {
            name: "truncated: last 10 characters of the signature cut",
            forge: |s| {
                let genuine = s.genuine();
                genuine[..genuine.len() - 10].to_string()
            },
        },
        Attack {
            name: "truncated: cut in half",
            forge: |s| {
                let genuine = s.genuine();
                genuine[..genuine.len() / 2].to_string()
            },
        },
        // Size: body-carried tokens stay under the 16 KiB body limit (so this is the
        // token check, not the 413); header-carried ones are 100 KB.
        Attack {
            name: "oversized token (signed with the service's key)",
            forge: |s| {
                let pad = match s.carrier {
                    Carrier::RefreshToken => 7_500,
                    Carrier::IdToken => 100_000,
                };
                let token = s.signed_by_service(&s.claims_with(json!({"pad": "A".repeat(pad)})));
                assert!(token.len() >= 10_000);
                token
            },
        },
    ]
}

// ---------------------------------------------------------------------------------
// The matrix.

async fn every_forged_token_is_refused_and_changes_nothing(endpoint: Endpoint) {
    let app = App::new(Target::Standalone).await;
    let mut victim = Session::new_user(&app).await;
    let attacker = Session::new_user(&app).await;
    let attacks = attacks();
    let mut failures = vec![];

    for attack in &attacks {
        let token = (attack.forge)(&Scene {
            carrier: endpoint.carrier(),
            victim: &victim,
            attacker: &attacker,
        });
        assert_ne!(
            token,
            Scene {
                carrier: endpoint.carrier(),
                victim: &victim,
                attacker: &attacker
            }
            .genuine(),
            "{}: not forged",
            attack.name
        );
        let before = (
            whitelist_state(&app, &victim.user_id).await,
            whitelist_state(&app, &attacker.user_id).await,
        );
        let victim_sid = shared::whitelist::id_bytes(&victim.sid).unwrap().to_vec();
        assert!(
            before.0.contains_key(&victim_sid),
            "{}: the victim has a live session before the attack",
            attack.name
        );

        if let Err(what) = endpoint.refuses(&app, &token).await {
            failures.push(format!("[{}] {} {what}", attack.name, endpoint.name()));
        }
        let after = (
            whitelist_state(&app, &victim.user_id).await,
            whitelist_state(&app, &attacker.user_id).await,
        );
        if after != before {
            failures.push(format!(
                "[{}] {} changed the whitelist: before {before:?}, after {after:?}",
                attack.name,
                endpoint.name()
            ));
        }
        if let Err(what) = victim.still_works(&app).await {
            failures.push(format!("[{}] after {}: {what}", attack.name, endpoint.name()));
            // Carry on with the rest of the matrix from a fresh session of the victim.
            let signin = app.signin(&victim.email, PASSWORD).await;
            assert_eq!(signin.status, 200, "{signin:?}");
            victim = Session::of(&victim.email, &signin);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} attacks on {} were not refused with 401 / deny or changed something:\n{}",
        failures.len(),
        attacks.len(),
        endpoint.name(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_forged_token_is_401_on_refresh_and_changes_nothing() {
    every_forged_token_is_refused_and_changes_nothing(Endpoint::Refresh).await;
}

#[tokio::test]
async fn every_forged_token_is_401_on_signout_and_changes_nothing() {
    every_forged_token_is_refused_and_changes_nothing(Endpoint::Signout).await;
}

#[tokio::test]
async fn every_forged_token_is_401_on_revoke_all_and_changes_nothing() {
    every_forged_token_is_refused_and_changes_nothing(Endpoint::RevokeAll).await;
}

#[tokio::test]
async fn every_forged_token_is_401_on_sessions_and_changes_nothing() {
    every_forged_token_is_refused_and_changes_nothing(Endpoint::Sessions).await;
}

#[tokio::test]
async fn every_forged_token_is_denied_by_the_authorizer_and_changes_nothing() {
    every_forged_token_is_refused_and_changes_nothing(Endpoint::Authorizer).await;
}

/// Control: the forging tools are right. The victim's own claims, signed the way the
/// attacks sign them but with nothing wrong, are accepted everywhere; so an attack
/// refused above is refused for its defect, not for a mistake in the forgery.
#[tokio::test]
async fn tokens_signed_like_the_attacks_but_without_a_defect_are_accepted() {
    let app = App::new(Target::Standalone).await;
    let victim = Session::new_user(&app).await;
    let attacker = Session::new_user(&app).await;

    let id = Scene {
        carrier: Carrier::IdToken,
        victim: &victim,
        attacker: &attacker,
    };
    let id_token = id.signed_by_service(&id.claims());
    let listed = app.list_sessions(&id_token).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert!(app.authorize(&id_token).await.is_authorized);
    let padded = id.signed_by_service(&id.claims_with(json!({"pad": "A".repeat(1_000)})));
    assert_eq!(
        app.list_sessions(&padded).await.status,
        200,
        "an extra claim alone does not get a token refused"
    );

    let refresh = Scene {
        carrier: Carrier::RefreshToken,
        victim: &victim,
        attacker: &attacker,
    };
    let refresh_token = refresh.signed_by_service(&refresh.claims());
    let refreshed = app.refresh(&refresh_token).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    assert_eq!(
        claims_of(&refreshed.id_token())["sid"].as_str(),
        Some(victim.sid.as_str())
    );
}

/// A body over 16 KiB is refused before the token is read (413, not 401): a 100 KB
/// refresh token is that, and it changes nothing either.
#[tokio::test]
async fn a_100_kb_refresh_token_is_413_on_refresh_and_signout_and_changes_nothing() {
    let app = App::new(Target::Standalone).await;
    let mut victim = Session::new_user(&app).await;
    let attacker = Session::new_user(&app).await;
    for endpoint in [Endpoint::Refresh, Endpoint::Signout] {
        let scene = Scene {
            carrier: Carrier::RefreshToken,
            victim: &victim,
            attacker: &attacker,
        };
        let token = scene.signed_by_service(&scene.claims_with(json!({"pad": "A".repeat(100_000)})));
        let before = whitelist_state(&app, &victim.user_id).await;
        let response = match endpoint {
            Endpoint::Refresh => app.refresh(&token).await,
            _ => app.signout(&token).await,
        };
        response.assert_error(413, "payload-too-large");
        assert_eq!(
            whitelist_state(&app, &victim.user_id).await,
            before,
            "{} changed the whitelist",
            endpoint.name()
        );
        victim
            .still_works(&app)
            .await
            .unwrap_or_else(|what| panic!("after a 100 KB token on {}: {what}", endpoint.name()));
    }
}
