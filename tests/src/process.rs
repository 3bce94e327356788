//! Servers a fault test owns: it can stop, restart and pause them without touching
//! the services other tests share. Killed on drop; loopback only.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A free port whose cluster-bus twin (port + 10000) is free too.
pub fn free_cluster_port() -> u16 {
    for _ in 0..100 {
        let port = free_port();
        if port < 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair for a cluster node");
}

pub fn run_dir() -> PathBuf {
    let base = std::env::var("TEST_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    let dir = base.join(format!("proc-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits (bounded) until something accepts TCP connections on the port.
pub fn wait_for_port(port: u16, within: Duration) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on 127.0.0.1:{port} after {within:?}");
}

pub struct ServerProcess {
    pub port: u16,
    child: Option<Child>,
    /// Working directory (DynamoDB Local writes a metadata file into it).
    dir: PathBuf,
    command: Vec<String>,
    ready_within: Duration,
}

impl ServerProcess {
    fn spawn(port: u16, command: Vec<String>, ready_within: Duration) -> Self {
        let mut server = ServerProcess {
            port,
            child: None,
            command,
            ready_within,
            dir: run_dir(),
        };
        server.start();
        server
    }

    /// A standalone redis-server (with extra arguments, e.g. TLS).
    pub fn redis(extra: &[&str]) -> Self {
        let port = free_port();
        Self::redis_on(port, extra)
    }

    pub fn redis_on(port: u16, extra: &[&str]) -> Self {
        let dir = run_dir();
        let mut command: Vec<String> = vec![
            "redis-server".into(),
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            "".into(),
            "--appendonly".into(),
            "no".into(),
            "--dir".into(),
            dir.display().to_string(),
        ];
        command.extend(extra.iter().map(|s| s.to_string()));
        Self::spawn(port, command, Duration::from_secs(10))
    }

    /// A DynamoDB Local of its own (in memory).
    pub fn dynamodb() -> Self {
        let dir = crate::env("DYNAMODB_LOCAL_DIR");
        let port = free_port();
        let command = vec![
            "java".into(),
            format!("-Djava.library.path={dir}/DynamoDBLocal_lib"),
            "-jar".into(),
            format!("{dir}/DynamoDBLocal.jar"),
            "-inMemory".into(),
            "-port".into(),
            port.to_string(),
        ];
        Self::spawn(port, command, Duration::from_secs(60))
    }

    /// moto's server: a local AWS API endpoint (here for Secrets Manager).
    pub fn moto() -> Self {
        let port = free_port();
        let command = vec![
            "moto_server".into(),
            "-H".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ];
        Self::spawn(port, command, Duration::from_secs(30))
    }

    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(&self.command[0])
            .args(&self.command[1..])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.command[0]));
        self.child = Some(child);
        wait_for_port(self.port, self.ready_within);
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill").args([signal, &pid.to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// SIGSTOP: the port still accepts TCP, but nothing ever answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A paused process ignores SIGKILL until continued on some kernels: continue first.
            let _ = Command::new("kill").args(["-CONT", &child.id().to_string()]).status();
        }
        self.stop();
    }
}
