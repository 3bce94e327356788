//! Scripts flushed from Redis (a failover, a restart, `SCRIPT FLUSH`, or the
//! intermittent NOSCRIPT reported on ElastiCache Serverless Valkey) are loaded again
//! without failing the request: a NOSCRIPT never becomes a 500.

use e2e::*;

async fn flush_scripts(app: &App) {
    let mut redis = app.redis().await;
    let nodes: Vec<String> = match app.settings.redis.cluster {
        false => vec![app.settings.redis.url.clone()],
        true => std::iter::once(app.settings.redis.url.clone())
            .chain(app.settings.redis.cluster_seeds.iter().cloned())
            .collect(),
    };
    if nodes.len() == 1 {
        let _: () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut redis).await.unwrap();
        return;
    }
    // A cluster client sends SCRIPT FLUSH to one node; flush every primary directly.
    for node in nodes {
        let mut connection = redis::Client::open(node)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let _: () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut connection)
            .await
            .unwrap();
    }
}

async fn a_flushed_script_cache_never_fails_a_request(target: Target) {
    let app = App::new(target).await;
    let (email, signup) = app.new_user().await;
    let mut token = signup.refresh_token();
    for round in 0..3 {
        flush_scripts(&app).await;
        let refreshed = app.refresh(&token).await;
        assert_eq!(refreshed.status, 200, "round {round}: {refreshed:?}");
        token = refreshed.refresh_token();
        flush_scripts(&app).await;
        assert_eq!(app.signin(&email, PASSWORD).await.status, 200, "round {round}");
    }
}

async fn scripts_flushed_during_concurrent_calls_never_give_a_500(target: Target) {
    let app = App::new(target).await;
    let mut users = vec![];
    for _ in 0..5 {
        users.push(app.new_user().await.1.refresh_token());
    }
    let refreshes = futures_util::future::join_all(users.iter().map(|token| app.refresh(token)));
    let (results, ()) = tokio::join!(refreshes, flush_scripts(&app));
    for response in results {
        assert!(response.status == 200 || response.status == 503, "{response:?}");
    }
}

on_both_redis_modes!(
    a_flushed_script_cache_never_fails_a_request,
    scripts_flushed_during_concurrent_calls_never_give_a_500,
);
