//! The inventory: servers, alarms and events, each listing as a `Stream` that
//! follows the service's paging.
//!
//! The generated calls fetch one page; what they cannot do is follow
//! `page_info.next_marker` (servers) or `offset`/`count` (alarms, events) to the
//! end. The service is untrusted here too: a marker that comes back twice, or more
//! than [`MAX_ITEMS`] records, ends the listing with an error instead of looping.

use std::collections::HashSet;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::IdArgument;
use crate::client::decode;
use crate::response_meta::{ResponseMeta, with_received_meta};
use crate::retry::{Idempotency, with_retries};
use crate::states::{EventLevel, ManageState};
use crate::types::{
    AlarmHistory, EpochMillisText, EventInfo, ListAlarmsResourceId, ListEventsResourceId,
    ListServersMarker, PhysicalServer,
};
use crate::validate::id_argument;
use crate::{Client, Error};

/// The most records one listing yields before it gives up: far above any real
/// project, low enough that a service paging forever cannot hold a caller forever.
pub const MAX_ITEMS: usize = 1_000_000;

/// The page sizes `ListServers` accepts (the Go SDK's bounds; the simulator
/// answers 400 outside them).
pub const SERVER_PAGE_SIZES: std::ops::RangeInclusive<u32> = 10..=1000;

/// The page sizes clouddc asks `ListAlarms` and `ListEvents` for.
pub const RECORD_PAGE_SIZES: std::ops::RangeInclusive<u32> = 1..=1000;

/// The operations' names, from the one list of them.
mod op {
    use crate::operation;
    pub const LIST_SERVERS: &str = operation::LIST_SERVERS.name;
    pub const SHOW_SERVER: &str = operation::SHOW_SERVER.name;
    pub const LIST_ALARMS: &str = operation::LIST_ALARMS.name;
    pub const LIST_EVENTS: &str = operation::LIST_EVENTS.name;
}

/// What `ListServers` filters by (the only filter the service applies) and how
/// many servers a page holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerQuery {
    /// Only servers in this management state.
    pub manage_state: Option<ManageState>,
    /// Servers per page, within [`SERVER_PAGE_SIZES`]; 0 means the largest.
    pub page_size: u32,
}

impl Default for ServerQuery {
    fn default() -> Self {
        Self {
            manage_state: None,
            // The largest page: the fewest round trips for a fleet.
            page_size: *SERVER_PAGE_SIZES.end(),
        }
    }
}

/// What `ListAlarms` filters by. Times are epoch milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlarmQuery {
    /// Only the alarms of these servers (sent comma-separated).
    pub servers: Vec<String>,
    /// Only alarms of this level: 1 critical, 2 major, 3 minor, 4 informational.
    pub level: Option<u32>,
    /// Only alarms in this status (`ok`, `alarm` or `invalid`).
    pub status: Option<String>,
    /// Raised at or after this time.
    pub from_ms: Option<u64>,
    /// Raised at or before this time.
    pub to_ms: Option<u64>,
    /// Records per page, within [`RECORD_PAGE_SIZES`]; 0 means the largest.
    pub page_size: u32,
}

/// What `ListEvents` filters by. Times are epoch milliseconds, at most 30 days apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only the events of this server.
    pub server: Option<String>,
    /// Only events of this level.
    pub level: Option<EventLevel>,
    /// At or after this time.
    pub from_ms: Option<u64>,
    /// At or before this time.
    pub to_ms: Option<u64>,
    /// Records per page, within [`RECORD_PAGE_SIZES`]; 0 means the largest.
    pub page_size: u32,
}

/// One fetched page: its records and where the next one starts, if anywhere.
struct Page<T, C> {
    items: Vec<T>,
    next: Option<C>,
}

