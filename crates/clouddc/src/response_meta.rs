//! The status and request id of the response a generated call received.
//!
//! progenitor drops both when a 2xx body fails to decode, and support asks for
//! the request id, so the hooks record them (`record`) in a slot that lives
//! only as long as one call (`with_received_meta`), and errors read them back.

use std::cell::RefCell;

use reqwest::header::{HeaderMap, HeaderValue};

use crate::printable::snippet;

/// The header that carries the gateway's request id.
pub(crate) const X_REQUEST_ID: &str = "x-request-id";

/// The status and request id of the last response an operation received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseMeta {
    /// HTTP status code.
    pub status: Option<u16>,
    /// The `X-Request-Id` header, which support asks for.
    pub request_id: Option<String>,
}

/// What the hook saw of a response, kept raw: the request id becomes text (an
/// allocation and a scan for control characters) only when an error needs it,
/// not on every successful status poll.
#[derive(Debug, Default)]
pub(crate) struct ReceivedMeta {
    status: Option<u16>,
    request_id: Option<HeaderValue>,
}

impl ReceivedMeta {
    /// The status and the request id as text.
    pub(crate) fn into_meta(self) -> ResponseMeta {
        ResponseMeta {
            status: self.status,
            request_id: self.request_id.as_ref().and_then(printable_request_id),
        }
    }
}

tokio::task_local! {
    static LAST_RESPONSE: RefCell<ReceivedMeta>;
}

/// Remembers `response`'s status and request id for the call running
/// [`with_received_meta`]; outside one, does nothing.
pub(crate) fn record(response: &reqwest::Response) {
    let _ = LAST_RESPONSE.try_with(|slot| {
        *slot.borrow_mut() = ReceivedMeta {
            status: Some(response.status().as_u16()),
            request_id: response.headers().get(X_REQUEST_ID).cloned(),
        };
    });
}

/// Runs one generated call and returns, beside its result, the status and request
/// id of the response it received. progenitor drops both when a 2xx body fails to
/// decode; this keeps them for the error.
#[cfg(any(test, feature = "testing"))]
pub(crate) async fn with_response_meta<F: Future>(call: F) -> (F::Output, ResponseMeta) {
    let (output, received) = with_received_meta(call).await;
    (output, received.into_meta())
}

/// [`with_response_meta`], with the meta left raw until an error needs it.
pub(crate) async fn with_received_meta<F: Future>(call: F) -> (F::Output, ReceivedMeta) {
    // The slot lives in the scoped future and is taken back out of it once the
    // call is done: no shared allocation or lock per call.
    let mut scoped = std::pin::pin!(LAST_RESPONSE.scope(RefCell::default(), call));
    let output = scoped.as_mut().await;
    let received = scoped
        .as_mut()
        .take_value()
        .map(RefCell::into_inner)
        .unwrap_or_default();
    (output, received)
}

/// The request id of a response, from `X-Request-Id`.
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    headers.get(X_REQUEST_ID).and_then(printable_request_id)
}

/// A request id header's value as printable text; `None` when empty or not text.
fn printable_request_id(value: &HeaderValue) -> Option<String> {
    value
        .to_str()
        .ok()
        .map(|v| snippet(v.as_bytes()))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_printable_or_absent() {
        let mut headers = HeaderMap::new();
        assert_eq!(request_id(&headers), None);
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("  "));
        assert_eq!(request_id(&headers), None);
        headers.insert(X_REQUEST_ID, HeaderValue::from_static("r-1\t2"));
        assert_eq!(request_id(&headers).as_deref(), Some("r-1 2"));
    }

    #[tokio::test]
    async fn the_slot_lives_for_one_call() {
        let response = reqwest::Response::from(
            http::Response::builder()
                .status(502)
                .header(X_REQUEST_ID, "r-9")
                .body(Vec::<u8>::new())
                .expect("response"),
        );
        // Outside a call, recording is a no-op rather than a panic.
        record(&response);
        let ((), meta) = with_response_meta(async { record(&response) }).await;
        let expected = ResponseMeta {
            status: Some(502),
            request_id: Some("r-9".into()),
        };
        assert_eq!(meta, expected);
        let ((), meta) = with_response_meta(async {}).await;
        assert_eq!(meta, ResponseMeta::default());
    }
}
