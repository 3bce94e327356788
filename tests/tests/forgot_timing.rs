//! `POST /password/forgot` takes the same time for an unknown email as for a known
//! one (docs/contract.md: median ratio within 0.8 to 1.25). Its own test binary, so
//! no other test shares the two cores while it measures; interleaved samples and
//! medians keep it stable.

use std::time::{Duration, Instant};

use e2e::*;

const SAMPLES: usize = 41;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn forgot_takes_the_same_time_for_unknown_and_known_emails() {
    let app = App::adjusted(Target::Standalone, |s| s.code_limit_per_email = 1000).await;
    let (known, _) = app.new_user().await;
    // Warm-up: connections and scripts loaded on both paths.
    for email in [known.clone(), unique_email()] {
        assert_eq!(app.forgot_password(&email).await.status, 202);
    }
    let (mut known_times, mut unknown_times) = (vec![], vec![]);
    for round in 0..SAMPLES {
        let unknown = unique_email();
        let mut pair = [(&known, &mut known_times), (&unknown, &mut unknown_times)];
        if round % 2 == 1 {
            pair.reverse();
        }
        for (email, times) in pair {
            let started = Instant::now();
            let response = app.forgot_password(email).await;
            times.push(started.elapsed());
            assert_eq!(response.status, 202);
        }
    }
    let (known_median, unknown_median) = (median(known_times), median(unknown_times));
    let ratio = unknown_median.as_secs_f64() / known_median.as_secs_f64();
    println!("forgot: unknown {unknown_median:?}, known {known_median:?}, ratio {ratio:.3}");
    assert!(
        (0.8..=1.25).contains(&ratio),
        "unknown/known median {ratio:.2} ({unknown_median:?} / {known_median:?})"
    );
}
