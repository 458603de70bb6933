"""S3 request authentication: which scheme a request is signed with, and AWS Signature V4."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote_to_bytes

from thecloud.domain.objects import S3Forbidden, S3Invalid
from thecloud.entrypoints.s3 import sigv2
from thecloud.entrypoints.s3.request import (
    AMZ_DATE_FORMAT,
    MAX_SKEW,
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
    uri_encode,
    utc,
)

__all__ = [
    "AuthInfo",
    "AuthScheme",
    "S3Request",
    "SigningContext",
    "VerifiedRequests",
    "canonical_query",
    "parse_auth",
    "signing_key",
    "verify",
]

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_EXPIRES = 604800  # a week: the longest a presigned URL may live
_HEX64 = re.compile(r"[0-9a-f]{64}")
_CREDENTIAL_DATE = re.compile(r"\d{8}")
_SPACES = re.compile(r"[ \t]+")
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
_HEADER_FIELDS = ("Credential", "SignedHeaders", "Signature")
_QUERY_FIELDS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)
_QUERY_V4 = frozenset(("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"))
_QUERY_V2 = frozenset(("AWSAccessKeyId", "Signature"))
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)

ErrorFactory = Callable[[str], S3Invalid]


def parse_auth(req: S3Request) -> AuthInfo | None:
    """The scheme `req` is signed with and what it claims (None: anonymous). Malformed
    credentials are a 400 that says what is wrong; nothing is verified yet."""
    header = req.headers.get("authorization")
    names = {name for name, _ in req.query}
    in_query_v4, in_query_v2 = bool(names & _QUERY_V4), bool(names & _QUERY_V2)
    if (header is not None) + in_query_v4 + in_query_v2 > 1:
        raise S3Invalid(
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
        )
    if header is not None:
        return _parse_header(req, header)
    if in_query_v4:
        return _parse_query(req)
    return sigv2.parse_query(req) if in_query_v2 else None


def verify(
    info: AuthInfo,
    req: S3Request,
    secret_key: str,
    now: datetime,
    bucket_from_host: str | None = None,
) -> SigningContext:
    """Check the signature `info` claims over `req` with the caller's secret key at `now`
    (raises SignatureDoesNotMatch, AccessDenied, RequestTimeTooSkewed...). SigV2 signs the
    path-style resource: pass the bucket the router took from a virtual-hosted Host."""
    if info.scheme in (AuthScheme.SIGV2_HEADER, AuthScheme.SIGV2_QUERY):
        return sigv2.verify(info, req, secret_key, now, bucket_from_host)
    _check_time(info, utc(now))
    payload_hash = _payload_hash(info, req)
    if info.scheme is AuthScheme.SIGV4_HEADER:
        _check_all_amz_headers_signed(info, req)
    key = signing_key(secret_key, info.scope_date, info.region, info.service)
    _check_signature(info, req, key, payload_hash)
    return SigningContext(
        info.scheme, info.access_key_id, payload_hash, key, info.signature, _scope(info),
        info.amz_date, info.region,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Verified:
    info: AuthInfo
    covered: tuple[tuple[str, str | None], ...]  # the signed headers, as they were
    secret: str
    signing: SigningContext


class VerifiedRequests:
    """Presigned SigV4 requests (signed in the query string) whose signature was found good,
    by everything it covers: the method, the path and query exactly as received (credential,
    date, expiry and the signature itself among them) and the signed headers' values. A
    request that repeats one of those byte for byte (a download link used again, a player's
    Range requests, a retried upload) has the same canonical request, so it needs neither the
    canonicalization nor the HMACs again. What does change is still checked every time: the
    time window (expiry), and that the key's secret is the one it was signed with (its
    caller looks the key up, active or not, as for any request). At most `size` kept, each
    of at most `longest` characters of path, query and signed headers (32 MiB in all)."""

    def __init__(self, size: int = 4096, longest: int = 8192) -> None:
        self._size, self._longest = size, longest
        self._known: dict[tuple[str, str, str], _Verified] = {}

    def parse(self, req: S3Request) -> AuthInfo | None:
        """parse_auth(), from what a verified repeat of `req` parsed when there is one."""
        known = self._find(req)
        return known.info if known is not None else parse_auth(req)

    def verify(
        self,
        info: AuthInfo,
        req: S3Request,
        secret_key: str,
        now: datetime,
        bucket_from_host: str | None = None,
    ) -> SigningContext:
        """verify(), skipping the signature of a repeat verified with the same secret."""
        known = self._find(req)
        if known is not None and known.info is info and known.secret == secret_key:
            _check_time(info, utc(now))
            return known.signing
        signing = verify(info, req, secret_key, now, bucket_from_host)
        if info.scheme is AuthScheme.SIGV4_QUERY:
            covered = tuple((name, req.headers.get(name)) for name in info.signed_headers)
            length = len(req.raw_path) + len(req.raw_query)
            length += sum(len(name) + len(value or "") for name, value in covered)
            if length <= self._longest:
                if len(self._known) >= self._size:
                    del self._known[next(iter(self._known))]  # the oldest
                self._known[_request_key(req)] = _Verified(info, covered, secret_key, signing)
        return signing

    def _find(self, req: S3Request) -> _Verified | None:
        if "X-Amz-Signature=" not in req.raw_query or "authorization" in req.headers:
            return None  # not presigned, or signed twice over (parse_auth refuses that)
        known = self._known.get(_request_key(req))
        if known is None:
            return None
        headers = req.headers
        if any(headers.get(name) != value for name, value in known.covered):
            return None
        return known


def _request_key(req: S3Request) -> tuple[str, str, str]:
    return req.method, req.raw_path, req.raw_query


@functools.lru_cache(maxsize=1024)
def signing_key(secret_key: str, date: str, region: str, service: str = "s3") -> bytes:
    """The day's key derived from the secret (four HMACs), kept for the day's later requests
    as AWS's own SDKs keep it."""
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def canonical_query(raw_query: str, exclude: str = "") -> str:
    """The query as SigV4 signs it: each name and value decoded ('+' is a space) and encoded
    again by AWS's rules, sorted by name then value; `exclude` (X-Amz-Signature) left out."""
    pairs = []
    for part in raw_query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((_reencode(name), _reencode(value)))
    kept = sorted(pair for pair in pairs if not exclude or pair[0] != exclude)
    return "&".join(f"{name}={value}" for name, value in kept)


