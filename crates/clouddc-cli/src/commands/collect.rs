//! `clouddc logs collect`: export, wait and download for every server.

use std::collections::{HashMap, HashSet};
use std::pin::pin;
use std::sync::Arc;

use clouddc::{Client, CollectEvent, CollectOptions, EventSink, FileJournal, WaitOptions};
use futures::StreamExt;
use tokio::time::Instant;

use super::{prepare_output_dir, write_stdout};
use crate::args::CollectArgs;
use crate::context::Context;
use crate::exit::{CliError, Exit};
use crate::interrupt;
use crate::object_output::{self, ProcessEnv};
use crate::progress::{Phase, Progress};
use crate::select;
use crate::servers;
use crate::settings::Settings;
use crate::shard::{JOB_INDEX_VAR, Shard};
use crate::summary::{self, Record, Totals};

/// Collects every server's archive, showing progress, then prints the summary.
pub async fn run(
    client: &Client,
    args: &CollectArgs,
    context: &Context,
    settings: &Settings,
) -> Result<Exit, CliError> {
    if args.filters.any() && !args.all {
        return Err(CliError::Config(
            "the inventory filters (--manage-state, --health, --tag, --dc, --rack, --alarmed) narrow --all; add --all".into(),
        ));
    }
    let object = object_output::resolve(&args.output_dir, &args.object, settings, &ProcessEnv)?;
    // Before anything is sent: a bad shard is a usage error.
    let shard = Shard::resolve(args.shard, args.shard_count, || {
        std::env::var_os(JOB_INDEX_VAR).map(|v| v.to_string_lossy().into_owned())
    })
    .map_err(|error| CliError::Config(error.to_string()))?;
    let selected = if args.all {
        let ids = select::server_ids(client, &args.filters).await?;
        usable_ids(ids.into_iter(), context)
    } else {
        Vec::new()
    };
    let servers = servers::gather(&args.servers, args.servers_file.as_deref(), selected)?;
    let servers = match shard {
        Some(shard) => in_shard(shard, servers, context),
        None => servers,
    };
    if args.dry_run {
        print_dry_run(&servers, context)?;
        return Ok(Exit::Success);
    }
    let destination = match &object {
        Some(config) => Some(open_object_store(config)?),
        None => None,
    };
    // An object store keeps no journal: a re-run skips the objects complete
    // there (HEAD) and exports the rest again.
    let journal = match destination {
        Some(_) => None,
        None => {
            prepare_output_dir(&args.output_dir)?;
            // Held until the end of the run: a second collect on the directory exits 2.
            Some(open_journal(args, &servers, context)?)
        }
    };
    let started = Instant::now();
    let progress = Arc::new(Progress::new(context.mode, Some(servers.len() as u64)));
    let sink: EventSink = {
        let progress = progress.clone();
        Arc::new(move |event| report(&progress, &event))
    };
    let options = CollectOptions {
        output_dir: args.output_dir.clone(),
        concurrency: args.concurrency,
        max_downloads: args
            .max_downloads
            .unwrap_or(clouddc::collect::DEFAULT_MAX_DOWNLOADS)
            .min(args.concurrency),
        download: args.check.download_options(),
        wait: WaitOptions {
            deadline: args.timeout,
            ..WaitOptions::default()
        },
        journal: journal.clone().map(|j| j as Arc<dyn clouddc::Journal>),
        destination: destination.clone(),
        ..CollectOptions::default()
    };
    tracing::info!(
        servers = servers.len(),
        concurrency = args.concurrency,
        output_dir = %args.output_dir.display(),
        "collecting"
    );

    let mut outcomes = Box::pin(client.collect(servers.clone(), options, Some(sink)));
    // Created once: a signal that arrives between two outcomes must not be lost.
    let mut signal = pin!(interrupt::signal());
    let mut records = Vec::with_capacity(servers.len());
    let interrupted = loop {
        tokio::select! {
            outcome = outcomes.next() => match outcome {
                Some(outcome) => {
                    let record = Record::from_outcome(&outcome);
                    progress.finished(&record);
                    records.push(record);
                }
                None => break None,
            },
            signal = &mut signal => break Some(signal),
        }
    };
    // Cancels the requests in flight and removes their temporary files.
    drop(outcomes);
    if let Some(destination) = &destination
        && let Err(error) = destination.close().await
    {
        progress.note(&crate::text::clean(&error.to_string()));
    }
    if interrupted.is_some() {
        progress.note(&format!(
            "interrupted: {} of {} servers finished; the unfinished ones left no files behind",
            records.len(),
            servers.len()
        ));
        // Every server appears in the results, the unfinished ones as
        // interrupted: a script sees what was not done.
        let finished: HashSet<&str> = records.iter().map(|r| r.server.as_str()).collect();
        let unfinished: Vec<Record> = servers
            .iter()
            .filter(|server| !finished.contains(server.as_str()))
            .map(|server| Record::interrupted(server.clone()))
            .collect();
        records.extend(unfinished);
    }
    progress.clear();

    let order: HashMap<&str, usize> = servers
        .iter()
        .enumerate()
        .map(|(index, server)| (server.as_str(), index))
        .collect();
    records.sort_by_key(|record| order.get(record.server.as_str()).copied());
    let totals = Totals {
        requested: servers.len(),
        elapsed: started.elapsed(),
    };
    write_stdout(|out| summary::print(out, context.format, &records, totals))?;

    Ok(match interrupted {
        Some(signal) => Exit::Interrupted(signal),
        None if records.iter().all(Record::is_ok) => Exit::Success,
        None => Exit::Failed,
    })
}

