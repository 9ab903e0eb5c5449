//! The body protocol: what to expect of a response ([`plan_body`], from its
//! status, `Content-Length` and `Content-Range`), and reading one body into the
//! pipeline ([`pump`]) until it ends, breaks, stalls or overruns.

use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, HeaderMap};
use tokio::time::Instant;

use super::pipeline::Pipeline;
use super::speed::{SpeedFloor, TooSlow};
use crate::Error;

/// Idle timeouts longer than this are treated as this (keeps deadlines in range).
const MAX_IDLE: Duration = Duration::from_secs(365 * 24 * 3600);

/// What to expect of one response's body.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct BodyPlan {
    /// The body starts at offset 0 of the archive.
    pub(super) from_zero: bool,
    /// The body's length, when announced.
    pub(super) len: Option<u64>,
    /// The archive's size, when known.
    pub(super) total: Option<u64>,
}

/// Checks a successful response against what was asked; `Err` says what is
/// inconsistent (the download then starts over from zero).
pub(super) fn plan_body(
    status: StatusCode,
    headers: &HeaderMap,
    requested: Option<u64>,
    known_total: Option<u64>,
) -> Result<BodyPlan, String> {
    let content_length = match headers.get(CONTENT_LENGTH) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(parse_decimal)
                .ok_or_else(|| format!("unparseable Content-Length {value:?}"))?,
        ),
    };
    if status != StatusCode::PARTIAL_CONTENT {
        // The whole archive, whatever was asked.
        return Ok(BodyPlan {
            from_zero: true,
            len: content_length,
            total: content_length,
        });
    }
    let value = headers
        .get(CONTENT_RANGE)
        .ok_or_else(|| "206 without Content-Range".to_string())?;
    let range = value
        .to_str()
        .ok()
        .and_then(ContentRange::parse)
        .ok_or_else(|| format!("unparseable Content-Range {value:?}"))?;
    let wanted = requested.unwrap_or(0);
    if range.start != wanted {
        return Err(format!(
            "asked for the archive from byte {wanted}, got Content-Range {value:?}"
        ));
    }
    let len = range.end - range.start + 1;
    if let Some(cl) = content_length
        && cl != len
    {
        return Err(format!(
            "Content-Length {cl} does not match Content-Range {value:?}"
        ));
    }
    if range.start > 0
        && let (Some(now), Some(before)) = (range.total, known_total)
        && now != before
    {
        return Err(format!(
            "the archive's size changed from {before} to {now} bytes"
        ));
    }
    Ok(BodyPlan {
        from_zero: range.start == 0,
        len: Some(len),
        total: if range.start == 0 {
            range.total
        } else {
            range.total.or(known_total)
        },
    })
}

/// A `Content-Range: bytes start-end/total` value.
#[derive(Debug, PartialEq, Eq)]
struct ContentRange {
    start: u64,
    end: u64,
    total: Option<u64>,
}

impl ContentRange {
    /// Parses `bytes a-b/t` or `bytes a-b/*`; `None` unless `a <= b < t`.
    fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let (unit, rest) = value.split_once(' ')?;
        if !unit.eq_ignore_ascii_case("bytes") {
            return None;
        }
        let (range, total) = rest.trim().split_once('/')?;
        let (start, end) = range.trim().split_once('-')?;
        let start = parse_decimal(start.trim())?;
        let end = parse_decimal(end.trim())?;
        let total = match total.trim() {
            "*" => None,
            t => Some(parse_decimal(t)?),
        };
        let valid = start <= end && end < u64::MAX && total.is_none_or(|t| end < t);
        valid.then_some(Self { start, end, total })
    }
}

