"""AWS Signature Version 2 for S3: the header form and the presigned URLs boto3 makes by default."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import unquote

from thecloud.domain.objects import S3Forbidden, S3Invalid
from thecloud.entrypoints.s3.request import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    UNSIGNED_PAYLOAD,
    AuthInfo,
    AuthScheme,
    S3Request,
    SigningContext,
    check_payload_hash,
    check_skew,
    expired,
    parse_amz_date,
    parse_http_date,
    path_candidates,
    utc,
)

# The sub-resources every SigV2 signer puts in the canonical resource (botocore's list).
SUBRESOURCES = frozenset(
    "accelerate acl analytics cors defaultObjectAcl delete inventory lifecycle location logging "
    "metrics notification object-lock partNumber policy replication requestPayment restore "
    "select select-type storageClass tagging torrent uploadId uploads versionId versioning "
    "versions website response-cache-control response-content-disposition "
    "response-content-encoding response-content-language response-content-type "
    "response-expires".split()
)
# Newer ones some signers add (MinIO, s3cmd) and botocore leaves out: tried as well.
EXTRA_SUBRESOURCES = frozenset("encryption legal-hold retention intelligent-tiering".split())
_QUERY_FIELDS = ("AWSAccessKeyId", "Signature", "Expires")
_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z: a later Expires never expires either
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)


def parse_header(req: S3Request, credentials: str) -> AuthInfo:
    """`Authorization: AWS <access key id>:<base64 signature>`."""
    akid, sep, signature = credentials.strip().rpartition(":")
    if not sep or not akid or not signature or " " in akid:
        raise S3Invalid(
            "InvalidArgument",
            "AWS authorization header is invalid. Expected AwsAccessKeyId:signature",
        )
    token = req.headers.get("x-amz-security-token", "")
    return AuthInfo(AuthScheme.SIGV2_HEADER, akid, signature, security_token=token)


def parse_query(req: S3Request) -> AuthInfo:
    """`?AWSAccessKeyId=...&Expires=<epoch seconds>&Signature=<base64>`."""
    akid, signature, expires = (_one_param(req, name) for name in _QUERY_FIELDS)
    if not expires.isascii() or not expires.isdigit():
        raise S3Invalid(
            "AuthorizationQueryParametersError",
            f"Expires must be a number of seconds since the epoch, not {expires!r}",
        )
    token = (req.params("x-amz-security-token") or [""])[0]
    # a '+' of the base64 signature sent unencoded arrives as a space
    signature = signature.replace(" ", "+")
    scheme = AuthScheme.SIGV2_QUERY
    return AuthInfo(scheme, akid, signature, expires=int(expires), security_token=token)


def _one_param(req: S3Request, name: str) -> str:
    values = req.params(name)
    if len(values) != 1:
        problem = "is missing" if not values else "is given more than once"
        raise S3Invalid(
            "AuthorizationQueryParametersError",
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
            f"parameters; {name} {problem}",
        )
    return values[0]


def verify(
    info: AuthInfo, req: S3Request, secret_key: str, now: datetime, bucket_from_host: str | None
) -> SigningContext:
    """Check a SigV2 signature (HMAC-SHA1 over the string to sign, base64)."""
    date_line = _check_time(info, req, utc(now))
    payload_hash = _payload_hash(req)
    provided = info.signature.encode()
    tried = []
    for resource in canonical_resources(req, bucket_from_host):
        to_sign = string_to_sign(req, info.scheme, date_line, resource)
        if hmac.compare_digest(sign(secret_key, to_sign).encode(), provided):
            return SigningContext(info.scheme, info.access_key_id, payload_hash)
        tried.append(to_sign)
    raise S3Forbidden("SignatureDoesNotMatch", _MISMATCH, string_to_sign=tried[0])


def sign(secret_key: str, string_to_sign: str) -> str:
    message = string_to_sign.encode("utf-8", "surrogateescape")
    digest = hmac.new(secret_key.encode(), message, hashlib.sha1)
    return base64.b64encode(digest.digest()).decode()


def string_to_sign(req: S3Request, scheme: AuthScheme, date_line: str, resource: str) -> str:
    """Method, Content-MD5, Content-Type, Date (or Expires), the x-amz-* headers, resource."""
    md5, content_type = (_standard(req, scheme, name) for name in ("content-md5", "content-type"))
    lines = [req.method, md5, content_type, date_line, *_amz_headers(req, scheme), resource]
    return "\n".join(lines)


def canonical_resources(req: S3Request, bucket_from_host: str | None) -> list[str]:
    """The path-style resource (`/bucket/key`, the path as received or encoded by AWS's rules;
    `/bucket` or `/bucket/`) with the sub-resources: botocore's set, then with extra ones."""
    prefix = f"/{bucket_from_host}" if bucket_from_host else ""
    paths = [prefix + _text(path) for path in path_candidates(req.raw_path)]
    if not prefix and req.raw_path.count("/") == 1 and req.raw_path != "/":
        paths += [path + "/" for path in paths]  # botocore signs /bucket/ for /bucket
    sets = (SUBRESOURCES, SUBRESOURCES | EXTRA_SUBRESOURCES)
    suffixes = dict.fromkeys(_subresources(req.raw_query, names) for names in sets)
    return [path + suffix for path in paths for suffix in suffixes]