/// Turns a page fetcher into a stream of records, bounded by [`MAX_ITEMS`].
fn paged<T, C, F, Fut>(
    operation: &'static str,
    first: C,
    fetch: F,
) -> BoxStream<'static, Result<T, Error>>
where
    T: Send + 'static,
    C: Send + 'static,
    F: FnMut(C) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<Page<T, C>, Error>> + Send + 'static,
{
    let state = (Some(first), fetch, 0usize);
    stream::try_unfold(state, move |(cursor, mut fetch, seen)| async move {
        let Some(cursor) = cursor else {
            return Ok(None);
        };
        let page = fetch(cursor).await?;
        let seen = seen + page.items.len();
        if seen > MAX_ITEMS {
            return Err(unexpected(
                operation,
                format!("more than {MAX_ITEMS} records; the listing was stopped"),
            ));
        }
        Ok(Some((page.items, (page.next, fetch, seen))))
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

fn unexpected(operation: &'static str, reason: String) -> Error {
    Error::UnexpectedResponse {
        operation,
        reason,
        meta: ResponseMeta::default(),
    }
}

fn page_size(
    argument: &'static str,
    size: u32,
    sizes: &std::ops::RangeInclusive<u32>,
) -> Result<u32, Error> {
    let size = if size == 0 { *sizes.end() } else { size };
    if sizes.contains(&size) {
        Ok(size)
    } else {
        Err(Error::invalid(
            argument,
            format!("{size} is outside {}..={}", sizes.start(), sizes.end()),
        ))
    }
}

fn millis(argument: &'static str, value: Option<u64>) -> Result<Option<EpochMillisText>, Error> {
    value
        .map(|ms| EpochMillisText::try_from(ms.to_string()))
        .transpose()
        .map_err(|e| Error::invalid(argument, e.to_string()))
}

/// The offset of the page after one that started at `offset` and held `len`
/// records, or `None` when the listing is complete.
fn next_offset(offset: u32, len: usize, count: Option<i64>) -> Option<u32> {
    if len == 0 {
        return None;
    }
    let next = offset.checked_add(u32::try_from(len).ok()?)?;
    match count {
        Some(total) if i64::from(next) >= total => None,
        _ => Some(next),
    }
}

impl Client {
    /// Every server of the project, page by page, in the service's order.
    /// `query.manage_state` is applied by the service; filter on anything else
    /// as the servers arrive.
    pub fn servers(&self, query: ServerQuery) -> BoxStream<'static, Result<PhysicalServer, Error>> {
        let limit = match page_size("limit", query.page_size, &SERVER_PAGE_SIZES) {
            Ok(limit) => i32::try_from(limit).unwrap_or(i32::MAX),
            Err(error) => return stream::once(async { Err(error) }).boxed(),
        };
        let client = self.clone();
        let manage_state = query.manage_state;
        let mut markers = HashSet::new();
        paged(
            op::LIST_SERVERS,
            None,
            move |marker: Option<ListServersMarker>| {
                let client = client.clone();
                let manage_state = manage_state.clone();
                let repeated = marker
                    .as_ref()
                    .is_some_and(|m| !markers.insert(String::clone(m)));
                async move {
                    if repeated {
                        return Err(unexpected(
                        op::LIST_SERVERS,
                        "page_info.next_marker repeats an earlier page; the listing was stopped".into(),
                    ));
                    }
                    let page = client
                        .list_servers_page(manage_state.as_ref(), marker.as_ref(), limit)
                        .await?;
                    let next = page
                        .page_info
                        .and_then(|info| info.next_marker)
                        .filter(|m| !m.is_empty() && !page.servers.is_empty())
                        .map(|m| {
                            ListServersMarker::try_from(m).map_err(|e| {
                                unexpected(op::LIST_SERVERS, format!("unusable next_marker: {e}"))
                            })
                        })
                        .transpose()?;
                    Ok(Page {
                        items: page.servers,
                        next: next.map(Some),
                    })
                }
            },
        )
    }

    async fn list_servers_page(
        &self,
        manage_state: Option<&ManageState>,
        marker: Option<&ListServersMarker>,
        limit: i32,
    ) -> Result<crate::types::ListServersResponse, Error> {
        let project = self.inner().project.as_resource_id();
        with_retries(
            &self.inner().retry,
            Idempotency::Safe,
            op::LIST_SERVERS,
            || {
                self.within_request_timeout(op::LIST_SERVERS, async {
                    let (result, meta) = with_received_meta(self.generated().list_servers(
                        project,
                        Some(limit),
                        manage_state,
                        marker,
                        None,
                    ))
                    .await;
                    decode(op::LIST_SERVERS, result, meta).await
                })
            },
        )
        .await
    }

    /// One server, as `ListServers` lists it.
    pub async fn server(&self, id: impl IdArgument) -> Result<PhysicalServer, Error> {
        let project = self.inner().project.as_resource_id();
        let id = id_argument("server", id)?;
        with_retries(
            &self.inner().retry,
            Idempotency::Safe,
            op::SHOW_SERVER,
            || {
                self.within_request_timeout(op::SHOW_SERVER, async {
                    let (result, meta) = with_received_meta(self.generated().show_server(
                        project,
                        id.as_resource_id(),
                        None,
                    ))
                    .await;
                    decode(op::SHOW_SERVER, result, meta).await
                })
            },
        )
        .await
    }

    /// Every alarm record matching `query`, page by page.
    pub fn alarms(&self, query: AlarmQuery) -> BoxStream<'static, Result<AlarmHistory, Error>> {
        let prepared = (|| {
            let limit = page_size("limit", query.page_size, &RECORD_PAGE_SIZES)?;
            let resources = (!query.servers.is_empty())
                .then(|| ListAlarmsResourceId::try_from(query.servers.join(",")))
                .transpose()
                .map_err(|e| Error::invalid("servers", e.to_string()))?;
            let level = query
                .level
                .map(|l| crate::types::AlarmLevel::try_from(l.to_string()))
                .transpose()
                .map_err(|e| Error::invalid("alarm level", e.to_string()))?;
            let status = query
                .status
                .clone()
                .map(crate::types::ListAlarmsAlarmStatus::try_from)
                .transpose()
                .map_err(|e| Error::invalid("alarm status", e.to_string()))?;
            Ok::<_, Error>((
                limit,
                resources,
                level,
                status,
                millis("from", query.from_ms)?,
                millis("to", query.to_ms)?,
            ))
        })();
        let (limit, resources, level, status, from, to) = match prepared {
            Ok(prepared) => prepared,
            Err(error) => return stream::once(async { Err(error) }).boxed(),
        };
        let client = self.clone();
        paged(op::LIST_ALARMS, 0u32, move |offset| {
            let client = client.clone();
            let (resources, level, status, from, to) = (
                resources.clone(),
                level.clone(),
                status.clone(),
                from.clone(),
                to.clone(),
            );
            async move {
                let project = client.inner().project.as_resource_id();
                let page = with_retries(
                    &client.inner().retry,
                    Idempotency::Safe,
                    op::LIST_ALARMS,
                    || {
                        client.within_request_timeout(op::LIST_ALARMS, async {
                            let (result, meta) =
                                with_received_meta(client.generated().list_alarms(
                                    project,
                                    level.as_ref(),
                                    None,
                                    status.as_ref(),
                                    None,
                                    from.as_ref(),
                                    std::num::NonZeroU32::new(limit),
                                    Some(i32::try_from(offset).unwrap_or(i32::MAX)),
                                    resources.as_ref(),
                                    to.as_ref(),
                                    None,
                                ))
                                .await;
                            decode(op::LIST_ALARMS, result, meta).await
                        })
                    },
                )
                .await?;
                let crate::types::ListAlarmsResponse { alarms, count } = page;
                let next = next_offset(offset, alarms.len(), count);
                Ok(Page {
                    items: alarms,
                    next,
                })
            }
        })
    }

    /// Every event matching `query`, page by page.
    pub fn events(&self, query: EventQuery) -> BoxStream<'static, Result<EventInfo, Error>> {
        let prepared = (|| {
            let limit = page_size("limit", query.page_size, &RECORD_PAGE_SIZES)?;
            let server = query
                .server
                .clone()
                .map(ListEventsResourceId::try_from)
                .transpose()
                .map_err(|e| Error::invalid("server", e.to_string()))?;
            Ok::<_, Error>((
                limit,
                server,
                millis("from", query.from_ms)?,
                millis("to", query.to_ms)?,
            ))
        })();
        let (limit, server, from, to) = match prepared {
            Ok(prepared) => prepared,
            Err(error) => return stream::once(async { Err(error) }).boxed(),
        };
        let level = query.level;
        let client = self.clone();
        paged(op::LIST_EVENTS, 0u32, move |offset| {
            let client = client.clone();
            let (server, level, from, to) =
                (server.clone(), level.clone(), from.clone(), to.clone());
            async move {
                let project = client.inner().project.as_resource_id();
                let page = with_retries(
                    &client.inner().retry,
                    Idempotency::Safe,
                    op::LIST_EVENTS,
                    || {
                        client.within_request_timeout(op::LIST_EVENTS, async {
                            let (result, meta) =
                                with_received_meta(client.generated().list_events(
                                    project,
                                    level.as_ref(),
                                    from.as_ref(),
                                    std::num::NonZeroU32::new(limit),
                                    Some(i32::try_from(offset).unwrap_or(i32::MAX)),
                                    server.as_ref(),
                                    to.as_ref(),
                                    None,
                                ))
                                .await;
                            decode(op::LIST_EVENTS, result, meta).await
                        })
                    },
                )
                .await?;
                let crate::types::ListEventsResponse { events, count } = page;
                let next = next_offset(offset, events.len(), count);
                Ok(Page {
                    items: events,
                    next,
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_stop_at_the_count_or_an_empty_page() {
        assert_eq!(next_offset(0, 100, Some(250)), Some(100));
        assert_eq!(next_offset(200, 50, Some(250)), None);
        assert_eq!(next_offset(0, 0, Some(250)), None);
        // Without a count, only an empty page ends the listing.
        assert_eq!(next_offset(100, 100, None), Some(200));
    }

    #[test]
    fn page_sizes_are_checked_before_sending() {
        assert_eq!(page_size("limit", 0, &SERVER_PAGE_SIZES).unwrap(), 1000);
        assert_eq!(page_size("limit", 10, &SERVER_PAGE_SIZES).unwrap(), 10);
        let error = page_size("limit", 9, &SERVER_PAGE_SIZES).unwrap_err();
        assert_eq!(error.to_string(), "invalid limit: 9 is outside 10..=1000");
        assert!(page_size("limit", 1001, &RECORD_PAGE_SIZES).is_err());
    }
}
