//! The session promises of docs/contract.md (Tokens, The whitelist), each run twice: on a
//! standalone redis-server and on a 3-master Redis Cluster.

use std::collections::HashSet;
use std::time::Duration;

use e2e::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// Verifies an id token the way any relying party would: from the JWKS JSON alone.
fn verify_with_jwks(jwks: &Value, token: &str) -> Value {
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let kid = decode_header(token).unwrap().kid.unwrap();
    let jwk = set.find(&kid).expect("the token's kid is in the JWKS");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims
}

/// The ids of the user's live sessions, as the whitelist holds them.
async fn live_sessions(app: &App, user_id: &str) -> Vec<String> {
    let sessions = app
        .sessions()
        .whitelist
        .list_sessions(user_id, shared::time::now_millis())
        .await
        .unwrap();
    sessions.into_iter().map(|s| s.session_id).collect()
}

fn user_of(response: &TestResponse) -> String {
    claims_of(&response.id_token())["sub"].as_str().unwrap().to_string()
}

fn sid_of(response: &TestResponse) -> String {
    claims_of(&response.id_token())["sid"].as_str().unwrap().to_string()
}

async fn full_flow_ends_with_a_dead_token_after_signout(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let jwks = app.get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status, 200);

    let signin = app.signin(&email, PASSWORD).await;
    assert_eq!(signin.status, 200, "{signin:?}");
    let claims = verify_with_jwks(&jwks.body, &signin.id_token());
    assert_eq!(claims["sub"], claims_of(&signup.id_token())["sub"]);
    assert_eq!(claims["email"].as_str(), Some(email.as_str()));

    let first = app.refresh(&signin.refresh_token()).await;
    assert_eq!(first.status, 200, "{first:?}");
    verify_with_jwks(&jwks.body, &first.id_token());
    assert_ne!(first.refresh_token(), signin.refresh_token());
    let second = app.refresh(&first.refresh_token()).await;
    assert_eq!(second.status, 200, "{second:?}");
    let claims = verify_with_jwks(&jwks.body, &second.id_token());
    assert_eq!(
        claims["sid"],
        claims_of(&signin.id_token())["sid"],
        "rotation keeps the session"
    );

    let signout = app.signout(&second.refresh_token()).await;
    assert_eq!(signout.status, 204, "{signout:?}");
    assert_eq!(signout.body, Value::Null);
    app.refresh(&second.refresh_token())
        .await
        .assert_error(401, "invalid-token");
    app.signout(&second.refresh_token())
        .await
        .assert_error(401, "invalid-token");

    // The sign-up session is untouched by the other session's sign-out.
    assert_eq!(app.refresh(&signup.refresh_token()).await.status, 200);
}

async fn concurrent_refreshes_rotate_once_and_all_get_the_same_token(target: Target) {
    let app = App::new(target).await;
    let (_, signup) = app.new_user().await;
    let token = signup.refresh_token();
    let responses = futures_util::future::join_all((0..50).map(|_| app.refresh(&token))).await;
    assert!(
        responses.iter().all(|r| r.status == 200),
        "{:?}",
        responses.iter().find(|r| r.status != 200)
    );
    let tokens: HashSet<String> = responses.iter().map(|r| r.refresh_token()).collect();
    assert_eq!(tokens.len(), 1, "every caller gets the winner's refresh token");
    let new_token = tokens.into_iter().next().unwrap();
    assert_ne!(new_token, token);
    // Exactly one rotation: the session's previous jti is the presented one.
    let id_tokens: HashSet<String> = responses.iter().map(|r| r.id_token()).collect();
    assert_eq!(id_tokens.len(), 50, "each caller gets a fresh id token");
    let session = app
        .sessions()
        .whitelist
        .session(&user_of(&signup), &sid_of(&signup))
        .await
        .unwrap()
        .unwrap();
    // The record keeps the previous jti's first 8 bytes (16 hex digits).
    let previous: String = session.previous_jti.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(previous, claims_of(&token)["jti"].as_str().unwrap()[..16]);
    assert_eq!(
        shared::whitelist::id_string(&session.jti).unwrap(),
        claims_of(&new_token)["jti"].as_str().unwrap()
    );

    let next = app.refresh(&new_token).await;
    assert_eq!(next.status, 200, "the shared new token refreshes normally");
    assert_ne!(next.refresh_token(), new_token);
}

