//! Contract driver: our client against `prism mock --errors openapi/clouddc.yaml`.
//!
//! prism validates every request against the spec and marks any violation with an
//! `sl-violations` response header (and, with `--errors`, answers it with an
//! error). This driver calls every operation (the log export's three and the
//! inventory's four) through the generated client and the
//! high-level client, forces each documented error code with `Prefer: code=N`,
//! and sends one request without credentials; it fails if any request of ours is
//! invalid or any answer is mapped to the wrong error. Run by `cargo xtask contract`.

use std::process::ExitCode;

use clouddc::ResourceId;
use clouddc::credentials::Credentials;
use clouddc::download::DownloadOptions;
use clouddc::hooks::ClientState;
use clouddc::operation::{self, Operation};
use clouddc::testing::with_response_meta;
use clouddc::types::ExportRequest;
use clouddc::{Error, Secret, generated};
use futures::StreamExt;
use reqwest::header::{HeaderMap, HeaderValue};

const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const SERVER: &str = "srv-0001";
const EXPORT: &str = "1";
const ERROR_CODES: [u16; 6] = [400, 401, 403, 404, 429, 500];

/// Results of the run: cases checked and failures seen.
#[derive(Default)]
struct Tally {
    cases: u32,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, name: &str, ok: bool, detail: impl FnOnce() -> String) {
        self.cases += 1;
        if !ok {
            self.failures.push(format!("{name}: {}", detail()));
        }
    }
}

fn raw_client(
    base: &str,
    prefer: Option<u16>,
    credentials: Option<Credentials>,
) -> generated::Client {
    let mut headers = HeaderMap::new();
    if let Some(code) = prefer {
        headers.insert(
            "prefer",
            HeaderValue::from_str(&format!("code={code}")).expect("ascii"),
        );
    }
    clouddc::transport::install_crypto_provider();
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a plain client builds");
    generated::Client::new_with_client(
        base,
        http,
        ClientState::new(credentials, Some(PROJECT.to_string())),
    )
}

fn token() -> Option<Credentials> {
    Some(Credentials::Token(Secret::new("contract-token")))
}

