//! `POST /signin`: prove the password, open a session.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_http(
        shared::context::AccountContext::from_env().await,
        shared::api::signin::handle,
    )
    .await
}