/// A decimal number of digits only (no sign, no spaces).
fn parse_decimal(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Why a body stopped before it was complete.
pub(super) enum Broken {
    /// Reading the body failed.
    Transport(reqwest::Error),
    /// No data arrived for this long.
    Idle(Duration),
    /// Data arrived, but below the speed floor.
    TooSlow(TooSlow),
    /// The body ended early.
    Short { expected: u64, got: u64 },
}

impl Broken {
    /// What happened, for the log line of a resume.
    pub(super) fn describe(&self) -> String {
        match self {
            Broken::Transport(e) => format!("transport error: {e}"),
            Broken::Idle(after) => format!("no data for {after:?}"),
            Broken::TooSlow(slow) => format!(
                "{} bytes in {:?}, below {} bytes/s",
                slow.got, slow.over, slow.bytes_per_second
            ),
            Broken::Short { expected, got } => {
                format!("the body ended after {got} of {expected} bytes")
            }
        }
    }

    /// The error once no resume is left; `part` is the temporary file.
    pub(super) fn into_error(self, part: PathBuf, max_resumes: u32) -> Error {
        match self {
            Broken::Transport(source) => Error::Transport {
                operation: "reading the archive",
                source,
            },
            Broken::Idle(after) => Error::Timeout {
                what: format!("receiving data for {}", part.display()),
                after,
            },
            Broken::TooSlow(slow) => Error::Timeout {
                what: format!(
                    "receiving at least {} bytes/s (got {} bytes) for {}",
                    slow.bytes_per_second,
                    slow.got,
                    part.display()
                ),
                after: slow.over,
            },
            Broken::Short { expected, got } => Error::Integrity {
                reason: format!(
                    "the body ended after {got} of {expected} bytes (after {max_resumes} resumes)"
                ),
                path: part,
            },
        }
    }
}

/// How reading one body ended.
pub(super) enum BodyEnd {
    /// The stream ended with every announced byte.
    Ended,
    /// The body stopped early.
    Broken(Broken),
    /// The body is longer than its `Content-Length` / `Content-Range`.
    TooLong { announced: u64 },
    /// The archive grew past the size bound.
    OverCap { cap: u64 },
    /// A worker stopped (write error, corrupt gzip).
    PipelineFailed,
}

/// A response body, as the generated client hands it over.
pub(super) type BodyStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send + Sync>>;

/// What one body may do before it counts as broken or too large.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// The body's announced length (`Content-Length`, `Content-Range`).
    pub(super) announced: Option<u64>,
    /// The most bytes of the archive there may be (counted in `written`).
    pub(super) cap: Option<u64>,
    /// A body that delivers nothing for this long is broken.
    pub(super) idle_timeout: Option<Duration>,
    /// A body averaging below these bytes per second over this long is broken.
    pub(super) low_speed: Option<(u64, Duration)>,
}