fn violations(headers: &HeaderMap) -> Option<String> {
    headers
        .get("sl-violations")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Calls one operation; returns the status and headers of the answer.
async fn call(
    client: &generated::Client,
    operation: Operation,
) -> Result<(u16, HeaderMap), String> {
    let project = ResourceId::try_from(PROJECT).expect("valid");
    let server = ResourceId::try_from(SERVER).expect("valid");
    let export = ResourceId::try_from(EXPORT).expect("valid");
    let range = clouddc::types::DownloadServerLogsRange::try_from("bytes=0-").expect("valid");
    let outcome = match operation {
        operation::EXPORT => client
            .export_server_logs(&project, &server, None, &ExportRequest {})
            .await
            .map(|r| (r.status().as_u16(), r.headers().clone())),
        operation::STATUS => client
            .show_logs_export_status(&project, &server, &export, None)
            .await
            .map(|r| (r.status().as_u16(), r.headers().clone())),
        operation::LIST_SERVERS => client
            .list_servers(
                &project,
                Some(100),
                Some(&clouddc::ManageState::InUse),
                None,
                None,
            )
            .await
            .map(|r| (r.status().as_u16(), r.headers().clone())),
        operation::SHOW_SERVER => client
            .show_server(&project, &server, None)
            .await
            .map(|r| (r.status().as_u16(), r.headers().clone())),
        operation::LIST_ALARMS => {
            let from = clouddc::types::EpochMillisText::try_from("1735689600000").expect("valid");
            client
                .list_alarms(
                    &project,
                    None,
                    None,
                    None,
                    None,
                    Some(&from),
                    None,
                    Some(0),
                    None,
                    None,
                    None,
                )
                .await
                .map(|r| (r.status().as_u16(), r.headers().clone()))
        }
        operation::LIST_EVENTS => client
            .list_events(
                &project,
                Some(&clouddc::EventLevel::Major),
                None,
                None,
                Some(0),
                None,
                None,
                None,
            )
            .await
            .map(|r| (r.status().as_u16(), r.headers().clone())),
        _ => client
            .download_server_logs(&project, &server, &export, Some(&range), None)
            .await
            .map(|r| (r.status().as_u16(), r.headers().clone())),
    };
    match outcome {
        Ok(answer) => Ok(answer),
        Err(progenitor_client::Error::ErrorResponse(response)) => {
            Ok((response.status().as_u16(), response.headers().clone()))
        }
        Err(progenitor_client::Error::UnexpectedResponse(response)) => {
            Ok((response.status().as_u16(), response.headers().clone()))
        }
        Err(other) => Err(other.to_string()),
    }
}

/// The listings document no 404: there is nothing to not find.
fn documents(operation: Operation, code: u16) -> bool {
    code != 404 || !operation.name.starts_with("List")
}

async fn every_operation(base: &str, tally: &mut Tally) {
    let client = raw_client(base, None, token());
    for operation in operation::ALL {
        let answer = call(&client, operation).await;
        tally.check(
            &format!("{} with a token", operation.name),
            matches!(&answer, Ok((s, h)) if (200..300).contains(s) && violations(h).is_none()),
            || format!("{answer:?}"),
        );
    }
}

async fn forced_error_codes(base: &str, tally: &mut Tally) {
    for code in ERROR_CODES {
        let client = raw_client(base, Some(code), token());
        for operation in operation::ALL.into_iter().filter(|op| documents(*op, code)) {
            let answer = call(&client, operation).await;
            tally.check(
                &format!("{} forced to {code}", operation.name),
                matches!(&answer, Ok((s, h)) if *s == code && violations(h).is_none()),
                || format!("{answer:?}"),
            );
        }
        // The same answer through our error mapping.
        let (result, meta) = with_response_meta(client.show_logs_export_status(
            &ResourceId::try_from(PROJECT).expect("valid"),
            &ResourceId::try_from(SERVER).expect("valid"),
            &ResourceId::try_from(EXPORT).expect("valid"),
            None,
        ))
        .await;
        let mapped = match result {
            Err(error) => {
                Some(clouddc::testing::from_generated(operation::STATUS.name, error, meta).await)
            }
            Ok(_) => None,
        };
        let right = match (&mapped, code) {
            (Some(Error::Throttled { .. }), 429) => true,
            (Some(Error::Api(api)), _) => api.status == code && api.error_code.is_some(),
            _ => false,
        };
        tally.check(&format!("error mapping of {code}"), right, || {
            format!("{mapped:?}")
        });
    }
}

async fn missing_token(base: &str, tally: &mut Tally) {
    let client = raw_client(base, None, None);
    let answer = call(&client, operation::STATUS).await;
    tally.check(
        "a request without credentials is refused",
        matches!(&answer, Ok((401, _))),
        || format!("{answer:?}"),
    );
}

async fn high_level_flow(base: &str, tally: &mut Tally) {
    for (name, builder) in [
        ("token", clouddc::Client::builder().token("contract-token")),
        (
            "AK/SK",
            clouddc::Client::builder().ak_sk("CONTRACTAK", "contract-sk"),
        ),
    ] {
        let client = match builder.endpoint(base).project_id(PROJECT).build() {
            Ok(client) => client,
            Err(e) => {
                tally.check(&format!("{name}: build"), false, || e.to_string());
                continue;
            }
        };
        let export = client.export(SERVER).await;
        tally.check(&format!("{name}: export"), export.is_ok(), || {
            format!("{export:?}")
        });
        let status = client.status(SERVER, EXPORT).await;
        tally.check(&format!("{name}: status"), status.is_ok(), || {
            format!("{status:?}")
        });
        // prism's mock repeats one `next_marker`, so only the first page is a
        // fair check here; the simulator's suites follow the markers.
        let first = client.servers(clouddc::ServerQuery::default()).next().await;
        tally.check(
            &format!("{name}: servers"),
            matches!(first, Some(Ok(_))),
            || format!("{first:?}"),
        );
        let shown = client.server(SERVER).await;
        tally.check(&format!("{name}: server"), shown.is_ok(), || {
            format!("{shown:?}")
        });
        let alarm = client.alarms(clouddc::AlarmQuery::default()).next().await;
        tally.check(
            &format!("{name}: alarms"),
            matches!(alarm, Some(Ok(_))),
            || format!("{alarm:?}"),
        );
        let event = client.events(clouddc::EventQuery::default()).next().await;
        tally.check(
            &format!("{name}: events"),
            matches!(event, Some(Ok(_))),
            || format!("{event:?}"),
        );
        // prism's mock body is not a gzip archive: a valid request ends in our
        // integrity check, an invalid one in an API error.
        let dir = std::env::temp_dir().join(format!("clouddc-contract-{}", std::process::id()));
        let download = client
            .download(SERVER, EXPORT, &dir, &DownloadOptions::default(), &|_| {})
            .await;
        let _ = std::fs::remove_dir_all(&dir);
        tally.check(
            &format!("{name}: download request accepted"),
            matches!(download, Err(Error::Integrity { .. })),
            || format!("{download:?}"),
        );
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some(base) = std::env::args().nth(1) else {
        eprintln!("usage: contract-client <prism mock base URL>");
        return ExitCode::from(2);
    };
    let mut tally = Tally::default();
    every_operation(&base, &mut tally).await;
    forced_error_codes(&base, &mut tally).await;
    missing_token(&base, &mut tally).await;
    high_level_flow(&base, &mut tally).await;
    println!(
        "prism mock: {} cases checked, {} failed",
        tally.cases,
        tally.failures.len()
    );
    for failure in &tally.failures {
        println!("  FAILED {failure}");
    }
    if tally.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
