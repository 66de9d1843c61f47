#!/usr/bin/env python3
"""Known-answer vectors for s3lite's SigV4 signer, computed once with botocore.

Run:  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install botocore
      /tmp/venv/bin/python tests/data/sigv4/make_vectors.py > tests/data/sigv4/vectors.json

tests/sigv4_vectors.rs reads the JSON (no Python at test time). Each vector fixes credentials,
region, host, time, method, key and query; botocore signs it two ways: S3SigV4QueryAuth (a
presigned URL: `url`, `signature`) and S3SigV4Auth (headers: `authorization`, `headers`).
The path is what botocore puts on the wire for the key (S3 keeps '/' and encodes the rest).
"""

import datetime
import json
from unittest import mock

import botocore
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence
from urllib.parse import quote

ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
WHEN = datetime.datetime(2026, 12, 6, 21, 30, 45)  # UTC

CASES = [
    # name, method, region, host, bucket, key, query params, extra signed headers, expires
    ("plain-get", "GET", "us-east-1", "127.0.0.1:9000", "photos", "cat.jpg", [], [], 3600),
    ("nested-put", "PUT", "us-east-1", "127.0.0.1:9000", "photos", "2024/01/cat.jpg", [], [], 900),
    ("space", "GET", "eu-west-1", "localhost:9000", "bkt", "my cat.jpg", [], [], 60),
    ("unicode", "GET", "us-east-1", "s3lite.local", "bkt", "fotos/año/café ☕.txt", [], [], 604800),
    ("plus-tilde", "HEAD", "us-east-1", "127.0.0.1:9000", "bkt", "a+b~c=d&e.txt", [], [], 1),
    ("reserved", "DELETE", "us-west-2", "127.0.0.1:9000", "bkt", "sp!ce*(x)'y\"z;:@$,#?%.bin", [], [], 300),
    ("slashes", "GET", "us-east-1", "127.0.0.1:9000", "bkt", "a//b/./c/../d/", [], [], 300),
    (
        "query-params",
        "GET",
        "us-east-1",
        "127.0.0.1:9000",
        "bkt",
        "report.pdf",
        [
            ("versionId", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"),
            ("response-content-disposition", 'attachment; filename="rëport 2026.pdf"'),
            ("response-content-type", "application/pdf"),
        ],
        [],
        3600,
    ),
    (
        "sse-c-headers",
        "PUT",
        "us-east-1",
        "127.0.0.1:9000",
        "bkt",
        "secret.bin",
        [],
        [
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-customer-key", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
            ("x-amz-server-side-encryption-customer-key-md5", "H5zWT7S4fv+AAt7QKmRK7w=="),
        ],
        3600,
    ),
]


def url_for(host, bucket, key, query):
    path = "/" + bucket + "/" + quote(key, safe="/~")
    url = "http://" + host + path
    if query:
        url += "?" + percent_encode_sequence(query)
    return url, path


def sign(case):
    name, method, region, host, bucket, key, query, extra, expires = case
    creds = Credentials(ACCESS_KEY, SECRET)
    url, path = url_for(host, bucket, key, query)
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN):
        q = AWSRequest(method=method, url=url, headers=dict(extra))
        S3SigV4QueryAuth(creds, "s3", region, expires=expires).add_auth(q)
        h = AWSRequest(method=method, url=url, headers=dict(extra), data=b"")
        h.context["payload_signing_enabled"] = False
        S3SigV4Auth(creds, "s3", region).add_auth(h)
    presigned = q.url
    signature = presigned.rsplit("X-Amz-Signature=", 1)[1]
    headers = {k.lower(): v for k, v in h.headers.items() if k.lower() != "authorization"}
    return {
        "name": name,
        "method": method,
        "region": region,
        "host": host,
        "bucket": bucket,
        "key": key,
        "path": path,
        "query": [list(p) for p in query],
        "signed_headers": [list(p) for p in extra],
        "expires": expires,
        "url": presigned,
        "signature": signature,
        "headers": headers,
        "authorization": h.headers["Authorization"],
    }


def main():
    out = {
        "generator": "botocore " + botocore.__version__,
        "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET,
        "amz_date": WHEN.strftime("%Y%m%dT%H%M%SZ"),
        "vectors": [sign(c) for c in CASES],
    }
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
