//! `clouddc servers list` and `clouddc servers show`: the inventory, as an
//! aligned table for people or JSON for programs. Every string the service sent
//! is sanitised before it reaches a terminal.

use std::io::Write;

use clap::{Args, Subcommand};
use clouddc::Client;
use clouddc::types::PhysicalServer;

use super::{Context, write_stdout};
use crate::args::Format;
use crate::exit::{CliError, Exit};
use crate::select::{self, FilterArgs};

/// The `servers` commands.
#[derive(Debug, Subcommand)]
pub enum ServersCommand {
    /// List the project's servers (every page), optionally filtered
    List(ListArgs),
    /// Show one server
    Show(ShowArgs),
}

/// `servers list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// `servers show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The server id
    #[arg(value_name = "SERVER")]
    pub server: String,
}

/// Runs a `servers` command.
pub async fn run(
    client: &Client,
    command: &ServersCommand,
    context: &Context,
) -> Result<Exit, CliError> {
    match command {
        ServersCommand::List(args) => {
            let servers = select::servers(client, &args.filters).await?;
            write_stdout(|out| match context.format {
                Format::Json => {
                    serde_json::to_writer(&mut *out, &serde_json::json!({ "servers": servers }))?;
                    writeln!(out)
                }
                Format::Text => print_table(out, &servers),
            })?;
        }
        ServersCommand::Show(args) => {
            let server = client.server(&args.server).await?;
            write_stdout(|out| match context.format {
                Format::Json => {
                    serde_json::to_writer(&mut *out, &server)?;
                    writeln!(out)
                }
                Format::Text => print_details(out, &server),
            })?;
        }
    }
    Ok(Exit::Success)
}

/// A service string fit for a terminal: control characters replaced, length cut.
pub fn clean(text: &str) -> String {
    clouddc::error::snippet(text.as_bytes())
}

fn or_dash(value: Option<String>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| clean(&v))
}

/// The tags as `key=value,...`.
fn tags(server: &PhysicalServer) -> String {
    if server.tags.is_empty() {
        return "-".into();
    }
    let joined: Vec<String> = server
        .tags
        .iter()
        .map(|t| format!("{}={}", t.key, t.value.as_deref().unwrap_or_default()))
        .collect();
    clean(&joined.join(","))
}

/// The table's cells of one server, in column order.
fn row(server: &PhysicalServer) -> [String; 9] {
    let location = server.location.as_ref();
    [
        clean(&server.id),
        or_dash(server.name.clone()),
        or_dash(server.health_state.as_ref().map(ToString::to_string)),
        or_dash(server.manage_state.as_ref().map(ToString::to_string)),
        or_dash(server.power_state.as_ref().map(ToString::to_string)),
        or_dash(location.and_then(|l| l.dc.clone())),
        or_dash(location.and_then(|l| l.rack.clone())),
        or_dash(location.and_then(|l| l.unit.clone())),
        tags(server),
    ]
}

const HEADERS: [&str; 9] = [
    "ID", "NAME", "HEALTH", "MANAGE", "POWER", "DC", "RACK", "UNIT", "TAGS",
];

fn print_table(out: &mut dyn Write, servers: &[PhysicalServer]) -> std::io::Result<()> {
    let rows: Vec<[String; 9]> = servers.iter().map(row).collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        writeln!(out, "{}", padded.join("  ").trim_end())
    };
    line(out, &HEADERS.map(String::from))?;
    for row in &rows {
        line(out, row)?;
    }
    Ok(())
}

fn print_details(out: &mut dyn Write, server: &PhysicalServer) -> std::io::Result<()> {
    let [id, name, health, manage, power, dc, rack, unit, tags] = row(server);
    let hardware = server.hardware_attributes.as_ref();
    let fields = [
        ("id", id),
        ("name", name),
        ("health", health),
        ("manage_state", manage),
        ("power_state", power),
        (
            "operation",
            or_dash(server.operation_state.as_ref().map(ToString::to_string)),
        ),
        ("dc", dc),
        ("rack", rack),
        ("unit", unit),
        ("tags", tags),
        ("onboard_time", or_dash(server.onboard_time.clone())),
        ("model", or_dash(hardware.and_then(|h| h.model.clone()))),
        ("sn", or_dash(hardware.and_then(|h| h.sn.clone()))),
    ];
    for (key, value) in fields {
        writeln!(out, "{:<13} {value}", format!("{key}:"))?;
    }
    if let Some(error) = &server.error {
        writeln!(
            out,
            "{:<13} {} {}",
            "error:",
            or_dash(error.error_code.clone()),
            or_dash(error.error_msg.clone())
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_strings_cannot_drive_the_terminal() {
        let mut server: PhysicalServer = serde_json::from_str(
            r#"{"id":"srv-1","name":"evil\u001b[2Jname","tags":[{"key":"k\u0007","value":"v"}]}"#,
        )
        .unwrap();
        server.location = None;
        let mut out = Vec::new();
        print_table(&mut out, &[server]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(text.contains("evil [2Jname"), "{text:?}");
        assert!(text.lines().next().unwrap().starts_with("ID "));
    }
}
