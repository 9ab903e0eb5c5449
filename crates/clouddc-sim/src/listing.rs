//! The inventory operations: `ListServers` (marker paging), `ShowServer`,
//! `ListAlarms` and `ListEvents` (offset paging), with the service's 400s for
//! parameters out of range.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use clouddc_auth::states::{EventLevel, ManageState};

use crate::inventory_wire::{
    ListAlarmsResponse, ListEventsResponse, ListServersResponse, PageInfo, PhysicalServer,
};

use crate::inventory::HISTORY_MS;
use crate::server::{Shared, admit, bad_path, error, not_found, path_and_query};

/// The parameters of a request, in order, as sent.
type Params = Vec<(String, String)>;

/// `ListServers`' page sizes (the Go SDK's bounds) and its default.
const SERVER_LIMITS: std::ops::RangeInclusive<i64> = 10..=1000;
const SERVER_DEFAULT_LIMIT: i64 = 10;
/// `ListAlarms`' and `ListEvents`' page sizes and their default.
const RECORD_LIMITS: std::ops::RangeInclusive<i64> = 1..=1000;
const RECORD_DEFAULT_LIMIT: i64 = 100;

fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "CLOUDDC.0400", message)
}

fn bad_query(rejection: QueryRejection) -> Response {
    bad_request(format!("Malformed query: {rejection}"))
}

/// The last value of `name`, if sent.
fn param<'p>(params: &'p Params, name: &str) -> Option<&'p str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The string parameters of an operation and their lengths in characters, as the
/// spec bounds them.
const SERVER_STRINGS: &[(&str, usize, usize)] = &[("marker", 1, 128)];
const ALARM_STRINGS: &[(&str, usize, usize)] = &[
    ("alarm_record_id", 0, 128),
    ("alarm_status", 0, 32),
    ("alarm_type", 0, 128),
    ("resource_id", 0, 4096),
];
const EVENT_STRINGS: &[(&str, usize, usize)] = &[("resource_id", 0, 128)];

/// Checks the lengths of the string parameters an operation declares.
fn check_lengths(params: &Params, bounds: &[(&str, usize, usize)]) -> Result<(), String> {
    for (name, min, max) in bounds {
        if let Some(value) = param(params, name) {
            let length = value.chars().count();
            if length < *min || length > *max {
                return Err(format!(
                    "Invalid {name}: {length} characters, expected {min} to {max}"
                ));
            }
        }
    }
    Ok(())
}