def _reencode(component: str) -> str:
    if _UNRESERVED.fullmatch(component):  # nothing to decode, nothing to encode
        return component
    return uri_encode(unquote_to_bytes(component.replace("+", " ").encode("latin-1")))


# --- parsing ------------------------------------------------------------------------------


def _header_error(message: str) -> S3Invalid:
    return S3Invalid(
        "AuthorizationHeaderMalformed", f"The authorization header is malformed; {message}"
    )


def _query_error(message: str) -> S3Invalid:
    return S3Invalid("AuthorizationQueryParametersError", message)


def _parse_header(req: S3Request, header: str) -> AuthInfo:
    scheme, _, rest = header.strip().partition(" ")
    if scheme == ALGORITHM:
        return _parse_v4_header(req, rest)
    if scheme == "AWS":
        return sigv2.parse_header(req, rest)
    raise S3Invalid(
        "InvalidArgument",
        f"Unsupported Authorization Type {scheme!r}: use AWS4-HMAC-SHA256 (Signature Version 4)"
        " or AWS (Signature Version 2)",
    )


def _parse_v4_header(req: S3Request, rest: str) -> AuthInfo:
    fields = _header_fields(rest)
    akid, date, region, service = _credential(fields["Credential"], _header_error)
    return AuthInfo(
        AuthScheme.SIGV4_HEADER,
        akid,
        _signature(fields["Signature"], _header_error),
        _signed_headers(fields["SignedHeaders"], _header_error),
        date,
        region,
        service,
        _header_time(req),
        security_token=req.headers.get("x-amz-security-token", ""),
    )