async fn reuse_after_the_grace_window_revokes_that_session_only(target: Target) {
    let app = App::adjusted(target, |s| s.refresh_grace = Duration::from_secs(1)).await;
    let (email, signup) = app.new_user().await;
    let other = app.signin(&email, PASSWORD).await;

    let old = signup.refresh_token();
    let rotated = app.refresh(&old).await;
    assert_eq!(rotated.status, 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;

    app.refresh(&old).await.assert_error(401, "invalid-token");
    // The thief's copy and the victim's newest token are both dead now.
    app.refresh(&rotated.refresh_token())
        .await
        .assert_error(401, "invalid-token");
    assert!(!live_sessions(&app, &user_of(&signup)).await.contains(&sid_of(&signup)));
    // Other sessions of the user live on.
    assert_eq!(app.refresh(&other.refresh_token()).await.status, 200);
}

async fn reuse_within_the_grace_window_returns_the_winners_token(target: Target) {
    let app = App::new(target).await;
    let (_, signup) = app.new_user().await;
    let first = app.refresh(&signup.refresh_token()).await;
    let again = app.refresh(&signup.refresh_token()).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.refresh_token(), first.refresh_token(), "re-minted byte for byte");
    assert_ne!(again.id_token(), first.id_token(), "with a fresh id token");
}

async fn the_eleventh_session_evicts_the_least_recently_used(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let mut sessions = vec![signup];
    for _ in 0..9 {
        sessions.push(app.signin(&email, PASSWORD).await);
    }
    // Using the oldest session makes the second one the least recently used.
    let refreshed = app.refresh(&sessions[0].refresh_token()).await;
    assert_eq!(refreshed.status, 200);
    let user_id = user_of(&sessions[0]);
    assert_eq!(live_sessions(&app, &user_id).await.len(), 10);

    let eleventh = app.signin(&email, PASSWORD).await;
    assert_eq!(eleventh.status, 200);
    let live = live_sessions(&app, &user_id).await;
    assert_eq!(live.len(), 10);
    assert!(
        !live.contains(&sid_of(&sessions[1])),
        "the least recently used session is gone"
    );
    assert!(live.contains(&sid_of(&sessions[0])));
    assert!(live.contains(&sid_of(&eleventh)));
    app.refresh(&sessions[1].refresh_token())
        .await
        .assert_error(401, "invalid-token");
}

async fn revoke_all_ends_every_session_of_the_user(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let (_, bystander) = app.new_user().await;
    let others: Vec<TestResponse> = futures_util::future::join_all((0..3).map(|_| app.signin(&email, PASSWORD))).await;
    let response = app.revoke_all(&signup.id_token()).await;
    assert_eq!(response.status, 204, "{response:?}");
    assert!(live_sessions(&app, &user_of(&signup)).await.is_empty());
    for session in others.iter().chain([&signup]) {
        app.refresh(&session.refresh_token())
            .await
            .assert_error(401, "invalid-token");
    }
    assert_eq!(
        app.refresh(&bystander.refresh_token()).await.status,
        200,
        "other users keep their sessions"
    );
    app.call(Function::RevokeAll, request("POST", "/revoke-all", &[], None))
        .await
        .assert_error(401, "invalid-token");
    app.revoke_all(&signup.refresh_token())
        .await
        .assert_error(401, "invalid-token");
}