/// An integer parameter within `range`, `default` when absent.
fn int_param(
    params: &Params,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
    default: i64,
) -> Result<i64, String> {
    let Some(text) = param(params, name) else {
        return Ok(default);
    };
    match text.parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "Invalid {name}: {text:?} is not an integer from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

/// An epoch-milliseconds parameter.
fn millis_param(params: &Params, name: &str) -> Result<Option<i64>, String> {
    param(params, name)
        .map(|text| {
            text.parse::<i64>()
                .ok()
                .filter(|ms| {
                    *ms >= 0 && text.len() <= 15 && text.bytes().all(|b| b.is_ascii_digit())
                })
                .ok_or_else(|| format!("Invalid {name}: {text:?} is not epoch milliseconds"))
        })
        .transpose()
}

/// `from` and `to`, checked against each other: `from` before `to`, and, when
/// `max_span` is given, at most that far apart.
fn window(params: &Params, max_span: Option<i64>) -> Result<(Option<i64>, Option<i64>), String> {
    let from = millis_param(params, "from")?;
    let to = millis_param(params, "to")?;
    if let (Some(from), Some(to)) = (from, to) {
        if from >= to {
            return Err("Invalid time range: from must be less than to".into());
        }
        if max_span.is_some_and(|span| to - from > span) {
            return Err("Invalid time range: at most 30 days".into());
        }
    }
    Ok((from, to))
}

async fn admit_listing(
    state: &Shared,
    operation: &str,
    method: &Method,
    headers: &HeaderMap,
    project: &str,
    uri: &Uri,
) -> Result<(), Response> {
    let ids = [("project_id", project)];
    admit(
        state,
        operation,
        method,
        path_and_query(uri),
        headers,
        b"",
        &ids,
    )
    .await
    .map(|_| ())
}

/// `ListServers`: `marker` is the id of the previous page's last server, as the
/// vendor describes it; the page starts at the first server whose id sorts after
/// it, so a marker whose server went away since still pages on.
pub(crate) async fn list_servers(
    Extract(state): Extract<Shared>,
    method: Method,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
    uri: Uri,
) -> Response {
    let Path(project) = match path {
        Ok(path) => path,
        Err(rejection) => return bad_path(rejection),
    };
    if let Err(response) =
        admit_listing(&state, "list_servers", &method, &headers, &project, &uri).await
    {
        return response;
    }
    let Query(params) = match query {
        Ok(query) => query,
        Err(rejection) => return bad_query(rejection),
    };
    if let Err(message) = check_lengths(&params, SERVER_STRINGS) {
        return bad_request(message);
    }
    let limit = match int_param(&params, "limit", SERVER_LIMITS, SERVER_DEFAULT_LIMIT) {
        Ok(limit) => limit as usize,
        Err(message) => return bad_request(message),
    };
    let manage_state = match param(&params, "manage_state") {
        None => None,
        Some(text) => match ManageState::from_wire(text) {
            ManageState::Unknown(_) => {
                return bad_request(format!("Invalid manage_state: {text:?}"));
            }
            known => Some(known),
        },
    };
    let inventory = &state.inventory;
    let start = param(&params, "marker").map_or(0, |marker| inventory.after(marker));
    let matching = |s: &&PhysicalServer| manage_state.is_none() || s.manage_state == manage_state;
    let count = inventory.servers.iter().filter(matching).count();
    let mut rest = inventory.servers[start.min(inventory.servers.len())..]
        .iter()
        .filter(matching);
    let servers: Vec<_> = rest.by_ref().take(limit).cloned().collect();
    let next_marker = if rest.next().is_some() {
        servers.last().map(|s| s.id.clone())
    } else {
        None
    };
    let body = ListServersResponse {
        page_info: Some(PageInfo {
            current_count: i32::try_from(servers.len()).ok(),
            next_marker,
            // The vendor does not say which marker leads back; none is sent.
            previous_marker: None,
        }),
        count: i64::try_from(count).ok(),
        servers,
    };
    axum::Json(body).into_response()
}

/// `ShowServer`.
pub(crate) async fn show_server(
    Extract(state): Extract<Shared>,
    method: Method,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    uri: Uri,
) -> Response {
    let Path((project, server)) = match path {
        Ok(path) => path,
        Err(rejection) => return bad_path(rejection),
    };
    let ids = [("project_id", project.as_str()), ("id", server.as_str())];
    if let Err(response) = admit(
        &state,
        "show_server",
        &method,
        path_and_query(&uri),
        &headers,
        b"",
        &ids,
    )
    .await
    {
        return response;
    }
    match state.inventory.position(&server) {
        Some(position) => axum::Json(&state.inventory.servers[position]).into_response(),
        None => not_found("The server does not exist in this project"),
    }
}

/// The page `[offset, offset + limit)` of `records`.
fn page<T: Clone>(records: &[T], params: &Params) -> Result<Vec<T>, String> {
    let offset = int_param(params, "offset", 0..=i64::from(i32::MAX), 0)? as usize;
    let limit = int_param(params, "limit", RECORD_LIMITS, RECORD_DEFAULT_LIMIT)? as usize;
    Ok(records.iter().skip(offset).take(limit).cloned().collect())
}

/// `ListAlarms`: filtered by every parameter the SDK sends, newest first.
pub(crate) async fn list_alarms(
    Extract(state): Extract<Shared>,
    method: Method,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
    uri: Uri,
) -> Response {
    let Path(project) = match path {
        Ok(path) => path,
        Err(rejection) => return bad_path(rejection),
    };
    if let Err(response) =
        admit_listing(&state, "list_alarms", &method, &headers, &project, &uri).await
    {
        return response;
    }
    let Query(params) = match query {
        Ok(query) => query,
        Err(rejection) => return bad_query(rejection),
    };
    if let Err(message) = check_lengths(&params, ALARM_STRINGS) {
        return bad_request(message);
    }
    let filters = (|| {
        let level = param(&params, "alarm_level")
            .map(|_| int_param(&params, "alarm_level", 1..=4, 0))
            .transpose()?;
        let (from, to) = window(&params, None)?;
        Ok::<_, String>((level, from, to))
    })();
    let (level, from, to) = match filters {
        Ok(filters) => filters,
        Err(message) => return bad_request(message),
    };
    let resources: Option<Vec<&str>> =
        param(&params, "resource_id").map(|r| r.split(',').collect());
    let status = param(&params, "alarm_status");
    let record = param(&params, "alarm_record_id");
    let kind = param(&params, "alarm_type");
    let matching: Vec<_> = state
        .inventory
        .alarms
        .iter()
        .filter(|a| {
            let server = a
                .metric
                .as_ref()
                .and_then(|m| m.dimensions.first())
                .and_then(|d| d.value.as_deref())
                .unwrap_or_default();
            resources.as_ref().is_none_or(|r| r.contains(&server))
                && level.is_none_or(|l| {
                    a.alarm_level
                        .as_ref()
                        .is_some_and(|al| i64::from(al.0.get()) == l)
                })
                && status.is_none_or(|s| a.alarm_status.as_deref() == Some(s))
                && record.is_none_or(|r| a.alarm_record_id == r)
                && kind.is_none_or(|k| a.alarm_name.as_deref() == Some(k))
                && from.is_none_or(|f| a.begin_time.is_some_and(|t| t >= f))
                && to.is_none_or(|t| a.begin_time.is_some_and(|b| b <= t))
        })
        .cloned()
        .collect();
    let alarms = match page(&matching, &params) {
        Ok(alarms) => alarms,
        Err(message) => return bad_request(message),
    };
    let body = ListAlarmsResponse {
        count: i64::try_from(matching.len()).ok(),
        alarms,
    };
    axum::Json(body).into_response()
}

/// `ListEvents`: `from`/`to` at most 30 days apart, newest first.
pub(crate) async fn list_events(
    Extract(state): Extract<Shared>,
    method: Method,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Params>, QueryRejection>,
    uri: Uri,
) -> Response {
    let Path(project) = match path {
        Ok(path) => path,
        Err(rejection) => return bad_path(rejection),
    };
    if let Err(response) =
        admit_listing(&state, "list_events", &method, &headers, &project, &uri).await
    {
        return response;
    }
    let Query(params) = match query {
        Ok(query) => query,
        Err(rejection) => return bad_query(rejection),
    };
    if let Err(message) = check_lengths(&params, EVENT_STRINGS) {
        return bad_request(message);
    }
    let (from, to) = match window(&params, Some(HISTORY_MS)) {
        Ok(window) => window,
        Err(message) => return bad_request(message),
    };
    let level = match param(&params, "event_level") {
        None => None,
        Some(text) => match EventLevel::from_wire(text) {
            EventLevel::Unknown(_) => return bad_request(format!("Invalid event_level: {text:?}")),
            known => Some(known),
        },
    };
    let resource = param(&params, "resource_id");
    let matching: Vec<_> = state
        .inventory
        .events
        .iter()
        .filter(|e| {
            level
                .as_ref()
                .is_none_or(|l| e.event_level.as_deref() == Some(l.as_str()))
                && resource.is_none_or(|r| e.resource_id.as_deref() == Some(r))
                && from.is_none_or(|f| e.time.is_some_and(|t| t >= f))
                && to.is_none_or(|t| e.time.is_some_and(|e| e <= t))
        })
        .cloned()
        .collect();
    let events = match page(&matching, &params) {
        Ok(events) => events,
        Err(message) => return bad_request(message),
    };
    let body = ListEventsResponse {
        count: i64::try_from(matching.len()).ok(),
        events,
    };
    axum::Json(body).into_response()
}