/// Moves one body into the pipeline, counting bytes into `written`.
/// `on_data` is told the new count and the time after every chunk.
pub(super) async fn pump<T: Send + 'static>(
    mut body: BodyStream,
    pipeline: &mut Pipeline<T>,
    written: &mut u64,
    limits: Limits,
    mut on_data: impl FnMut(u64, Instant),
) -> BodyEnd {
    let announced = limits.announced;
    let idle = limits.idle_timeout.map(|d| d.min(MAX_IDLE));
    let mut received: u64 = 0;
    let mut last_data = Instant::now();
    let mut floor = limits.low_speed.map(|(bytes_per_second, window)| {
        SpeedFloor::new(bytes_per_second, window.min(MAX_IDLE), last_data)
    });
    // When the timer must next look: the idle deadline or the end of the speed
    // window, whichever is first.
    let deadline = |last_data: Instant, floor: &Option<SpeedFloor>| {
        let idle_end = last_data + idle.unwrap_or(MAX_IDLE);
        floor
            .as_ref()
            .map_or(idle_end, |f| f.window_end().min(idle_end))
    };
    // Re-armed lazily: a chunk only records the time, and the timer, when it
    // fires, checks whether data arrived since.
    let timer = tokio::time::sleep_until(deadline(last_data, &floor));
    tokio::pin!(timer);
    loop {
        let item = tokio::select! {
            biased;
            item = body.next() => item,
            () = &mut timer => {
                let now = Instant::now();
                if let Some(idle) = idle
                    && now.duration_since(last_data) >= idle
                {
                    return BodyEnd::Broken(Broken::Idle(idle));
                }
                if let Some(floor) = &mut floor
                    && let Err(slow) = floor.check(now)
                {
                    return BodyEnd::Broken(Broken::TooSlow(slow));
                }
                timer.as_mut().reset(deadline(last_data, &floor).max(now));
                continue;
            }
        };
        let chunk = match item {
            None => {
                return match announced {
                    Some(expected) if received < expected => BodyEnd::Broken(Broken::Short {
                        expected: *written - received + expected,
                        got: *written,
                    }),
                    _ => BodyEnd::Ended,
                };
            }
            Some(Err(error)) => return BodyEnd::Broken(Broken::Transport(error)),
            Some(Ok(chunk)) => chunk,
        };
        if chunk.is_empty() {
            continue;
        }
        let len = chunk.len() as u64;
        if let Some(limit) = announced
            && len > limit - received
        {
            return BodyEnd::TooLong { announced: limit };
        }
        if let Some(cap) = limits.cap
            && len > cap.saturating_sub(*written)
        {
            return BodyEnd::OverCap { cap };
        }
        received += len;
        *written += len;
        let arrived = Instant::now();
        if let Some(floor) = &mut floor
            && let Err(slow) = floor.record(len, arrived)
        {
            return BodyEnd::Broken(Broken::TooSlow(slow));
        }
        if pipeline.send(chunk).await.is_err() {
            return BodyEnd::PipelineFailed;
        }
        // After the send: waiting for the disk or the gzip check is not the
        // network being idle, nor slow.
        last_data = Instant::now();
        if let Some(floor) = &mut floor {
            floor.pause(last_data - arrived);
        }
        on_data(*written, last_data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parsing() {
        let parse = ContentRange::parse;
        assert_eq!(
            parse("bytes 10-99/100"),
            Some(ContentRange {
                start: 10,
                end: 99,
                total: Some(100)
            })
        );
        assert_eq!(
            parse("BYTES 0-0/*"),
            Some(ContentRange {
                start: 0,
                end: 0,
                total: None
            })
        );
        for bad in [
            "",
            "bytes",
            "bytes */100",
            "bytes 5-4/100",
            "bytes 0-100/100",
            "bytes -1-5/10",
            "bytes +1-5/10",
            "items 0-1/2",
            "bytes 0-18446744073709551615/*",
            "bytes 0-99999999999999999999/*",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn body_plans() {
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, v.parse().unwrap());
            }
            map
        };
        let ok = StatusCode::OK;
        let partial = StatusCode::PARTIAL_CONTENT;
        assert_eq!(
            plan_body(ok, &headers(&[("content-length", "5")]), Some(3), Some(5)),
            Ok(BodyPlan {
                from_zero: true,
                len: Some(5),
                total: Some(5)
            })
        );
        assert_eq!(
            plan_body(
                partial,
                &headers(&[("content-range", "bytes 3-4/5"), ("content-length", "2")]),
                Some(3),
                Some(5)
            ),
            Ok(BodyPlan {
                from_zero: false,
                len: Some(2),
                total: Some(5)
            })
        );
        assert_eq!(
            plan_body(
                partial,
                &headers(&[("content-range", "bytes 3-4/*")]),
                Some(3),
                None
            ),
            Ok(BodyPlan {
                from_zero: false,
                len: Some(2),
                total: None
            })
        );
        for (pairs, requested, known) in [
            (vec![], Some(3), Some(5)),
            (vec![("content-range", "bytes 2-4/5")], Some(3), Some(5)),
            (vec![("content-range", "bytes 3-5/6")], Some(3), Some(5)),
            (
                vec![("content-range", "bytes 3-4/5"), ("content-length", "9")],
                Some(3),
                Some(5),
            ),
            (vec![("content-range", "garbage")], Some(3), Some(5)),
        ] {
            assert!(
                plan_body(partial, &headers(&pairs), requested, known).is_err(),
                "{pairs:?}"
            );
        }
        assert!(plan_body(ok, &headers(&[("content-length", "x")]), None, None).is_err());
    }
}
