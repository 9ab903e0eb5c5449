//! The whole job in one call, signed with AK/SK exactly as the official SDKs sign.
//! Region, project and keys come from the environment variables the official SDKs
//! read.
//!
//! ```sh
//! export HUAWEICLOUD_SDK_AK=... HUAWEICLOUD_SDK_SK=... HUAWEICLOUD_SDK_PROJECT_ID=...
//! export CLOUDDC_REGION=cn-east-3     # or CLOUDDC_ENDPOINT=http://127.0.0.1:PORT for `clouddc sim --ak .. --sk ..`
//! cargo run -p clouddc --example collect_with_aksk -- srv-0001 srv-0002
//! ```

use futures::StreamExt;

#[tokio::main]
async fn main() -> Result<(), clouddc::Error> {
    let servers: Vec<String> = std::env::args().skip(1).collect();
    let client = clouddc::ClientBuilder::from_env().build()?;
    let options = clouddc::CollectOptions {
        output_dir: "./logs".into(),
        ..Default::default()
    };
    let mut outcomes = client.collect(servers, options, None);
    while let Some(outcome) = outcomes.next().await {
        match outcome.result {
            Ok(archive) => println!("{}: {}", outcome.server, archive.path.display()),
            Err(error) => println!(
                "{}: failed: {error} (request id {})",
                outcome.server,
                error.request_id().unwrap_or("-")
            ),
        }
    }
    Ok(())
}
