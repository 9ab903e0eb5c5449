"""The independent reader of the object-storage tests: boto3, the AWS SDK for
Python, against the S3 server the tests start (moto's, on 127.0.0.1).

    s3_peer.py ENDPOINT create BUCKET    make the bucket
    s3_peer.py ENDPOINT objects BUCKET   every object: key, size, sha256 of its bytes
    s3_peer.py ENDPOINT keys BUCKET      every object's key, unread
    s3_peer.py ENDPOINT uploads BUCKET   the multipart uploads still open

Prints one JSON document on stdout. The credentials are moto's test ones,
from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""

import gzip
import hashlib
import json
import sys

import boto3
from botocore.config import Config


def client(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    )


def objects(s3, bucket):
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            found.append(
                {
                    "key": item["Key"],
                    "size": item["Size"],
                    "read": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "text": body.decode("utf-8", "replace") if len(body) < 512 else None,
                    "gzip_ok": gzip_ok(body),
                }
            )
    return found


def gzip_ok(body):
    """Whether the bytes are a complete gzip stream whose CRCs check out."""
    try:
        gzip.decompress(body)
        return True
    except (OSError, EOFError, ValueError):
        return False


def uploads(s3, bucket):
    answer = s3.list_multipart_uploads(Bucket=bucket)
    return [{"key": u["Key"], "upload_id": u["UploadId"]} for u in answer.get("Uploads", [])]


def main():
    endpoint, command, bucket = sys.argv[1:4]
    s3 = client(endpoint)
    if command == "create":
        s3.create_bucket(Bucket=bucket)
        result = {"created": bucket}
    elif command == "objects":
        result = {"objects": objects(s3, bucket)}
    elif command == "keys":
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        result = {"keys": [item["Key"] for page in pages for item in page.get("Contents", [])]}
    elif command == "uploads":
        result = {"uploads": uploads(s3, bucket)}
    else:
        raise SystemExit(f"unknown command {command!r}")
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
