//! The cold-start baseline: a hello-world `lambda_http` function, as `cargo lambda new` makes it.

use lambda_http::{run, service_fn, tracing, Body, Error, Request, Response};

async fn handler(_request: Request) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body("Hello, world".into())?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    run(service_fn(handler)).await
}
