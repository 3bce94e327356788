//! (7) The intentional cost of sign-up and sign-in: argon2id at the configured
//! parameters, through `shared::password` (on tokio's blocking pool, as the handlers run it).

use std::time::Instant;

use shared::email::Password;

use crate::harness::*;
use crate::report::Section;

pub async fn run(scale: Scale) -> Section {
    let n = scale.n(20, 3);
    let password = Password::parse(e2e::PASSWORD.to_string()).unwrap();
    let mut hashes = Vec::with_capacity(n);
    let mut hash = String::new();
    for _ in 0..n + 1 {
        let started = Instant::now();
        hash = shared::password::hash(&password).await.unwrap();
        hashes.push(started.elapsed());
    }
    hashes.remove(0);
    let mut verifies = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        assert!(shared::password::verify(&password, Some(hash.clone())).await.unwrap());
        verifies.push(started.elapsed());
    }
    let mut unknown = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        assert!(!shared::password::verify(&password, None).await.unwrap());
        unknown.push(started.elapsed());
    }
    let (hashes, verifies, unknown) = (Samples::new(hashes), Samples::new(verifies), Samples::new(unknown));
    let parameters = hash.split('$').nth(3).unwrap_or("?").to_string();

    let mut section = Section::new("7. Sign-in cost: argon2id");
    section.text(format!(
        "`shared::password::hash` and `verify` with the configured parameters (`{parameters}`: m = memory in KiB, \
         t = passes, p = lanes; OWASP's minimum for argon2id), {n} runs each, release profile. Each hash holds its \
         19 MiB (m = 19456 KiB) for its whole duration. This cost is deliberate: it is what makes a leaked hash expensive to crack."
    ));
    section.table(
        &["operation", "p50", "max"],
        &[
            vec!["hash (sign-up)".into(), fmt_ms(hashes.p50()), fmt_ms(hashes.max())],
            vec![
                "verify (sign-in, known email)".into(),
                fmt_ms(verifies.p50()),
                fmt_ms(verifies.max()),
            ],
            vec![
                "verify the dummy hash (sign-in, unknown email)".into(),
                fmt_ms(unknown.p50()),
                fmt_ms(unknown.max()),
            ],
        ],
    );
    // Lambda allocates CPU in proportion to memory: 1,769 MB is one full vCPU.
    let at_512 = verifies.p50().as_secs_f64() * 1769.0 / 512.0;
    section.text(format!(
        "Sizing: a Lambda instance serves one request at a time, so a sign-in needs {:.0} ms of one full core here, \
         and 19 MiB on top of the function's resident memory. Lambda gives CPU in proportion to memory (1,769 MB = one \
         vCPU): at the 512 MB template.yaml gives sign-up and sign-in, expect about {:.0} ms per hash or verify \
         (CPU-bound, so roughly ×{:.1}), well inside their 5 s timeout.",
        verifies.p50().as_secs_f64() * 1000.0,
        at_512 * 1000.0,
        1769.0 / 512.0,
    ));
    section
}
