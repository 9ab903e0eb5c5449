#!/usr/bin/env python3
"""Writes the AK/SK signing vectors by running the vendor's official signer.

Run by `cargo xtask vectors`, in the venv that `tools/python/requirements.txt`
pins (huaweicloudsdkcore and huaweicloudsdkclouddc 3.1.219):

    python gen_sign_vectors.py OUT.json

Nothing in the output is computed here: every field of every case's `output`
is a value the SDK's own `Signer` produced or sent. The signer's steps are
recorded by wrapping its methods, so each intermediate (canonical URI, query,
request, string to sign, signature) is the SDK's, not a recomputation.

Two sources of cases:
- `clouddc-client-pipeline`: a whole call through `CloudDCClient` (credentials,
  user agent, path parameters, content type as the SDK sets them), stopped
  just before the HTTP send;
- `direct-signer`: an `SdkRequest` handed to `BasicCredentials.sign_request`,
  for inputs the three operations never produce (queries, bodies, odd headers).

Input dates are fixed (`X-Sdk-Date` is set before the signer reads it), so the
file is the same on every run.
"""
import base64
import copy
import io
import json
import os
import sys
import tempfile
from urllib.parse import quote

# The SDK may write ~/.huaweicloud/application_id; keep it out of the real home.
os.environ["HOME"] = tempfile.mkdtemp(prefix="clouddc-vectors-home-")

from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.http.http_client import HttpClient  # noqa: E402
from huaweicloudsdkcore.http.http_config import HttpConfig  # noqa: E402
from huaweicloudsdkcore.sdk_request import SdkRequest  # noqa: E402
from huaweicloudsdkcore.signer.signer import Signer  # noqa: E402
from huaweicloudsdkclouddc.v1 import (  # noqa: E402
    CloudDCClient,
    DownloadServerLogsRequest,
    ExportServerLogsRequest,
    ShowLogsExportStatusRequest,
)

AK = "HPUAEXAMPLEAK0000001"
SK = "exampleSecretKey0000000000000000000000001"
DATE = "20250320T024806Z"
PROJECT = "0123456789abcdef0123456789abcdef"
HOST = "127.0.0.1:8080"
ENDPOINT = "http://" + HOST
USER_AGENT = "clouddc-vectors/1.0"
BASE = "/v1/%s/physicalservers" % PROJECT
EXPORTS = BASE + "/srv-0001/logs/exports"
JSON_HEADERS = {"Content-Type": "application/json", "X-Sdk-Date": DATE}

# --- recording the signer's own steps ---------------------------------------

RECORD = {}


def _record(name, key):
    """Wraps the signer's method `name` so its first result is kept as `key`."""
    attribute = Signer.__dict__[name]
    is_class_method = isinstance(attribute, classmethod)
    original = attribute.__func__ if is_class_method else attribute

    def wrapper(owner, *args):
        value = original(owner, *args)
        RECORD.setdefault(key, value)
        return value

    setattr(Signer, name, classmethod(wrapper) if is_class_method else wrapper)


_record("_process_signed_headers", "signed_headers")
_record("_process_canonical_request", "canonical_request")
_record("_process_hash_payload", "payload_hash")
_record("_process_canonical_uri", "canonical_uri")
_record("_process_string_to_sign", "string_to_sign")
_record("_sign_string_to_sign", "signature")
_record("_process_canonical_query_string", "canonical_query_string")

_original_sign = Signer.sign


def _recording_sign(self, request):
    """Fixes the date, snapshots the input the signer is handed, then signs."""
    if not any(k.lower() == "x-sdk-date" for k in request.header_params):
        request.header_params["X-Sdk-Date"] = DATE
    RECORD["input_headers"] = dict(request.header_params)
    RECORD["input_path"] = request.resource_path
    # Deep: the signer sorts list values in place.
    RECORD["input_query"] = copy.deepcopy([list(pair) for pair in (request.query_params or [])])
    RECORD["input_body"] = request.body
    signed = _original_sign(self, request)
    RECORD["signed"] = signed
    return signed


Signer.sign = _recording_sign


class _Stop(Exception):
    """Raised instead of sending: a pipeline case ends once the request is signed."""


def _no_send(self, request):
    raise _Stop()


