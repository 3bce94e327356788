//! Security events are CloudWatch metrics in the embedded metric format: each line
//! is checked here as CloudWatch would read it. (Its own test binary: the metric
//! sink is per process.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::*;
use serde_json::{json, Value};

/// The metric lines, as CloudWatch would parse them: (name, dimensions).
fn parse(lines: &[String]) -> Vec<(String, Value)> {
    lines
        .iter()
        .map(|line| {
            let line: Value = serde_json::from_str(line).expect("one JSON object per line");
            let directive = &line["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], "AccountService");
            assert!(line["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
            let name = directive["Metrics"][0]["Name"].as_str().unwrap().to_string();
            assert_eq!(directive["Metrics"][0]["Unit"], "Count");
            assert_eq!(
                line[&name], 1,
                "the value sits at the top level under the metric's name"
            );
            let mut dimensions = serde_json::Map::new();
            for key in directive["Dimensions"][0].as_array().unwrap() {
                let key = key.as_str().unwrap();
                dimensions.insert(key.into(), line[key].clone());
            }
            (name, Value::Object(dimensions))
        })
        .collect()
}

#[tokio::test]
async fn security_events_are_emitted_as_embedded_metric_format_lines() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    shared::metrics::set_sink(Box::new(move |line| sink.lock().unwrap().push(line.to_string())));
    let app = App::adjusted(Target::Standalone, |s| s.refresh_grace = Duration::from_millis(300)).await;

    let (email, signup) = app.new_user().await;
    app.signin(&email, "not the password").await;
    let signin = app.signin(&email, PASSWORD).await;
    let rotated = app.refresh(&signin.refresh_token()).await;
    app.refresh(&signin.refresh_token()).await; // grace reply
    tokio::time::sleep(Duration::from_millis(400)).await;
    app.refresh(&signin.refresh_token()).await; // reuse after the window
    app.revoke_all(&signup.id_token()).await;
    app.admin(json!({"action": "get-user", "email": email})).await;
    assert_eq!(rotated.status, 200);

    let seen = parse(&lines.lock().unwrap());
    for expected in [
        ("SignIns", json!({"Outcome": "failure"})),
        ("SignIns", json!({"Outcome": "success"})),
        ("Rotations", json!({})),
        ("GraceReplies", json!({})),
        ("ReuseDetections", json!({})),
        ("RevokeAlls", json!({})),
        ("AdminActions", json!({"Action": "get-user"})),
    ] {
        let expected = (expected.0.to_string(), expected.1);
        assert!(seen.contains(&expected), "{expected:?} not in {seen:?}");
    }
}
