#!/usr/bin/env python3
"""The three log-export operations through the vendor's official Python SDK only.

Used by `cargo xtask contract` (suite 6: the vendor's own client against the
simulator) and `cargo xtask bench` (the SDK as the peer to beat). Signs with
AK/SK through `BasicCredentials`; nothing of the SDK is patched.

Configuration: either --endpoint, --ak, --sk and --project-id, or only
--region, which configures the SDK as its users do: credentials from its
default chain (HUAWEICLOUD_SDK_CREDENTIALS_FILE's [basic] section here), the
endpoint from its region provider chain (HUAWEICLOUD_SDK_REGIONS_FILE), and
the project id looked up with IAM at the file's iam_endpoint.

Modes:
  (default)                   export, poll status until completed, stream the download
  --download-only EXPORT_ID   download an existing export
  --status-loop N             N sequential status calls (on --export-id, else a new export)

Each step prints one line, `[seconds] step {json}`. Exit status: 2 when the SDK
raised an error, 3 on any other exception.
"""
import argparse
import hashlib
import json
import os
import resource
import sys
import tempfile
import time

# The SDK may persist ~/.huaweicloud/application_id: never in the caller's home.
os.environ["HOME"] = tempfile.mkdtemp(prefix="clouddc-peer-home-")

from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.auth.provider import CredentialProviderChain  # noqa: E402
from huaweicloudsdkcore.exceptions.exceptions import SdkException  # noqa: E402
from huaweicloudsdkcore.http.http_config import HttpConfig  # noqa: E402
from huaweicloudsdkclouddc.v1.region.clouddc_region import CloudDCRegion  # noqa: E402
from huaweicloudsdkclouddc.v1 import (  # noqa: E402
    CloudDCClient,
    DownloadServerLogsRequest,
    ExportServerLogsRequest,
    ShowLogsExportStatusRequest,
)

START = time.monotonic()


def peak_rss_mib():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def step(name, **fields):
    print("[%8.3f] %s %s" % (time.monotonic() - START, name, json.dumps(fields, default=str)), flush=True)


def elapsed_ms(since):
    return round((time.monotonic() - since) * 1000, 3)


def client_for(args):
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    config.retry_times = 0
    config.timeout = (60, 120)
    config.user_agent = "clouddc-peer/1.0"
    if args.region:
        # Nothing but the region: the SDK's own chains find the rest. The
        # basic chain is asked by name: `build()` without credentials asks a
        # chain for the type "BasicCredentials", whose file provider then
        # looks for a `[basiccredentials]` section (3.1.219), not `[basic]`.
        credentials = CredentialProviderChain.get_basic_credential_provider_chain().get_credentials()
        return (
            CloudDCClient.new_builder()
            .with_credentials(credentials)
            .with_region(CloudDCRegion.value_of(args.region))
            .with_http_config(config)
            .build()
        )
    return (
        CloudDCClient.new_builder()
        .with_credentials(BasicCredentials(args.ak, args.sk, args.project_id))
        .with_endpoint(args.endpoint)
        .with_http_config(config)
        .build()
    )


def finished(status):
    """Completed in any dialect: a `completed` status or 100 percent (`"100"`, `"100%"`, 100)."""
    if str(status.status).lower() == "completed":
        return True
    try:
        return float(str(status.percentage).strip().rstrip("%")) == 100.0
    except ValueError:
        return False


def export(client, args):
    since = time.monotonic()
    response = client.export_server_logs(ExportServerLogsRequest(id=args.server_id))
    step("export", ms=elapsed_ms(since), http=response.status_code, export_id=response.export_id,
         status=response.status, percentage=response.percentage)
    return response.export_id


def status(client, args, export_id):
    return client.show_logs_export_status(ShowLogsExportStatusRequest(id=args.server_id, export_id=export_id))


def wait(client, args, export_id):
    since = time.monotonic()
    calls = 0
    while True:
        calls += 1
        t = time.monotonic()
        current = status(client, args, export_id)
        step("status", n=calls, ms=elapsed_ms(t), status=current.status, percentage=current.percentage)
        if finished(current):
            return
        if time.monotonic() - since > args.max_wait:
            raise SystemExit("the export did not complete within %s s" % args.max_wait)
        time.sleep(args.poll_interval)


def download(client, args, export_id):
    since = time.monotonic()
    response = client.download_server_logs(DownloadServerLogsRequest(id=args.server_id, export_id=export_id))
    step("download-headers", ttfb_ms=elapsed_ms(since), http=response.status_code,
         content_disposition=response.content_disposition)
    # Plain, as the SDK's examples write a download; --sha256 hashes it too.
    digest = hashlib.sha256() if args.sha256 else None
    written = [0]

    def sink(stream):
        with open(args.out, "wb") as out:
            for chunk in stream.iter_content(chunk_size=1 << 20):
                out.write(chunk)
                if digest is not None:
                    digest.update(chunk)
                written[0] += len(chunk)

    response.consume_download_stream(sink)
    seconds = time.monotonic() - since
    step("download-done", bytes=written[0], seconds=round(seconds, 3),
         mib_per_s=round(written[0] / 1048576.0 / seconds, 1),
         sha256=digest.hexdigest() if digest is not None else None,
         peak_rss_mib=peak_rss_mib())


def status_loop(client, args):
    export_id = args.export_id or export(client, args)
    latencies = []
    since = time.monotonic()
    for _ in range(args.status_loop):
        t = time.monotonic()
        status(client, args, export_id)
        latencies.append(time.monotonic() - t)
    seconds = time.monotonic() - since
    latencies.sort()

    def quantile(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3)

    step("status-loop", calls=len(latencies), seconds=round(seconds, 3),
         req_per_s=round(len(latencies) / seconds, 1), p50_ms=quantile(0.5), p99_ms=quantile(0.99),
         max_ms=round(latencies[-1] * 1000, 3), peak_rss_mib=peak_rss_mib())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--region")
    parser.add_argument("--endpoint")
    parser.add_argument("--ak")
    parser.add_argument("--sk")
    parser.add_argument("--project-id")
    parser.add_argument("--server-id", default="srv-0001")
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--max-wait", type=float, default=600.0)
    parser.add_argument("--out", default="server_logs.tar.gz")
    parser.add_argument("--download-only", metavar="EXPORT_ID")
    parser.add_argument("--sha256", action="store_true",
                        help="hash the download (SHA-256) as it is written")
    parser.add_argument("--status-loop", type=int, metavar="N")
    parser.add_argument("--export-id")
    args = parser.parse_args()
    explicit = [args.endpoint, args.ak, args.sk, args.project_id]
    if not args.region and not all(explicit):
        parser.error("give --region alone, or --endpoint, --ak, --sk and --project-id")
    if args.region and any(explicit):
        parser.error("--region configures the SDK as its users do: give it alone")
    client = client_for(args)
    try:
        if args.status_loop:
            status_loop(client, args)
        elif args.download_only:
            download(client, args, args.download_only)
        else:
            export_id = export(client, args)
            wait(client, args, export_id)
            download(client, args, export_id)
    except SdkException as error:
        step("sdk-error", type=type(error).__name__, error=str(error)[:400],
             status_code=getattr(error, "status_code", None), request_id=getattr(error, "request_id", None))
        sys.exit(2)
    except Exception as error:  # the SDK lets some transport errors through unwrapped
        step("error", type=type(error).__name__, error=str(error)[:400])
        sys.exit(3)
    finally:
        client.close()


if __name__ == "__main__":
    main()