HttpClient.do_request_sync = _no_send


# --- one case ----------------------------------------------------------------

def _wire(value):
    """A header value as bytes on the wire, shown as UTF-8 (the SDK re-encodes it)."""
    text = str(value)
    try:
        return text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _url(scheme, host, path, query):
    """The URL of the request in caller order, encoded as the SDK's signer encodes."""
    pairs = []
    for key, value in query:
        values = value if isinstance(value, list) else [value]
        for item in values:
            text = str(item).lower() if isinstance(item, bool) and not isinstance(value, list) else str(item)
            pairs.append("%s=%s" % (quote(key, safe="~"), quote(text, safe="~")))
    url = "%s://%s%s" % (scheme, host, path)
    return url + ("?" + "&".join(pairs) if pairs else "")


def _body_fields(body, stream_bytes):
    if stream_bytes is not None:
        return {
            "body_kind": "stream",
            "body_utf8": stream_bytes.decode("utf-8"),
            "body_b64": base64.b64encode(stream_bytes).decode("ascii"),
            "body_note": "a file-like object; the signer never reads it",
        }
    if body is None:
        return {"body_kind": "none", "body_utf8": None, "body_b64": None}
    try:
        utf8 = body.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    return {"body_kind": "bytes", "body_utf8": utf8, "body_b64": base64.b64encode(body).decode("ascii")}


def _case(case_id, description, source, scheme, host, sdk_call=None, stream_bytes=None):
    signed = RECORD["signed"]
    query = RECORD["input_query"]
    path = RECORD["input_path"]
    body = RECORD["input_body"]
    if isinstance(body, str):
        body = body.encode("utf-8")
    if stream_bytes is not None:
        body = None
    inputs = {
        "ak": AK,
        "sk": SK,
        "method": signed.method,
        "scheme": scheme,
        "host": host,
        "path": path,
        "query_params": query,
        "url": _url(scheme, host, path, query),
        "headers": RECORD["input_headers"],
    }
    inputs.update(_body_fields(body, stream_bytes))
    case = {"id": case_id, "description": description, "source": source}
    if sdk_call is not None:
        case["sdk_call"] = sdk_call
    case["input"] = inputs
    case["output"] = {
        "canonical_uri": RECORD["canonical_uri"],
        "canonical_query_string": RECORD["canonical_query_string"],
        "payload_hash": RECORD["payload_hash"],
        "canonical_request": RECORD["canonical_request"],
        "string_to_sign": RECORD["string_to_sign"],
        "signed_headers": RECORD["signed_headers"],
        "signature": RECORD["signature"],
        "authorization": signed.header_params["Authorization"],
        "url_sent": signed.url,
        "headers_sent": {k: _wire(v) for k, v in signed.header_params.items()},
    }
    return case


def pipeline(case_id, description, op, server, export_id=None, security_token=None):
    """One operation through `CloudDCClient`, signed and stopped before sending."""
    RECORD.clear()
    config = HttpConfig.get_default_config()
    config.user_agent = USER_AGENT
    config.retry_times = 0
    credentials = BasicCredentials(AK, SK, PROJECT)
    if security_token is not None:
        credentials = credentials.with_security_token(security_token)
    client = (
        CloudDCClient.new_builder()
        .with_credentials(credentials)
        .with_endpoint(ENDPOINT)
        .with_http_config(config)
        .build()
    )
    if op == "export":
        call = lambda: client.export_server_logs(ExportServerLogsRequest(id=server))  # noqa: E731
    elif op == "status":
        call = lambda: client.show_logs_export_status(  # noqa: E731
            ShowLogsExportStatusRequest(id=server, export_id=export_id)
        )
    else:
        call = lambda: client.download_server_logs(  # noqa: E731
            DownloadServerLogsRequest(id=server, export_id=export_id)
        )
    try:
        call()
        raise SystemExit("%s: the SDK sent a request; the send hook did not run" % case_id)
    except _Stop:
        pass
    sdk_call = {
        "op": op,
        "id": server,
        "export_id": export_id,
        "project_id": PROJECT,
        "endpoint": ENDPOINT,
        "user_agent_config": USER_AGENT,
        "security_token": security_token is not None,
    }
    return _case(case_id, description, "clouddc-client-pipeline", "http", HOST, sdk_call)