def _subresources(raw_query: str, names: frozenset[str]) -> str:
    found = []
    for part in raw_query.split("&"):
        name, eq, value = (unquote(s, errors="surrogateescape") for s in part.partition("="))
        if name in names:
            found.append((name, f"{name}={value}" if eq else name))
    found.sort(key=lambda item: item[0])  # by name only, as botocore does
    return "?" + "&".join(item for _, item in found) if found else ""


def _standard(req: S3Request, scheme: AuthScheme, name: str) -> str:
    if name in req.headers or scheme is not AuthScheme.SIGV2_QUERY:
        return _text(req.headers.get(name, ""))
    return (req.params(name) or [""])[0]  # a presigned URL carries them in its query


def _amz_headers(req: S3Request, scheme: AuthScheme) -> list[str]:
    headers = {n: _text(value) for n, value in req.headers.items() if n.startswith("x-amz-")}
    if scheme is AuthScheme.SIGV2_QUERY:  # botocore moves x-amz-* headers into the query
        for name, value in req.query:
            if name.lower().startswith("x-amz-"):
                headers.setdefault(name.lower(), value)
    return [f"{name}:{headers[name]}" for name in sorted(headers)]


def _text(received: str) -> str:
    """Bytes received (held as latin-1) as the text a signer had: UTF-8, else raw bytes."""
    return received.encode("latin-1").decode("utf-8", "surrogateescape")


def _check_time(info: AuthInfo, req: S3Request, now: datetime) -> str:
    """Refuse a request too far from `now` or expired; the Date line of the string to sign."""
    if info.scheme is AuthScheme.SIGV2_QUERY:
        expires_at = datetime.fromtimestamp(min(info.expires or 0, _LAST_SECOND), tz=UTC)
        if now > expires_at:
            raise expired(expires_at, now)
        return req.params("Expires")[0]
    amz_date = req.headers.get("x-amz-date")
    value = amz_date if amz_date is not None else req.headers.get("date", "")
    when = parse_http_date(value) or parse_amz_date(value)
    if when is None:
        raise S3Forbidden(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    check_skew(when, now)
    return "" if amz_date is not None else _text(value)


def _payload_hash(req: S3Request) -> str:
    value = check_payload_hash(req.headers.get("x-amz-content-sha256", UNSIGNED_PAYLOAD))
    if value in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
        raise S3Invalid(
            "InvalidRequest",
            f"x-amz-content-sha256 {value} (signed aws-chunked chunks) needs AWS Signature "
            "Version 4 header authentication, not Signature Version 2",
        )
    return value