async fn refresh_past_the_absolute_lifetime_is_401(target: Target) {
    let app = App::adjusted(target, |s| s.session_lifetime = Duration::from_secs(2)).await;
    let (_, signup) = app.new_user().await;
    let refreshed = app.refresh(&signup.refresh_token()).await;
    assert_eq!(refreshed.status, 200);
    let claims = claims_of(&refreshed.refresh_token());
    assert!(
        claims["exp"].as_u64().unwrap() <= claims_of(&signup.refresh_token())["exp"].as_u64().unwrap(),
        "rotation never extends"
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    app.refresh(&refreshed.refresh_token())
        .await
        .assert_error(401, "invalid-token");
}

async fn sessions_end_on_their_own_and_redis_drops_the_last_one(target: Target) {
    // A session ends at its token's `exp`, a whole second: between 3 and 4 s after
    // it opened here. The second session opens 2 s after the first, so at 4.1 s the
    // first has ended and the second has at least 0.9 s to go.
    let app = App::adjusted(target, |s| {
        s.refresh_token_ttl = Duration::from_secs(4);
        s.session_cap = 2;
    })
    .await;
    let started = tokio::time::Instant::now();
    let (email, first) = app.new_user().await;
    let user_id = user_of(&first);
    tokio::time::sleep_until(started + Duration::from_secs(2)).await;
    let second = app.signin(&email, PASSWORD).await;
    tokio::time::sleep_until(started + Duration::from_millis(4100)).await;

    // The first session ended on its own: it no longer counts toward the cap of 2,
    // so a new sign-in evicts nobody, and it is gone from Redis.
    let third = app.signin(&email, PASSWORD).await;
    let mut live = live_sessions(&app, &user_id).await;
    live.sort();
    let mut expected = vec![sid_of(&second), sid_of(&third)];
    expected.sort();
    assert_eq!(live, expected);
    app.refresh(&first.refresh_token())
        .await
        .assert_error(401, "invalid-token");
    let mut redis = app.redis().await;
    let sessions_key = shared::whitelist::sessions_key(&user_id);
    let fields: usize = redis::cmd("HLEN")
        .arg(&sessions_key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(fields, 2 + 2, "two sessions, the email and its verified flag");

    // When the last session ends, Redis drops the user's whitelist by itself.
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let exists: usize = redis::cmd("EXISTS")
        .arg(&sessions_key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(exists, 0);
}

async fn failed_signins_are_rate_limited_per_email_and_address_and_per_address(target: Target) {
    let app = App::adjusted(target, |s| {
        s.signin_limit_per_email = 3;
        s.signin_limit_per_ip = 6;
    })
    .await;
    let (email, _) = app.new_user().await;
    let attacker = format!("203.0.113.{}", rand_octet());
    for _ in 0..3 {
        app.signin_from(&email, "wrong password!", &attacker)
            .await
            .assert_error(401, "invalid-credentials");
    }
    let limited = app.signin_from(&email, "wrong password!", &attacker).await;
    limited.assert_error(429, "too-many-requests");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after));
    // The right password from the same address waits out the window too.
    app.signin_from(&email, PASSWORD, &attacker)
        .await
        .assert_error(429, "too-many-requests");

    // A different email from another address is unaffected.
    let (other, _) = app.new_user().await;
    assert_eq!(
        app.signin_from(&other, PASSWORD, &format!("198.18.0.{}", rand_octet()))
            .await
            .status,
        200
    );

    // Per address: the attacker's address is spent after 6 attempts, whatever the email.
    app.signin_from(&unique_email(), "wrong password!", &attacker)
        .await
        .assert_error(401, "invalid-credentials");
    app.signin_from(&unique_email(), "wrong password!", &attacker)
        .await
        .assert_error(429, "too-many-requests");
}

fn rand_octet() -> u8 {
    uuid::Uuid::new_v4().as_bytes()[0] % 250 + 1
}

async fn a_successful_signin_does_not_reset_the_address_counter(target: Target) {
    let app = App::adjusted(target, |s| s.signin_limit_per_ip = 3).await;
    let (email, _) = app.new_user().await;
    let ip = format!("100.64.{}.{}", rand_octet(), rand_octet());
    app.signin_from(&unique_email(), "wrong password!", &ip)
        .await
        .assert_error(401, "invalid-credentials");
    app.signin_from(&unique_email(), "wrong password!", &ip)
        .await
        .assert_error(401, "invalid-credentials");
    assert_eq!(app.signin_from(&email, PASSWORD, &ip).await.status, 200);
    app.signin_from(&unique_email(), "wrong password!", &ip)
        .await
        .assert_error(429, "too-many-requests");
}

async fn unknown_email_and_wrong_password_get_the_same_answer(target: Target) {
    let app = App::new(target).await;
    let (email, _) = app.new_user().await;
    let wrong_password = app.signin(&email, "not the password").await;
    let unknown_email = app.signin(&unique_email(), "not the password").await;
    wrong_password.assert_error(401, "invalid-credentials");
    unknown_email.assert_error(401, "invalid-credentials");
    assert_eq!(wrong_password.body, unknown_email.body);
}

async fn the_authorizer_allows_only_live_sessions(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let allowed = app.authorize(&signup.id_token()).await;
    assert!(allowed.is_authorized);
    let context = allowed.context.unwrap();
    assert_eq!(context.sub, user_of(&signup));
    assert_eq!(context.sid, sid_of(&signup));

    // After sign-out.
    let signin = app.signin(&email, PASSWORD).await;
    assert!(app.authorize(&signin.id_token()).await.is_authorized);
    assert_eq!(app.signout(&signin.refresh_token()).await.status, 204);
    assert!(!app.authorize(&signin.id_token()).await.is_authorized);

    // After revoke-all.
    assert_eq!(app.revoke_all(&signup.id_token()).await.status, 204);
    assert!(!app.authorize(&signup.id_token()).await.is_authorized);

    // A refresh token, an unknown key, an expired token, garbage.
    let (_, live) = app.new_user().await;
    assert!(!app.authorize(&live.refresh_token()).await.is_authorized);
    let mut claims = claims_of(&live.id_token());
    let foreign_key = jsonwebtoken::EncodingKey::from_rsa_pem(rsa_private_pem().as_bytes()).unwrap();
    let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
    header.kid = Some(keys().current_kid.clone());
    let forged = jsonwebtoken::encode(&header, &claims, &foreign_key).unwrap();
    assert!(
        !app.authorize(&forged).await.is_authorized,
        "signed by a key we do not have"
    );
    header.kid = Some("unknown-kid".into());
    assert!(
        !app.authorize(&jsonwebtoken::encode(&header, &claims, &foreign_key).unwrap())
            .await
            .is_authorized
    );
    let own_key = jsonwebtoken::EncodingKey::from_rsa_pem(keys().current_private_pem.as_bytes()).unwrap();
    header.kid = Some(keys().current_kid.clone());
    claims["iat"] = (claims["iat"].as_u64().unwrap() - 3600).into();
    claims["exp"] = (claims["iat"].as_u64().unwrap() + 900).into();
    assert!(
        !app.authorize(&jsonwebtoken::encode(&header, &claims, &own_key).unwrap())
            .await
            .is_authorized,
        "expired"
    );
    assert!(!app.authorize("not-a-jwt").await.is_authorized);
    assert!(app.authorize(&live.id_token()).await.is_authorized);
}

async fn the_session_list_shows_the_users_own_sessions_and_marks_the_current_one(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let (_, stranger) = app.new_user().await;
    let signin = app.signin(&email, PASSWORD).await;
    let response = app.list_sessions(&signin.id_token()).await;
    assert_eq!(response.status, 200, "{response:?}");
    let sessions = response.body["sessions"].as_array().unwrap();
    let ids: HashSet<&str> = sessions.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, HashSet::from([sid_of(&signup).as_str(), sid_of(&signin).as_str()]));
    assert!(!ids.contains(sid_of(&stranger).as_str()));
    for session in sessions {
        let current = session["id"] == sid_of(&signin).as_str();
        assert_eq!(session["current"], current);
        assert!(session["createdAt"].as_str().unwrap().ends_with('Z'));
        assert!(session["lastUsedAt"].as_str().is_some());
        // A user agent the device table does not know (see the test below for ones it does).
        assert_eq!(session["userAgent"], "Other");
        assert_eq!(session["ipAddress"], "198.51.100.7");
    }
    app.call(Function::Sessions, bearer("GET", "/sessions", "garbage"))
        .await
        .assert_error(401, "invalid-token");
    app.call(Function::Sessions, bearer("POST", "/sessions", &signin.id_token()))
        .await
        .assert_error(405, "method-not-allowed");
}

