"""Lists every server with the official Python SDK, as its users would.

Used by `cargo xtask contract`: it follows `page_info.next_marker` with
`ListServersRequest(marker=..., limit=...)` until the last page, and prints one
JSON document, `{"servers": [...], "pages": N}`, the servers as the SDK's
`to_dict()` gives them (None fields dropped, as the wire omits them).

usage: sdk_list_servers.py ENDPOINT AK SK PROJECT_ID LIMIT
"""

import json
import os
import sys
import tempfile

# The SDK may persist ~/.huaweicloud/application_id; keep it out of the user's home.
os.environ["HOME"] = tempfile.mkdtemp(prefix="clouddc-sdk-home-")

from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.http.http_config import HttpConfig  # noqa: E402
from huaweicloudsdkclouddc.v1 import CloudDCClient, ListServersRequest  # noqa: E402

MAX_PAGES = 10_000


def without_nones(value):
    if isinstance(value, dict):
        return {k: without_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nones(v) for v in value]
    return value


def main():
    endpoint, ak, sk, project, limit = sys.argv[1:6]
    config = HttpConfig.get_default_config()
    config.retry_times = 0
    client = (
        CloudDCClient.new_builder()
        .with_credentials(BasicCredentials(ak, sk, project))
        .with_endpoint(endpoint)
        .with_http_config(config)
        .build()
    )
    servers, marker, pages = [], None, 0
    while pages < MAX_PAGES:
        response = client.list_servers(ListServersRequest(marker=marker, limit=int(limit)))
        pages += 1
        servers.extend(without_nones(s.to_dict()) for s in response.servers or [])
        marker = response.page_info.next_marker if response.page_info else None
        if not marker:
            break
    json.dump({"servers": servers, "pages": pages}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
