//! Security events as CloudWatch metrics, in the embedded metric format (EMF): one
//! JSON line on stdout per event, which CloudWatch Logs turns into a metric. No
//! PutMetricData call on the request path, no client, no extra latency.

use std::sync::OnceLock;

use serde_json::json;

/// The metrics' namespace (template.yaml's alarm names it too).
pub const NAMESPACE: &str = "AccountService";

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// A sign-in attempt, with its outcome (`success`, `failure`, `rate-limited`).
    SignIn(&'static str),
    Rotation,
    GraceReply,
    ReuseDetected,
    RevokeAll,
    /// An operator action, by action name.
    AdminAction(&'static str),
}

type Sink = Box<dyn Fn(&str) + Send + Sync>;
static SINK: OnceLock<Sink> = OnceLock::new();

/// Where the lines go instead of stdout (set once per process; tests read them).
pub fn set_sink(sink: Sink) {
    let _ = SINK.set(sink);
}

/// The EMF line of one occurrence of `metric` at `timestamp_ms`.
pub fn line(metric: Metric, timestamp_ms: u64) -> String {
    let (name, dimension) = match metric {
        Metric::SignIn(outcome) => ("SignIns", Some(("Outcome", outcome))),
        Metric::Rotation => ("Rotations", None),
        Metric::GraceReply => ("GraceReplies", None),
        Metric::ReuseDetected => ("ReuseDetections", None),
        Metric::RevokeAll => ("RevokeAlls", None),
        Metric::AdminAction(action) => ("AdminActions", Some(("Action", action))),
    };
    let dimensions: Vec<Vec<&str>> = vec![dimension.map(|(key, _)| key).into_iter().collect()];
    let mut line = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": [{ "Name": name, "Unit": "Count" }],
            }],
        },
        name: 1,
    });
    if let Some((key, value)) = dimension {
        line[key] = json!(value);
    }
    line.to_string()
}

/// Counts one occurrence.
pub fn count(metric: Metric) {
    let line = line(metric, crate::time::now_millis());
    match SINK.get() {
        Some(sink) => sink(&line),
        None => {
            println!("{line}");
        }
    }
}