async fn a_token_signed_by_the_previous_key_still_verifies(target: Target) {
    let app = App::new(target).await;
    let (_, signup) = app.new_user().await;
    let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
    header.kid = Some(keys().previous_kid.clone());
    let previous_key = jsonwebtoken::EncodingKey::from_rsa_pem(keys().previous_private_pem.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&header, &claims_of(&signup.id_token()), &previous_key).unwrap();
    let jwks = app.get("/.well-known/jwks.json").await;
    let kids: Vec<&str> = jwks.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec![keys().current_kid.as_str(), keys().previous_kid.as_str()]);
    verify_with_jwks(&jwks.body, &token);
    assert_eq!(app.list_sessions(&token).await.status, 200);
    assert!(app.authorize(&token).await.is_authorized);
}

/// The Redis client retries a script once when it finds its connection dead, so a
/// session opening whose reply was lost runs twice: the second run must change
/// nothing, not count the new session against the cap and evict another one.
#[tokio::test]
async fn a_retried_session_opening_evicts_no_other_session() {
    let app = App::adjusted(Target::Standalone, |s| s.session_cap = 2).await;
    let (email, first) = app.new_user().await;
    let user_id = user_of(&first);
    let open_session = redis::Script::new(concat!(
        include_str!("../../shared/src/whitelist/session_record.lua"),
        "\n",
        include_str!("../../shared/src/whitelist/open_session.lua")
    ));
    let (sid, jti, now_ms) = ([7u8; 16], [8u8; 16], shared::time::now_millis());
    let mut redis = app.redis().await;
    for run in 0..2 {
        let evicted: u64 = open_session
            .key(shared::whitelist::sessions_key(&user_id))
            .arg(&sid[..])
            .arg(&jti[..])
            .arg(now_ms)
            .arg(now_ms / 1000 + 3600)
            .arg(2)
            .arg(&shared::whitelist::kid_tag(&keys().refresh_kid)[..])
            .arg(&email)
            .arg(0)
            .arg(&[0u8; 2][..])
            .arg(&[192u8, 0, 2, 1][..])
            .arg("0")
            .arg(now_ms)
            .invoke_async(&mut redis)
            .await
            .unwrap();
        assert_eq!(evicted, 0, "run {run}");
    }
    let mut live = live_sessions(&app, &user_id).await;
    live.sort();
    let mut expected = vec![sid_of(&first), shared::whitelist::id_string(&sid).unwrap()];
    expected.sort();
    assert_eq!(live, expected);
}