def _header_fields(rest: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in (p.strip() for p in rest.split(",")):
        name, sep, value = part.partition("=")
        if not sep or name not in _HEADER_FIELDS or name in fields:
            raise _header_error(
                f"unexpected component {part!r}: expected Credential=..., SignedHeaders=..., "
                "Signature=... separated by commas"
            )
        fields[name] = value.strip()
    if missing := [name for name in _HEADER_FIELDS if name not in fields]:
        raise _header_error(f"it has no {' or '.join(missing)}")
    return fields


def _credential(value: str, error: ErrorFactory) -> tuple[str, str, str, str]:
    parts = value.rsplit("/", 4)
    if len(parts) != 5 or not all(parts) or parts[4] != "aws4_request":
        raise error(
            f"the Credential {value!r} is mal-formed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"'
        )
    akid, date, region, service, _ = parts
    if not _CREDENTIAL_DATE.fullmatch(date):
        raise error(f"the credential date {date!r} is not in the form YYYYMMDD")
    if service != "s3":
        raise error(f"incorrect service {service!r}: this endpoint belongs to 's3'")
    return akid, date, region, service


def _signature(value: str, error: ErrorFactory) -> str:
    if not _HEX64.fullmatch(value.lower()):
        raise error(f"the signature {value!r} is not 64 hexadecimal digits")
    return value.lower()


def _signed_headers(value: str, error: ErrorFactory) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not all(names) or any(name != name.lower() for name in names):
        raise error(f"SignedHeaders {value!r} must be lowercase names separated by ';'")
    if "host" not in names:
        raise error(f"SignedHeaders {value!r} must include host")
    return names


def _header_time(req: S3Request) -> str:
    if "x-amz-date" in req.headers:
        when = parse_amz_date(req.headers["x-amz-date"])
    else:
        when = parse_http_date(req.headers.get("date", ""))
    if when is None:
        raise S3Forbidden(
            "AccessDenied",
            "AWS authentication requires a valid Date or x-amz-date header "
            "(x-amz-date as YYYYMMDDTHHMMSSZ)",
        )
    return when.strftime(AMZ_DATE_FORMAT)


def _parse_query(req: S3Request) -> AuthInfo:
    params = {name: _one_param(req, name) for name in _QUERY_FIELDS}
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise _query_error(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    akid, date, region, service = _credential(params["X-Amz-Credential"], _query_error)
    if parse_amz_date(params["X-Amz-Date"]) is None:
        raise _query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    return AuthInfo(
        AuthScheme.SIGV4_QUERY,
        akid,
        _signature(params["X-Amz-Signature"], _query_error),
        _signed_headers(params["X-Amz-SignedHeaders"], _query_error),
        date,
        region,
        service,
        params["X-Amz-Date"],
        _expires(params["X-Amz-Expires"]),
        security_token=(req.params("X-Amz-Security-Token") or [""])[0],
    )


def _one_param(req: S3Request, name: str) -> str:
    values = req.params(name)
    if len(values) != 1:
        problem = "is missing" if not values else "is given more than once"
        raise _query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            f"X-Amz-Expires parameters; {name} {problem}"
        )
    return values[0]


def _expires(value: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise _query_error(f"X-Amz-Expires should be a number of seconds, not {value!r}")
    if int(value) > MAX_EXPIRES:
        raise _query_error(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}"
        )
    return int(value)


# --- verification -------------------------------------------------------------------------


def _check_time(info: AuthInfo, now: datetime) -> None:
    when = parse_amz_date(info.amz_date)
    error = _header_error if info.scheme is AuthScheme.SIGV4_HEADER else _query_error
    if when is None or info.scope_date != info.amz_date[:8]:
        raise error(
            f"Invalid credential date {info.scope_date}: it is not the date of the request "
            f"time {info.amz_date}"
        )
    if info.scheme is AuthScheme.SIGV4_HEADER:
        check_skew(when, now)
    elif when - now > MAX_SKEW:
        raise S3Forbidden("AccessDenied", "Request is not valid yet", starts=when.isoformat())
    elif now > when + timedelta(seconds=info.expires or 0):
        raise expired(when + timedelta(seconds=info.expires or 0), now)


def _payload_hash(info: AuthInfo, req: S3Request) -> str:
    if info.scheme is AuthScheme.SIGV4_QUERY:
        return check_payload_hash((req.params("X-Amz-Content-Sha256") or [UNSIGNED_PAYLOAD])[0])
    value = req.headers.get("x-amz-content-sha256")
    if value is None:
        raise S3Invalid(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    return check_payload_hash(value)


def _check_all_amz_headers_signed(info: AuthInfo, req: S3Request) -> None:
    unsigned = sorted(
        n for n in req.headers if n.startswith("x-amz-") and n not in info.signed_headers
    )
    if unsigned:
        raise S3Forbidden(
            "AccessDenied",
            "There were headers present in the request which were not signed: "
            + ", ".join(unsigned),
            headers_not_signed=unsigned,
        )


def _check_signature(info: AuthInfo, req: S3Request, key: bytes, payload_hash: str) -> None:
    exclude = "X-Amz-Signature" if info.scheme is AuthScheme.SIGV4_QUERY else ""
    rest = [canonical_query(req.raw_query, exclude), _canonical_headers(info, req)]
    rest += [";".join(info.signed_headers), payload_hash]
    tried = []
    for path in path_candidates(req.raw_path):
        canonical = "\n".join([req.method, path, *rest])
        to_sign = _string_to_sign(info, canonical)
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, info.signature):
            return
        tried.append((canonical, to_sign))
    raise S3Forbidden(
        "SignatureDoesNotMatch",
        _MISMATCH,
        canonical_request=tried[0][0],
        string_to_sign=tried[0][1],
    )


def _canonical_headers(info: AuthInfo, req: S3Request) -> str:
    lines = []
    for name in info.signed_headers:
        value = req.headers.get(name)
        if value is None:
            raise S3Forbidden(
                "SignatureDoesNotMatch", f"the signed header {name!r} is not in the request"
            )
        lines.append(f"{name}:{_trimall(value)}\n")
    return "".join(lines)


def _trimall(value: str) -> str:
    return _SPACES.sub(" ", value.strip(" \t"))


def _scope(info: AuthInfo) -> str:
    return f"{info.scope_date}/{info.region}/{info.service}/aws4_request"


def _string_to_sign(info: AuthInfo, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("latin-1")).hexdigest()
    return f"{ALGORITHM}\n{info.amz_date}\n{_scope(info)}\n{digest}"
