//! The clients the tests build: [`clouddc::Client`]s of a simulator or of a
//! test server, and a bare `reqwest` client for raw requests.

use std::time::Duration;

use clouddc::{Client, ClientBuilder, RetryPolicy};
use clouddc_sim::SimHandle;

/// A builder for `base_url` and `project`, no credentials yet: what every test
/// client starts from.
pub fn builder(base_url: &str, project: &str) -> ClientBuilder {
    Client::builder().endpoint(base_url).project_id(project)
}

/// A builder for the simulator `sim`, no credentials yet.
pub fn of_sim(sim: &SimHandle) -> ClientBuilder {
    builder(sim.base_url(), sim.project_id())
}

/// A client of `base_url` and `project` with `token` and no retries: every
/// fault reaches the test.
pub fn without_retries(base_url: &str, project: &str, token: &str) -> Client {
    builder(base_url, project)
        .token(token)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("the client builds")
}

/// A bare `reqwest` client (the client's own TLS provider installed), each
/// request bounded by `timeout`.
pub fn http(timeout: Duration) -> reqwest::Client {
    clouddc::transport::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("a reqwest client")
}
