//! Reference implementations run as they ship, in the same run: the physical floors.
//!
//! - `openssl speed -elapsed rsa2048`: OpenSSL's RSA-2048 private-key operation (what an
//!   RS256 signature costs without any JWT around it) and its public-key operation (an
//!   RS256 verification), wall-clock, averaged over the run;
//! - Debian's `argon2` CLI (the reference C implementation of the Argon2 authors) at
//!   the service's parameters: what one argon2id verification costs.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One `openssl speed` run over RSA-2048.
pub struct OpensslRsa {
    /// Mean wall-clock time of one signature (private-key operation).
    pub sign: Duration,
    /// Mean wall-clock time of one verification (public-key operation).
    pub verify: Duration,
    pub version: String,
    pub command: String,
}

/// `openssl speed -elapsed -seconds <seconds> -mr rsa2048`, parsed from its
/// machine-readable `+F2:<index>:<bits>:<signs/s>:<verifies/s>` line.
pub fn openssl_rsa2048(seconds: u32) -> Result<OpensslRsa, String> {
    let seconds = seconds.to_string();
    let args = ["speed", "-elapsed", "-seconds", &seconds, "-mr", "rsa2048"];
    let output = Command::new("openssl")
        .args(args)
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("openssl: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let rates = text
        .lines()
        .find_map(|l| l.strip_prefix("+F2:"))
        .and_then(|l| {
            let fields: Vec<&str> = l.split(':').collect();
            match fields.as_slice() {
                [_, "2048", sign, verify, ..] => Some((sign.parse::<f64>().ok()?, verify.parse::<f64>().ok()?)),
                _ => None,
            }
        })
        .filter(|(s, v)| *s > 0.0 && *v > 0.0)
        .ok_or_else(|| format!("cannot read `openssl speed` output: {text}"))?;
    let version = Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    Ok(OpensslRsa {
        sign: Duration::from_secs_f64(1.0 / rates.0),
        verify: Duration::from_secs_f64(1.0 / rates.1),
        version,
        command: format!("openssl {}", args.join(" ")),
    })
}

/// Debian's `argon2` CLI at the service's parameters, run one process at a time so
/// that the caller can interleave its runs with what it compares them to.
pub struct Argon2Cli {
    password: String,
    /// One hash, raw output (`-r`: no second hash to check it).
    raw: Vec<String>,
    /// The same process at trivial parameters (`-t 1 -k 8`): exec, stdin, exit.
    trivial: Vec<String>,
    /// The CLI's full output, which reports the hash's CPU time (`clock()`, 1 ms
    /// resolution) and then verifies it.
    full: Vec<String>,
    pub package: String,
}

const SALT: &str = "bench-salt-16byt";

fn argon2_once(password: &str, args: &[String]) -> Result<(Duration, String), String> {
    let started = Instant::now();
    let mut child = Command::new("argon2")
        .arg(SALT)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("argon2: {e} (Debian's package `argon2`: apt-get install argon2)"))?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .map_err(|e| e.to_string())?;
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        return Err(format!("argon2 failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    Ok((elapsed, String::from_utf8_lossy(&output.stdout).into_owned()))
}

impl Argon2Cli {
    /// The CLI at `m_kib`, `t`, `p`, run once each way (page cache, first load), or why not.
    pub fn new(password: &str, m_kib: u32, t: u32, p: u32) -> Result<Self, String> {
        let strings = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let (m, t, p) = (m_kib.to_string(), t.to_string(), p.to_string());
        let full = strings(&["-id", "-t", &t, "-k", &m, "-p", &p, "-l", "32"]);
        let mut raw = full.clone();
        raw.push("-r".into());
        let trivial = strings(&["-id", "-t", "1", "-k", "8", "-p", "1", "-l", "32", "-r"]);
        let package = Command::new("dpkg-query")
            .args(["-W", "-f", "${Package} ${Version}", "argon2"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "argon2 (version unknown)".into());
        let cli = Argon2Cli {
            password: password.into(),
            raw,
            trivial,
            full,
            package,
        };
        cli.hash_once()?;
        cli.trivial_once()?;
        Ok(cli)
    }

    pub fn command(&self) -> String {
        format!("argon2 <salt> {}", self.raw.join(" "))
    }

    /// Wall-clock of the process that hashes once.
    pub fn hash_once(&self) -> Result<Duration, String> {
        argon2_once(&self.password, &self.raw).map(|(d, _)| d)
    }

    /// Wall-clock of the process at trivial parameters.
    pub fn trivial_once(&self) -> Result<Duration, String> {
        argon2_once(&self.password, &self.trivial).map(|(d, _)| d)
    }

    /// The CLI's own report of its hash's CPU time.
    pub fn reported_once(&self) -> Result<Duration, String> {
        let (_, text) = argon2_once(&self.password, &self.full)?;
        text.lines()
            .find_map(|l| l.trim().strip_suffix(" seconds"))
            .and_then(|s| s.trim().parse::<f64>().ok())
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("cannot read the argon2 CLI's timing: {text}"))
    }
}
