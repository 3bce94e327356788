//! `POST /password/change` and `DELETE /account`: the owner proves the password again.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    shared::runtime::run_http(
        shared::context::AccountContext::from_env().await,
        shared::api::account::handle,
    )
    .await
}