// ---------------------------------------------------------------------------------
// Issue 19: a user's whole whitelist is one hash whose values stay within Redis's
// 64-byte listpack limit, whatever the address family, the user agent or the kid.

/// A real browser's user agent, padded the way some are (extensions, embedded apps):
/// 256 characters, the most the edge keeps.
fn long_chrome_user_agent() -> String {
    let ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) \
              Chrome/131.0.0.0 Safari/537.36";
    format!("{ua} {}", "x".repeat(256 - ua.len() - 1))
}

/// A random address of the documentation prefix 2001:db8::/32 (`prefix` fixes its
/// first 64 bits when given).
fn ipv6(prefix: Option<&str>) -> String {
    let r = uuid::Uuid::new_v4();
    let b = r.as_bytes();
    let word = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    let head = prefix.map_or_else(|| format!("2001:db8:{:x}:{:x}", word(0), word(2)), str::to_string);
    format!("{head}:{:x}:{:x}:{:x}:{:x}", word(4), word(6), word(8), word(10) | 1)
}

fn ipv4() -> String {
    let b = *uuid::Uuid::new_v4().as_bytes();
    format!("10.{}.{}.{}", b[0], b[1], b[2] % 250 + 1)
}

/// `POST /signin` from this address with this user agent.
async fn signin_as(app: &App, email: &str, ip: &str, user_agent: &str) -> TestResponse {
    let body = serde_json::json!({"email": email, "password": PASSWORD}).to_string();
    let headers = [("content-type", "application/json"), ("user-agent", user_agent)];
    let response = app
        .call(
            Function::Signin,
            request_from("POST", "/signin", &headers, Some(&body), ip),
        )
        .await;
    assert_eq!(response.status, 200, "{response:?}");
    response
}

/// The test key document with this kid for the refresh secret (the same secret).
fn keys_json_with_refresh_kids(kids: &[&str]) -> String {
    let mut document: Value = serde_json::from_str(&keys_json()).unwrap();
    let secret = document["refreshSecrets"][0]["secret"].clone();
    document["refreshSecrets"] = kids
        .iter()
        .map(|kid| serde_json::json!({"kid": kid, "secret": secret}))
        .collect();
    document.to_string()
}

