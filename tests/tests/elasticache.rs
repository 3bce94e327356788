//! What ElastiCache adds: TLS with certificate verification, AUTH, and a cluster
//! whose nodes fail.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use e2e::process::{free_cluster_port, free_port, run_dir, ServerProcess};
use e2e::*;

fn openssl(dir: &Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "openssl {args:?}");
}

/// A CA (`<name>-ca.pem`) and, signed by it, a certificate for 127.0.0.1.
fn make_ca_and_server_cert(dir: &Path, name: &str) {
    let ca_key = format!("{name}-ca.key");
    let ca = format!("{name}-ca.pem");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &ca_key,
            "-out",
            &ca,
            "-days",
            "2",
            "-subj",
            &format!("/CN={name} test CA"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}-server.key"),
            "-out",
            &format!("{name}-server.csr"),
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}-server.csr"),
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &format!("{name}-server.pem"),
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
}

#[tokio::test]
async fn the_service_connects_over_tls_with_auth_and_verifies_the_certificate() {
    let dir = run_dir();
    make_ca_and_server_cert(&dir, "trusted");
    make_ca_and_server_cert(&dir, "other");
    let port = free_port();
    let path = |f: &str| dir.join(f).display().to_string();
    let _redis = ServerProcess::redis_on(
        port,
        &[
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            &path("trusted-server.pem"),
            "--tls-key-file",
            &path("trusted-server.key"),
            "--tls-ca-cert-file",
            &path("trusted-ca.pem"),
            "--tls-auth-clients",
            "no",
            "--requirepass",
            "s3cret-pass",
        ],
    );

    let mut settings = e2e::settings(Target::Standalone);
    settings.dynamodb.table = shared_table().await;
    settings.redis.url = format!("rediss://:s3cret-pass@127.0.0.1:{port}");
    settings.redis.ca_cert_file = Some(path("trusted-ca.pem"));
    let app = App::with(settings.clone()).await;
    let (_, signup) = app.new_user().await;
    assert_eq!(app.refresh(&signup.refresh_token()).await.status, 200);

    // A certificate from another CA is refused: no session can be opened.
    settings.redis.ca_cert_file = Some(path("other-ca.pem"));
    let untrusting = App::with(settings.clone()).await;
    untrusting
        .signup(&unique_email(), PASSWORD)
        .await
        .assert_error(503, "service-unavailable");

    // A wrong password is refused too, and never echoed.
    settings.redis.ca_cert_file = Some(path("trusted-ca.pem"));
    settings.redis.url = format!("rediss://:wrong-pass@127.0.0.1:{port}");
    let unauthenticated = App::with(settings).await;
    let response = unauthenticated.refresh(&signup.refresh_token()).await;
    response.assert_error(503, "service-unavailable");
    assert!(!response.raw_body.contains("pass"));
}

struct Cluster {
    nodes: Vec<ServerProcess>,
}

impl Cluster {
    fn start() -> Self {
        Self::with_replicas(0)
    }

    /// Three primaries, each with `replicas` replicas (nodes 3.. are the replicas).
    fn with_replicas(replicas: usize) -> Self {
        let nodes: Vec<ServerProcess> = (0..3 * (1 + replicas))
            .map(|_| {
                let port = free_cluster_port();
                ServerProcess::redis_on(
                    port,
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "1000",
                    ],
                )
            })
            .collect();
        let addresses: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        // Ready when every node says so (one node's view converges before the others').
        for _ in 0..100 {
            let ready = nodes.iter().all(|node| {
                let info = Command::new("redis-cli")
                    .args(["-p", &node.port.to_string(), "cluster", "info"])
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok")
            });
            if ready {
                return Cluster { nodes };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the cluster did not become ready");
    }
}

#[tokio::test]
async fn a_cluster_node_failing_during_refreshes_never_gives_a_500_or_a_double_rotation() {
    let mut cluster = Cluster::start();
    let app = App::adjusted(Target::Cluster, |s| {
        s.redis.url = cluster.nodes[0].redis_url();
        s.redis.cluster_seeds = cluster.nodes[1..].iter().map(|n| n.redis_url()).collect();
    })
    .await;

    // Enough users that some live on every node.
    let mut users = vec![];
    for _ in 0..12 {
        users.push(app.new_user().await.1);
    }
    let victim = 1;
    let refreshes =
        futures_util::future::join_all(users.iter().flat_map(|u| (0..5).map(move |_| u.refresh_token())).map(
            |token| {
                let app = &app;
                async move { (token.clone(), app.refresh(&token).await) }
            },
        ));
    let kill = async {
        tokio::time::sleep(Duration::from_millis(5)).await;
        cluster.nodes[victim].stop();
    };
    let (results, ()) = tokio::join!(refreshes, kill);

    let mut new_token_of = std::collections::HashMap::new();
    for (token, response) in &results {
        assert!(response.status == 200 || response.status == 503, "{response:?}");
        if response.status == 200 {
            let previous = new_token_of.insert(token.clone(), response.refresh_token());
            if let Some(previous) = previous {
                assert_eq!(previous, response.refresh_token(), "one token rotated twice");
            }
        }
    }
    // After the failure, users on the surviving nodes go on; none gets a 500.
    for user in &users {
        let response = app.refresh(&user.refresh_token()).await;
        assert_ne!(response.status, 500, "{response:?}");
    }
}

/// ElastiCache Serverless lists reader endpoints (port 6380) in CLUSTER SLOTS; a
/// security group that drops that port makes every connection to them hang. A
/// replica that never answers must neither fail nor delay a request: the client
/// talks to primaries only.
#[tokio::test]
async fn an_unreachable_replica_in_cluster_slots_neither_fails_nor_delays_a_request() {
    let cluster = Cluster::with_replicas(1);
    // Wait until CLUSTER SLOTS lists every replica, then make them unreachable.
    for _ in 0..100 {
        let slots = Command::new("redis-cli")
            .args(["-p", &cluster.nodes[0].port.to_string(), "cluster", "slots"])
            .output()
            .unwrap();
        let listed = String::from_utf8_lossy(&slots.stdout);
        if cluster.nodes[3..].iter().all(|n| listed.contains(&n.port.to_string())) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for replica in &cluster.nodes[3..] {
        replica.pause();
    }
    let app = App::adjusted(Target::Cluster, |s| {
        s.redis.url = cluster.nodes[0].redis_url();
        s.redis.cluster_seeds = vec![cluster.nodes[1].redis_url()];
    })
    .await;
    let started = std::time::Instant::now();
    let (_, signup) = app.new_user().await;
    let refreshed = app.refresh(&signup.refresh_token()).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    // Waiting on a replica would cost the connect timeout (500 ms) at least; a
    // sign-up (argon2) and a refresh take well under it here.
    let elapsed = started.elapsed();
    assert!(elapsed < app.settings.redis.connect_timeout * 2, "took {elapsed:?}");
    for replica in &cluster.nodes[3..] {
        replica.resume();
    }
}
