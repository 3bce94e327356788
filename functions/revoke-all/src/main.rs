//! `POST /revoke-all`: end every session of the user.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_http(
        shared::context::SessionContext::from_env().await,
        shared::api::revoke_all::handle,
    )
    .await
}