async fn app_with_refresh_kids(target: Target, kids: &[&str]) -> App {
    let mut settings = settings_on(
        redis_settings(target),
        Some(env("TEST_DYNAMODB_ENDPOINT")),
        keys_json_with_refresh_kids(kids),
    );
    settings.dynamodb.table = shared_table().await;
    App::with(settings).await
}

/// `MEMORY USAGE` and `OBJECT ENCODING` of the user's whitelist, and its longest value.
async fn whitelist_footprint(app: &App, user_id: &str) -> (u64, String, usize) {
    let mut redis = app.redis().await;
    let key = shared::whitelist::sessions_key(user_id);
    let bytes: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&key)
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut redis)
        .await
        .unwrap();
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    let fields: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL").arg(&key).query_async(&mut redis).await.unwrap();
    let longest = fields.iter().map(|(f, v)| f.len().max(v.len())).max().unwrap_or(0);
    (bytes, encoding, longest)
}

async fn a_users_whole_whitelist_stays_listpack_encoded_with_ipv6_long_user_agents_and_a_long_kid(target: Target) {
    // A kid far past 64 bytes: a record keeps a 4-byte tag of it.
    let long_kid = format!("refresh-secret-{}", "k".repeat(200));
    let app = app_with_refresh_kids(target, &[&long_kid]).await;
    let ua = long_chrome_user_agent();
    let email = unique_email();
    let body = serde_json::json!({"email": email, "password": PASSWORD}).to_string();
    let headers = [("content-type", "application/json"), ("user-agent", ua.as_str())];
    let signup = app
        .call(
            Function::Signup,
            request_from("POST", "/signup", &headers, Some(&body), &ipv6(None)),
        )
        .await;
    assert_eq!(signup.status, 201, "{signup:?}");
    let mut sessions = vec![signup];
    for _ in 1..app.settings.session_cap {
        sessions.push(signin_as(&app, &email, &ipv6(None), &ua).await);
    }
    // Each rotated once (previous jti present), from yet another IPv6 address.
    for session in &sessions {
        let rotated = app.refresh_from(&session.refresh_token(), &ipv6(None)).await;
        assert_eq!(rotated.status, 200, "{rotated:?}");
        assert_eq!(header_kid(&rotated.refresh_token()), long_kid);
    }
    let user_id = user_of(&sessions[0]);
    let (bytes, encoding, longest) = whitelist_footprint(&app, &user_id).await;
    assert_eq!(encoding, "listpack", "{bytes} B, longest value {longest} B");
    assert!(longest <= 64, "longest field or value: {longest} B");
    let per_session = bytes / u64::from(app.settings.session_cap);
    println!("IPv6, 10 sessions rotated once: {bytes} B, {per_session} B per session");
    assert!(per_session <= 120, "{per_session} B per session");

    // The same from IPv4 addresses: smaller still.
    let email_v4 = unique_email();
    let signup = app.signup(&email_v4, PASSWORD).await;
    assert_eq!(signup.status, 201);
    let mut v4_sessions = vec![signup];
    for _ in 1..app.settings.session_cap {
        v4_sessions.push(signin_as(&app, &email_v4, &ipv4(), &ua).await);
    }
    for session in &v4_sessions {
        assert_eq!(app.refresh_from(&session.refresh_token(), &ipv4()).await.status, 200);
    }
    let (bytes, encoding, longest) = whitelist_footprint(&app, &user_of(&v4_sessions[0])).await;
    assert_eq!(encoding, "listpack");
    assert!(longest <= 64, "{longest}");
    let per_session = bytes / u64::from(app.settings.session_cap);
    println!("IPv4, 10 sessions rotated once: {bytes} B, {per_session} B per session");
    assert!(per_session <= 120, "{per_session} B per session");
}

fn header_kid(token: &str) -> String {
    decode_header(token).unwrap().kid.unwrap()
}

