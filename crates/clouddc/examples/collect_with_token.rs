//! The whole job for a list of servers in one call, authenticated with a token.
//!
//! ```sh
//! clouddc sim --token demo-token &      # prints: listening on http://127.0.0.1:PORT
//! cargo run -p clouddc --example collect_with_token -- \
//!     http://127.0.0.1:PORT 0123456789abcdef0123456789abcdef demo-token srv-0001 srv-0002
//! ```

use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), clouddc::Error> {
    let mut args = std::env::args().skip(1);
    let usage =
        || clouddc::Error::invalid("arguments", "usage: ENDPOINT PROJECT_ID TOKEN SERVER...");
    let endpoint = args.next().ok_or_else(usage)?;
    let project = args.next().ok_or_else(usage)?;
    let token = args.next().ok_or_else(usage)?;
    let servers: Vec<String> = args.collect();

    let client = clouddc::Client::builder()
        .endpoint(endpoint)
        .project_id(project)
        .token(token)
        .build()?;
    let options = clouddc::CollectOptions {
        output_dir: "./logs".into(),
        ..Default::default()
    };
    let mut outcomes = client.collect(servers, options, None);
    while let Some(outcome) = outcomes.next().await {
        match outcome.result {
            Ok(archive) => println!(
                "{}: {} ({} bytes, sha256 {})",
                outcome.server,
                archive.path.display(),
                archive.bytes,
                archive.sha256
            ),
            Err(error) => println!("{}: failed: {error}", outcome.server),
        }
    }
    Ok(())
}
