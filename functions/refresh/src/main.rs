//! `POST /tokens`: rotate a refresh token into a new pair.

use shared::context::SessionContext;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::init_logging();
    let context = SessionContext::from_env().await.and_then(SessionContext::ready_to_sign);
    shared::runtime::run_http(context, shared::api::refresh::handle).await
}