def direct(case_id, description, method, path, headers, query=(), body=None, stream=None,
           host=HOST, scheme="http", security_token=None, project_id=None):
    """An `SdkRequest` signed by `BasicCredentials.sign_request`, as the client would."""
    RECORD.clear()
    request = SdkRequest(
        method=method,
        schema=scheme,
        host=host,
        resource_path=path,
        query_params=[tuple(pair) for pair in query],
        header_params=dict(headers),
        body=io.BytesIO(stream) if stream is not None else body,
    )
    credentials = BasicCredentials(AK, SK, project_id)
    if security_token is not None:
        credentials = credentials.with_security_token(security_token)
    credentials.sign_request(request)
    return _case(case_id, description, "direct-signer", scheme, host, stream_bytes=stream)


# --- the cases ----------------------------------------------------------------

def cases():
    out = []
    add = out.append
    # The three operations, as the vendor's client sends them.
    add(pipeline("export_pipeline", "ExportServerLogs via CloudDCClient: POST with no body, "
                 "Content-Type application/json still set and signed", "export", "srv-0001"))
    add(pipeline("status_pipeline", "ShowLogsExportStatus via CloudDCClient", "status", "srv-0001", "exp-7f3a"))
    add(pipeline("download_pipeline", "DownloadServerLogs via CloudDCClient (GET .../content); "
                 "the SDK still sends Content-Type: application/json", "download", "srv-0001", "exp-7f3a"))
    add(pipeline("status_pipeline_id_spaces", "ids with spaces: path parameters quoted with safe='' -> %20",
                 "status", "srv 01", "exp 1"))
    add(pipeline("download_pipeline_id_unicode", "unicode ids: UTF-8 percent-encoding, upper-case hex",
                 "download", "服务器-é", "导出✓"))
    add(pipeline("export_pipeline_id_slash", "an id with '/': sent as %2F, but the canonical URI is "
                 "decoded and split on '/', so it is signed as two segments", "export", "rack/7"))
    add(pipeline("status_pipeline_id_reserved", "reserved characters in ids: every one but - _ . ~ "
                 "is percent-encoded on the wire and in the canonical URI",
                 "status", "a:b@c+d!e*f(g)h'i,j;k=l$m&n", "x[1]?#"))
    add(pipeline("download_pipeline_id_percent", "a literal '%' in an id: sent as %25, decoded once "
                 "for the canonical URI and encoded again", "download", "srv%41", "100%"))
    add(pipeline("export_pipeline_id_astral", "characters outside the BMP in an id (4-byte UTF-8)",
                 "export", "服务器🚀"))
    add(pipeline("status_pipeline_security_token", "temporary credentials through CloudDCClient: "
                 "X-Security-Token and X-Project-Id set by the credentials and signed",
                 "status", "srv-0001", "exp-7f3a", security_token="tok/+=EXAMPLE.session-token"))
    add(pipeline("download_pipeline_security_token", "temporary credentials on the download",
                 "download", "srv-0001", "exp-7f3a", security_token="FQoGZXIvYXdzEXAMPLE=="))

    # Queries.
    status = EXPORTS + "/exp-7f3a"
    add(direct("query_repeated_and_empty", "repeated keys, empty values, space, unicode and an upper-case "
               "key; sorted by (raw key, raw value) before encoding", "GET", status, JSON_HEADERS,
               [("marker", "b"), ("limit", "10"), ("marker", "a"), ("empty", ""), ("Zed", "1"),
                ("space key", "v w"), ("uni", "é"), ("marker", ""), ("tilde~", "a~b*c")]))
    add(direct("query_list_bool_int", "a list value (sorted, one k=v each), bool -> lower-case 'true', "
               "int -> str", "GET", BASE, JSON_HEADERS,
               [("tags", ["zeta", "alpha", "Mid"]), ("flag", True), ("off", False), ("n", 5)]))
    add(direct("query_reserved_chars", "reserved characters in keys and values: & = + / ? # % , ; : @ "
               "are all percent-encoded, '+' is not a space", "GET", status, JSON_HEADERS,
               [("a&b", "c=d"), ("plus", "1+1"), ("path", "/x/y?z"), ("hash", "#frag"),
                ("pct", "100%"), ("list", "a,b;c:d@e"), ("eq=", "=")]))
    add(direct("query_codepoint_order", "keys sorted by code point before encoding: upper case, '_', "
               "lower case, then non-ASCII; equal keys by value", "GET", BASE, JSON_HEADERS,
               [("é", "1"), ("b", "2"), ("_", "3"), ("B", "4"), ("a", "z"), ("a", "Z"), ("a", "10"),
                ("a", "9"), ("ä", "5")]))
    add(direct("query_unicode_astral", "non-BMP characters in a key and a value", "GET", BASE, JSON_HEADERS,
               [("emoji🚀", "值✓🙂"), ("k", "日志")]))
    add(direct("query_empty_key", "an empty key with a value, and a key with an empty value", "GET", BASE,
               JSON_HEADERS, [("", "x"), ("k", "")]))
    add(direct("query_spaces_and_tabs", "spaces and a tab inside values, and at their ends", "GET", BASE,
               JSON_HEADERS, [("q", " lead"), ("r", "trail "), ("t", "a\tb")]))

    # Paths.
    add(direct("trailing_slash_path", "a path already ending in '/': no extra slash", "POST",
               EXPORTS + "/", JSON_HEADERS))
    add(direct("root_path", "the path '/' stays '/'", "GET", "/", JSON_HEADERS))
    add(direct("empty_path_segments", "empty segments ('//') stay empty in the canonical URI", "GET",
               "/v1//physicalservers//srv-0001", JSON_HEADERS))
    add(direct("path_unreserved_kept", "unreserved characters - _ . ~ stay as they are", "GET",
               BASE + "/srv_0.1~a-b", JSON_HEADERS))
    add(direct("path_lowercase_escapes", "lower-case escapes in the sent path are decoded and re-encoded "
               "with upper-case hex", "GET", BASE + "/srv%2fa%c3%a9", JSON_HEADERS))

    # Bodies.
    add(direct("empty_bytes_body", "POST with b'' -> the empty SHA-256", "POST", EXPORTS, JSON_HEADERS, body=b""))
    add(direct("empty_json_object_body", "POST with '{}' -> sha256('{}')", "POST", EXPORTS, JSON_HEADERS,
               body=b"{}"))
    add(direct("json_charset_body", "Content-Type application/json;charset=UTF-8 is still hashed "
               "(prefix match)", "POST", EXPORTS,
               {"Content-Type": "application/json;charset=UTF-8", "X-Sdk-Date": DATE},
               body='{"reason":"日志","n":1}'.encode("utf-8")))
    add(direct("octet_stream_bytes_body", "a non-JSON Content-Type: the SDK adds X-Sdk-Content-Sha256: "
               "UNSIGNED-PAYLOAD (signed) and uses it as the payload hash", "POST", BASE + "/srv-0001/upload",
               {"Content-Type": "application/octet-stream", "X-Sdk-Date": DATE}, body=b"\x00\x01binary\xff"))
    add(direct("octet_stream_no_body", "a non-JSON Content-Type with no body: the marker is added and "
               "signed but the payload hash is the empty SHA-256", "GET", EXPORTS + "/e/content",
               {"Content-Type": "application/octet-stream", "X-Sdk-Date": DATE}))
    add(direct("stream_body_file", "a stream body with octet-stream -> UNSIGNED-PAYLOAD; the signer does "
               "not read it", "PUT", BASE + "/srv-0001/upload",
               {"Content-Type": "application/octet-stream", "X-Sdk-Date": DATE},
               stream=b"streamed-body-bytes\n" * 4))
    add(direct("padded_json_content_type", "a JSON Content-Type with leading spaces fails the SDK's "
               "prefix test (read before trimming): UNSIGNED-PAYLOAD, and it is sent trimmed", "POST", EXPORTS,
               {"Content-Type": "  application/json", "X-Sdk-Date": DATE}, body=b"{}"))

    # Headers.
    add(direct("mixed_case_headers", "names lower-cased and sorted; X-Sdk-Date found case-insensitively; "
               "the original case kept on the wire", "GET", status,
               {"content-TYPE": "application/json", "x-sdk-date": DATE, "X-Custom-ABC": "Value",
                "a-first": "1", "ZZ-Last": "z"}))
    add(direct("underscore_header_unsigned", "names with '_' are not signed but are sent", "GET", BASE,
               {"Content-Type": "application/json", "X-Sdk-Date": DATE, "X_Not_Signed": "1", "X-Signed": "2"}))
    add(direct("padded_header_values", "values with leading/trailing spaces and tabs are signed and SENT "
               "trimmed; inner white space stays", "GET", status,
               {"Content-Type": "application/json", "X-Sdk-Date": DATE, "X-Padded": "  padded value \t",
                "X-Tab-Lead": "\tvalue", "X-Inner": " a  b\tc ", "X_Under_Padded": "  under  "}))
    add(direct("whitespace_only_header_values", "a value of only white space is sent and signed as empty",
               "GET", status, {"Content-Type": "application/json", "X-Sdk-Date": DATE, "X-Blank": "   ",
                               "X-Tabs": "\t \t"}))
    add(direct("empty_header_value", "an empty value is signed as 'name:' and sent empty", "GET", status,
               {"Content-Type": "application/json", "X-Sdk-Date": DATE, "X-Empty": ""}))
    add(direct("padded_host_header", "a caller-set Host with padding is signed and sent trimmed", "GET", BASE,
               {"Content-Type": "application/json", "X-Sdk-Date": DATE, "Host": " clouddc.example.com:8443 "}))
    add(direct("security_token_and_project", "BasicCredentials.sign_request adds X-Project-Id and "
               "X-Security-Token before signing (both signed)", "GET", status, JSON_HEADERS,
               security_token="tok/+=EXAMPLE", project_id=PROJECT))
    add(direct("explicit_host_header", "a caller-set host header (any case) is kept and signed instead of "
               "the request's host", "GET", BASE,
               {"Content-Type": "application/json", "X-Sdk-Date": DATE, "host": "clouddc.example.com:8443"}))
    add(direct("lowercase_method", "the method is upper-cased in the canonical request", "post", EXPORTS,
               JSON_HEADERS))
    add(direct("duplicate_case_headers", "QUIRK: two names differing only in case -> SignedHeaders lists "
               "the name twice and both canonical lines use the LAST value; a client must not produce it",
               "GET", BASE, {"Content-Type": "application/json", "X-Sdk-Date": DATE, "X-Dup": "first",
                             "x-dup": "second"}))
    add(direct("repeated_header_three_spellings", "QUIRK: one name in three spellings, one padded: listed "
               "three times with the last (trimmed) value", "GET", BASE,
               {"Content-Type": "application/json", "X-Sdk-Date": DATE, "X-Rep": "one", "x-rep": "two",
                "X-REP": " three "}))
    return out


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: gen_sign_vectors.py OUT.json")
    from importlib.metadata import version

    document = {
        "generator": "tools/python/gen_sign_vectors.py",
        "sdk": {
            "huaweicloudsdkcore": version("huaweicloudsdkcore"),
            "huaweicloudsdkclouddc": version("huaweicloudsdkclouddc"),
            "signer": "huaweicloudsdkcore.signer.signer.Signer",
        },
        "algorithm": "SDK-HMAC-SHA256",
        "notes": [
            "input.headers = the header dict handed to Signer.sign (after the client or the credentials "
            "added Content-Type, User-Agent, X-Project-Id, X-Security-Token; before Host/Authorization).",
            "input.path is the resource path as the SDK holds it (path params already quote(v, safe='')).",
            "input.query_params are the raw (decoded) pairs in caller order; input.url encodes them in that order.",
            "output.url_sent is what the SDK requests: its query string is the canonical (sorted) one.",
            "output.headers_sent are the header values on the wire (UTF-8 decoded for display).",
        ],
        "cases": cases(),
    }
    ids = [case["id"] for case in document["cases"]]
    if len(ids) != len(set(ids)):
        raise SystemExit("duplicate case ids")
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump(document, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print("%d cases from huaweicloudsdkcore %s" % (len(ids), version("huaweicloudsdkcore")))


if __name__ == "__main__":
    main()
