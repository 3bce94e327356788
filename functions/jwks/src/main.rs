//! `GET /.well-known/jwks.json, GET /.well-known/openid-configuration`: the public keys and the discovery document.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_http(shared::context::KeyContext::from_env().await, shared::api::jwks::handle).await
}