/// The inventory's ids that can name a server in a request. An id the service
/// sent with control characters could neither be exported nor printed safely:
/// it is reported (sanitised) and left out.
fn usable_ids(ids: impl Iterator<Item = String>, context: &Context) -> Vec<String> {
    ids.filter(|id| match clouddc::validate::validate_id("server", id) {
        Ok(()) => true,
        Err(error) => {
            context.inform(&format!(
                "skipping {} from the inventory: {error}",
                super::servers::clean(id)
            ));
            false
        }
    })
    .collect()
}

/// This collector's share of `servers`, said on stderr (an empty share is no
/// error: a small fleet may leave some of N collectors nothing to do).
fn in_shard(shard: Shard, servers: Vec<String>, context: &Context) -> Vec<String> {
    let of = servers.len();
    let mine = shard.select(servers);
    context.inform(&format!("shard {shard}: {} of {of} servers", mine.len()));
    mine
}

/// `--dry-run`: the servers, one a line (sanitised), or `{"servers": [...]}`.
fn print_dry_run(servers: &[String], context: &Context) -> Result<(), CliError> {
    write_stdout(|out| match context.format {
        crate::args::Format::Json => {
            serde_json::to_writer(&mut *out, &serde_json::json!({ "servers": servers }))?;
            writeln!(out)
        }
        crate::args::Format::Text => servers
            .iter()
            .try_for_each(|server| writeln!(out, "{}", super::servers::clean(server))),
    })
}

/// The object store of `-o s3://` or `obs://`.
fn open_object_store(
    config: &clouddc::destination::ObjectStoreConfig,
) -> Result<Arc<dyn clouddc::destination::Destination>, CliError> {
    let store = clouddc::destination::ObjectStoreDestination::new(config)
        .map_err(|error| CliError::Config(error.to_string()))?;
    Ok(Arc::new(store))
}

/// Locks the output directory and opens its journal, telling the user what a
/// previous run left: a torn record dropped, journaled servers this run does
/// not ask for (reported on stderr, not collected).
fn open_journal(
    args: &CollectArgs,
    servers: &[String],
    context: &Context,
) -> Result<Arc<FileJournal>, CliError> {
    let (journal, recovered) = FileJournal::open(&args.output_dir, args.fresh)
        .map_err(|error| CliError::Config(format!("journal: {error}")))?;
    if recovered.torn_last {
        context.inform("journal: dropped a torn last record");
    }
    if recovered.corrupt > 0 {
        context.inform(&format!(
            "journal: skipped {} damaged records",
            recovered.corrupt
        ));
    }
    let asked: HashSet<&str> = servers.iter().map(String::as_str).collect();
    let absent: Vec<&String> = recovered
        .servers
        .iter()
        .filter(|server| !asked.contains(server.as_str()))
        .collect();
    if !absent.is_empty() {
        // Cleaned: the journal is a file anyone could have edited.
        let shown: Vec<String> = absent
            .iter()
            .take(5)
            .map(|s| crate::text::clean(s))
            .collect();
        context.inform(&format!(
            "journal: {} journaled servers are not in this run's list and are not collected: {}{}",
            absent.len(),
            shown.join(", "),
            if absent.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        ));
    }
    Ok(Arc::new(journal))
}

/// Turns the library's event into a progress update.
fn report(progress: &Progress, event: &CollectEvent) {
    match event {
        CollectEvent::Exporting { server } => progress.update(server, Phase::Exporting),
        CollectEvent::Waiting {
            server,
            progress: reading,
        } => progress.update(
            server,
            Phase::Waiting {
                export_id: &reading.task.export_id,
                status: reading.task.status.as_str(),
                percentage: reading.percentage,
            },
        ),
        CollectEvent::Downloading {
            server,
            progress: bytes,
        } => progress.update(
            server,
            Phase::Downloading {
                bytes: bytes.bytes,
                total: bytes.total,
            },
        ),
        // Events added to the library later are not shown until the CLI knows them.
        _ => {}
    }
}