async fn get_sessions_names_the_device_and_the_address_that_used_it_last(target: Target) {
    let app = App::new(target).await;
    let (email, _) = app.new_user().await;
    let (mac, linux) = (ipv6(None), ipv4());
    let chrome = signin_as(&app, &email, &mac, &long_chrome_user_agent()).await;
    let firefox = signin_as(
        &app,
        &email,
        &linux,
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    )
    .await;
    let listed = app.list_sessions(&firefox.id_token()).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let shown = |sid: &str| {
        listed.body["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == sid)
            .map(|s| {
                (
                    s["userAgent"].as_str().unwrap().to_string(),
                    s["ipAddress"].as_str().unwrap().to_string(),
                )
            })
            .unwrap()
    };
    let canonical = |ip: &str| ip.parse::<std::net::IpAddr>().unwrap().to_string();
    assert_eq!(
        shown(&sid_of(&chrome)),
        ("Chrome 131, macOS".to_string(), canonical(&mac))
    );
    assert_eq!(
        shown(&sid_of(&firefox)),
        ("Firefox 133, Linux".to_string(), linux.clone())
    );

    // A refresh from elsewhere: the same device, the address that used it last.
    let elsewhere = ipv6(None);
    let rotated = app.refresh_from(&chrome.refresh_token(), &elsewhere).await;
    assert_eq!(rotated.status, 200);
    let listed = app.list_sessions(&firefox.id_token()).await;
    let chrome_now = listed.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sid_of(&chrome).as_str())
        .unwrap()
        .clone();
    assert_eq!(chrome_now["userAgent"], "Chrome 131, macOS");
    assert_eq!(chrome_now["ipAddress"], canonical(&elsewhere));
}

async fn the_grace_reply_goes_only_to_the_rotating_address_over_ipv4_and_ipv6(target: Target) {
    let app = App::adjusted(target, |s| s.refresh_grace = Duration::from_secs(5)).await;
    let v6_client = ipv6(None);
    // The thief shares the client's /64: only the whole address counts.
    let v6_prefix = v6_client.split(':').take(4).collect::<Vec<_>>().join(":");
    let v4_client = ipv4();
    let v4_neighbour = {
        let (head, last) = v4_client.rsplit_once('.').unwrap();
        format!("{head}.{}", (last.parse::<u8>().unwrap() % 250) + 2)
    };
    for (client, thief) in [(v4_client, v4_neighbour), (v6_client, ipv6(Some(&v6_prefix)))] {
        assert_ne!(client, thief);
        let (_, signup) = app.new_user().await;
        let rotated = app.refresh_from(&signup.refresh_token(), &client).await;
        assert_eq!(rotated.status, 200, "{rotated:?}");
        // The same address inside the window: the same new refresh token, byte for byte.
        let again = app.refresh_from(&signup.refresh_token(), &client).await;
        assert_eq!(again.status, 200, "{client}: {again:?}");
        assert_eq!(again.refresh_token(), rotated.refresh_token(), "{client}");
        // A neighbour inside the window: refused, and the session stays.
        app.refresh_from(&signup.refresh_token(), &thief)
            .await
            .assert_error(401, "invalid-token");
        let next = app.refresh_from(&rotated.refresh_token(), &thief).await;
        assert_eq!(next.status, 200, "the current token still rotates: {next:?}");
        // Now the neighbour made the last rotation: the grace reply is its alone.
        app.refresh_from(&rotated.refresh_token(), &client)
            .await
            .assert_error(401, "invalid-token");
        let again = app.refresh_from(&rotated.refresh_token(), &thief).await;
        assert_eq!(again.refresh_token(), next.refresh_token(), "{thief}");
    }
}

/// A grace reply re-mints the winner's token with the winner's secret, even when the
/// instance that answers it signs with another one (a key rotation deployed in
/// between): the record's kid tag is resolved among the secrets every instance holds.
async fn a_grace_reply_re_mints_with_the_winners_secret_across_a_key_rotation(target: Target) {
    let before = app_with_refresh_kids(target, &["rt-old"]).await;
    let after = app_with_refresh_kids(target, &["rt-new", "rt-old"]).await;
    let (_, signup) = before.new_user().await;
    let rotated = before.refresh(&signup.refresh_token()).await;
    assert_eq!(header_kid(&rotated.refresh_token()), "rt-old");
    let again = after.refresh(&signup.refresh_token()).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.refresh_token(), rotated.refresh_token());
    let next = after.refresh(&rotated.refresh_token()).await;
    assert_eq!(header_kid(&next.refresh_token()), "rt-new");
}

