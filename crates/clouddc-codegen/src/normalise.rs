//! Adjustments of the spec that progenitor 0.15 needs, made on a copy.
//!
//! The checked-in YAML documents the service as it is; these changes only shape
//! what the generator sees.

use openapiv3::{OpenAPI, ReferenceOr, Response};

/// The media type every error response is rewritten to.
pub const ERROR_MEDIA_TYPE: &str = "*/*";

/// Applies every normalisation to `spec`:
///
/// 1. **Error media types become `*/*`.** Each operation has JSON errors (400, 401,
///    403, 404, 500) and a `text/plain` 429. progenitor allows one error type per
///    operation and panics (`response_types.len() <= 1`) otherwise. With `*/*` every
///    error becomes `Error::ErrorResponse(ResponseValue<ByteStream>)`, which keeps the
///    status and headers; `clouddc::error` parses the body (JSON in any of the
///    vendor's spellings, or plain text).
/// 2. **Response components are inlined** so that rule 1 can rewrite them per
///    operation without touching the shared components.
pub fn normalise(spec: &mut OpenAPI) {
    let shared = spec.components.clone().unwrap_or_default();
    for (_, item) in spec.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            for (status, response) in operation.responses.responses.iter_mut() {
                let is_error = matches!(status, openapiv3::StatusCode::Code(code) if *code >= 400)
                    || matches!(status, openapiv3::StatusCode::Range(range) if *range >= 4);
                if !is_error {
                    continue;
                }
                if let Some(mut inlined) = resolve(response, &shared) {
                    rewrite_media_types(&mut inlined);
                    *response = ReferenceOr::Item(inlined);
                }
            }
        }
    }
}

fn resolve(response: &ReferenceOr<Response>, shared: &openapiv3::Components) -> Option<Response> {
    match response {
        ReferenceOr::Item(item) => Some(item.clone()),
        ReferenceOr::Reference { reference } => {
            let name = reference.strip_prefix("#/components/responses/")?;
            match shared.responses.get(name)? {
                ReferenceOr::Item(item) => Some(item.clone()),
                ReferenceOr::Reference { .. } => None,
            }
        }
    }
}

fn rewrite_media_types(response: &mut Response) {
    if response.content.is_empty() {
        return;
    }
    let first = response
        .content
        .values()
        .next()
        .cloned()
        .unwrap_or_default();
    response.content.clear();
    response.content.insert(ERROR_MEDIA_TYPE.to_string(), first);
}
