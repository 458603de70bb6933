"""Requests the load generators can send: boto3 clients, presigned SigV4 URLs (boto3's own for
single requests, and a fast presigner of the same query-string form for the many distinct keys
of a new-keys row: boto3 takes about 0.4 ms per URL, this about 20 us)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any
from urllib.parse import quote, urlsplit

from .settings import PRESIGN_EXPIRES_S, REGION

ALGORITHM = "AWS4-HMAC-SHA256"


def s3_client(base: str, access_key: str, secret_key: str) -> Any:
    """A boto3 S3 client for ``base``: SigV4, path-style addressing, the default retries."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    return boto3.client(
        "s3",
        endpoint_url=base,
        region_name=REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def boto3_presigned(client: Any, method: str, bucket: str, key: str) -> str:
    """boto3's presigned URL (SigV4 query string, UNSIGNED-PAYLOAD) for PUT or GET."""
    operation = {"PUT": "put_object", "GET": "get_object"}[method]
    params = {"Bucket": bucket, "Key": key}
    return str(client.generate_presigned_url(operation, Params=params, ExpiresIn=PRESIGN_EXPIRES_S))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _q(text: str, safe: str = "-_.~") -> str:
    return quote(text, safe=safe)


class Presigner:
    """SigV4 query-string presigning (as boto3 does it: only the host header signed, payload
    UNSIGNED-PAYLOAD) with the signing key derived once for many URLs."""

    def __init__(self, base: str, access_key: str, secret_key: str, bucket: str) -> None:
        self.host = urlsplit(base).netloc
        self.bucket = bucket
        now = dt.datetime.now(dt.UTC)
        self.amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = self.amz_date[:8]
        self.scope = f"{day}/{REGION}/s3/aws4_request"
        key = _hmac(("AWS4" + secret_key).encode(), day)
        for part in (REGION, "s3", "aws4_request"):
            key = _hmac(key, part)
        self._key = key
        query = {
            "X-Amz-Algorithm": ALGORITHM,
            "X-Amz-Credential": f"{access_key}/{self.scope}",
            "X-Amz-Date": self.amz_date,
            "X-Amz-Expires": str(PRESIGN_EXPIRES_S),
            "X-Amz-SignedHeaders": "host",
        }
        self.query = "&".join(f"{_q(k)}={_q(v)}" for k, v in sorted(query.items()))

    def path(self, method: str, key: str) -> str:
        """The path and query string of a presigned ``method`` request for ``key``."""
        path = f"/{_q(self.bucket)}/{_q(key, safe='/-_.~')}"
        canonical = "\n".join(
            (method, path, self.query, f"host:{self.host}\n", "host", "UNSIGNED-PAYLOAD")
        )
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        to_sign = f"{ALGORITHM}\n{self.amz_date}\n{self.scope}\n{digest}"
        signature = hmac.new(self._key, to_sign.encode(), hashlib.sha256).hexdigest()
        return f"{path}?{self.query}&X-Amz-Signature={signature}"

    def paths(self, method: str, keys: list[str]) -> list[str]:
        return [self.path(method, key) for key in keys]


def raw_path(bucket: str, key: str) -> str:
    """An unsigned path-style path (moto does not check signatures)."""
    return f"/{_q(bucket)}/{_q(key, safe='/-_.~')}"