/// A record of the layout before issue 19 (56 bytes + kid; the client metadata in a
/// second hash) is never live under this one: its token is refused and the record
/// dropped, it is listed nowhere, and the user's other sessions are untouched. (A
/// kid of 7 bytes makes it exactly as long as an IPv6 record of this layout.)
async fn a_session_of_the_previous_layout_is_never_live(target: Target) {
    let app = App::new(target).await;
    let (_, signup) = app.new_user().await;
    let user_id = user_of(&signup);
    let key = shared::whitelist::sessions_key(&user_id);
    let (old_sid, old_jti) = ([9u8; 16], [3u8; 16]);
    let now_ms = shared::time::now_millis();
    let old_record = {
        let mut bytes = old_jti.to_vec();
        bytes.extend([0u8; 16]);
        bytes.extend(&now_ms.to_be_bytes()[2..]);
        bytes.extend(&now_ms.to_be_bytes()[2..]);
        bytes.extend(&((now_ms / 1000 + 3600) as u32).to_be_bytes());
        bytes.extend([0u8; 8]);
        bytes.extend(b"rt-2026");
        bytes
    };
    let mut redis = app.redis().await;
    let write_old = || {
        redis::cmd("HSET")
            .arg(&key)
            .arg(&old_sid[..])
            .arg(&old_record[..])
            .clone()
    };
    let has_old = || redis::cmd("HEXISTS").arg(&key).arg(&old_sid[..]).clone();
    write_old().query_async::<()>(&mut redis).await.unwrap();
    let old_session_id = shared::whitelist::id_string(&old_sid).unwrap();
    let whitelist = &app.sessions().whitelist;
    assert!(!whitelist.is_live(&user_id, &old_session_id, now_ms).await.unwrap());
    let token = app
        .sessions()
        .tokens
        .mint_refresh_token(&shared::tokens::RefreshGrant {
            user_id: user_id.clone(),
            session_id: old_session_id,
            jti: shared::whitelist::id_string(&old_jti).unwrap(),
            issued_at: now_ms / 1000,
            expires_at: now_ms / 1000 + 3600,
            kid: keys().refresh_kid.clone(),
        })
        .unwrap();
    app.refresh(&token).await.assert_error(401, "invalid-token");
    assert!(
        !has_old().query_async::<bool>(&mut redis).await.unwrap(),
        "dropped by the refresh"
    );

    write_old().query_async::<()>(&mut redis).await.unwrap();
    assert_eq!(live_sessions(&app, &user_id).await, [sid_of(&signup)]);
    assert!(
        !has_old().query_async::<bool>(&mut redis).await.unwrap(),
        "dropped by the listing"
    );
    assert_eq!(app.refresh(&signup.refresh_token()).await.status, 200);
}

on_both_redis_modes!(
    full_flow_ends_with_a_dead_token_after_signout,
    concurrent_refreshes_rotate_once_and_all_get_the_same_token,
    reuse_after_the_grace_window_revokes_that_session_only,
    reuse_within_the_grace_window_returns_the_winners_token,
    the_eleventh_session_evicts_the_least_recently_used,
    revoke_all_ends_every_session_of_the_user,
    refresh_past_the_absolute_lifetime_is_401,
    sessions_end_on_their_own_and_redis_drops_the_last_one,
    failed_signins_are_rate_limited_per_email_and_address_and_per_address,
    a_successful_signin_does_not_reset_the_address_counter,
    unknown_email_and_wrong_password_get_the_same_answer,
    the_authorizer_allows_only_live_sessions,
    the_session_list_shows_the_users_own_sessions_and_marks_the_current_one,
    a_token_signed_by_the_previous_key_still_verifies,
    a_users_whole_whitelist_stays_listpack_encoded_with_ipv6_long_user_agents_and_a_long_kid,
    get_sessions_names_the_device_and_the_address_that_used_it_last,
    the_grace_reply_goes_only_to_the_rotating_address_over_ipv4_and_ipv6,
    a_grace_reply_re_mints_with_the_winners_secret_across_a_key_rotation,
    a_session_of_the_previous_layout_is_never_live,
);
