"""Object storage: buckets, object versions (and delete markers), multipart uploads and the
access keys S3 clients sign requests with. The S3 rules that do not depend on the wire
(names, sizes, versioning states, part numbers, S3's error codes) live here."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from thecloud.domain.errors import (
    CloudError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)

NULL_VERSION = "null"  # the version id of an object written while versioning was off
MIN_PART_BYTES = 5 * 1024**2
MAX_PART_BYTES = 5 * 1024**3
MAX_PARTS = 10_000
MAX_PUT_BYTES = 5 * 1024**3
MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048
MAX_DELETE_KEYS = 1000
MAX_LIST_KEYS = 1000
DEFAULT_REGION = "us-east-1"


class Versioning(StrEnum):
    OFF = ""  # never enabled: every write replaces the "null" version
    ENABLED = "Enabled"
    SUSPENDED = "Suspended"


class CredentialStatus(StrEnum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


@dataclass(frozen=True, slots=True)
class Segment:
    """One piece of an object's data: its own data key, sealed by the tenant's key (or by
    an SSE-C customer key), and how many plaintext bytes it holds.

    Its bytes are a blob of the object store, or, for a small object (`inline`), kept in
    the object's metadata row: `data` is then their ciphertext, written in the same
    transaction as the row (None where a query did not load it: listings do not)."""

    blob_id: str  # the blob's id; for inline data, an id of the same form (it is the AAD)
    size: int
    sealed_key: str  # base64 of nonce + wrapped data key
    inline: bool = False
    data: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Bucket:
    id: str
    tenant_id: str
    name: str
    region: str
    versioning: Versioning
    public_read: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    encryption: str = "AES256"  # every object is encrypted at rest; the default rule shown
    tags: Mapping[str, str] = field(default_factory=dict)
    cors: Sequence[Mapping[str, object]] = ()
    lifecycle: Sequence[Mapping[str, object]] = ()
    version: int = 1


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One version of a key (or a delete marker). `is_latest` marks the current one."""

    id: str
    tenant_id: str
    bucket_id: str
    key: str
    version_id: str
    seq: int  # orders the versions of a key (newer is larger)
    is_latest: bool
    delete_marker: bool
    size: int
    etag: str  # quoted, as S3 sends it
    last_modified: datetime
    created_by: str
    content_type: str = "binary/octet-stream"
    headers: Mapping[str, str] = field(default_factory=dict)  # content-encoding, -disposition...
    metadata: Mapping[str, str] = field(default_factory=dict)  # x-amz-meta-*
    checksums: Mapping[str, str] = field(default_factory=dict)  # "CRC32" -> base64
    segments: Sequence[Segment] = ()
    sse_customer_key_md5: str = ""  # SSE-C: the MD5 (base64) of the customer's key
    parts_count: int = 0  # > 0 for an object made by a multipart upload
    tags: Mapping[str, str] = field(default_factory=dict)  # the version's tag set


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    id: str  # the UploadId
    tenant_id: str
    bucket_id: str
    key: str
    initiated_at: datetime
    created_by: str
    content_type: str = "binary/octet-stream"
    headers: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    checksum_algorithm: str = ""
    sse_customer_key_md5: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)  # the object's, once completed


@dataclass(frozen=True, slots=True)
class Part:
    id: str
    tenant_id: str
    upload_id: str
    number: int
    size: int
    etag: str
    last_modified: datetime
    segment: Segment
    checksums: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StorageCredential:
    """An S3 access key pair of a user or service account in one tenant. The secret is kept
    sealed (SigV4 needs it to verify signatures), never hashed."""

    id: str
    tenant_id: str
    access_key_id: str
    sealed_secret: str
    principal_id: str
    principal_type: str
    description: str
    status: CredentialStatus
    created_at: datetime
    created_by: str
    last_used_at: datetime | None = None


# --- S3 errors: domain errors carrying S3's code (the XML <Code>) -------------------------


class S3NotFound(NotFound):
    def __init__(self, s3_code: str, message: str, **details: object) -> None:
        super().__init__(message, details={"s3_code": s3_code, **details})


class S3Invalid(InvalidInput):
    def __init__(self, s3_code: str, message: str, **details: object) -> None:
        super().__init__(message, details={"s3_code": s3_code, **details})


class S3Conflict(Conflict):
    def __init__(self, s3_code: str, message: str, **details: object) -> None:
        super().__init__(message, details={"s3_code": s3_code, **details})


class S3Forbidden(Forbidden):
    def __init__(self, s3_code: str, message: str, **details: object) -> None:
        super().__init__(message, details={"s3_code": s3_code, **details})


class S3Unauthorized(Unauthorized):
    def __init__(self, s3_code: str, message: str, **details: object) -> None:
        super().__init__(message, details={"s3_code": s3_code, **details})


class PreconditionFailed(CloudError):
    code = "PRECONDITION_FAILED"

    def __init__(self, message: str = "At least one of the preconditions you specified did "
                 "not hold.") -> None:  # fmt: skip
        super().__init__(message, details={"s3_code": "PreconditionFailed"})


class NotModified(CloudError):
    code = "NOT_MODIFIED"

    def __init__(self, etag: str, last_modified: datetime) -> None:
        super().__init__("Not Modified", details={"s3_code": "NotModified"})
        self.etag, self.last_modified = etag, last_modified


class RangeNotSatisfiable(CloudError):
    code = "RANGE_NOT_SATISFIABLE"

    def __init__(self, size: int) -> None:
        super().__init__(
            "The requested range is not satisfiable",
            details={"s3_code": "InvalidRange", "size": size},
        )
        self.size = size


def no_such_bucket(name: str) -> S3NotFound:
    return S3NotFound("NoSuchBucket", "The specified bucket does not exist", bucket=name)


def no_such_key(key: str, delete_marker: bool = False, version_id: str = "") -> S3NotFound:
    return S3NotFound(
        "NoSuchKey",
        "The specified key does not exist.",
        key=key,
        delete_marker=delete_marker,
        version_id=version_id,
    )


def too_large(what: str, limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{what} exceeds the maximum allowed size of {limit} bytes",
        details={"s3_code": "EntityTooLarge"},
    )


# --- validation ---------------------------------------------------------------------------

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def validate_bucket_name(name: str) -> str:
    """S3's rules for bucket names (they must work as DNS labels in virtual-hosted URLs)."""
    problem = ""
    if not _BUCKET.match(name):
        problem = (
            "3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit"
        )
    elif ".." in name or ".-" in name or "-." in name:
        problem = "no two adjacent periods and no period next to a hyphen"
    elif _is_ip(name):
        problem = "not formatted as an IP address"
    elif name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        problem = "no reserved prefix (xn--, sthree-) or suffix (-s3alias, --ol-s3)"
    if problem:
        raise S3Invalid("InvalidBucketName", f"bucket name {name!r} is invalid: {problem}")
    return name


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]{1,15}){1,3}$")


def validate_region(region: str) -> str:
    """A location constraint such as eu-west-1 ('' is us-east-1)."""
    if region and not _REGION.match(region):
        raise S3Invalid(
            "InvalidLocationConstraint", f"{region[:40]!r} is not a region name like eu-west-1"
        )
    return region


def validate_key(key: str) -> str:
    if not key:
        raise S3Invalid("InvalidArgument", "an object key must not be empty")
    if "\x00" in key:
        raise S3Invalid("InvalidArgument", "an object key must not contain a NUL character")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise S3Invalid("KeyTooLongError", f"object keys are at most {MAX_KEY_BYTES} bytes")
    return key


_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def validate_metadata(metadata: Mapping[str, str]) -> Mapping[str, str]:
    """User metadata goes back out as HTTP headers: names are tokens, values visible
    characters (no CR/LF), 2 KB in all."""
    for name, value in metadata.items():
        if not _TOKEN.match(name):
            raise S3Invalid("InvalidArgument", f"metadata name {name[:40]!r} is not a valid "
                            "HTTP header name")  # fmt: skip
        if any((ord(c) < 32 and c != "\t") or c == "\x7f" for c in value):
            raise S3Invalid("InvalidArgument", f"metadata {name!r} has a control character")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise S3Invalid("InvalidArgument", f"metadata {name!r} must be ASCII (encode "
                            "other text, e.g. as RFC 2047 or URL encoding)") from exc  # fmt: skip
    size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if size > MAX_METADATA_BYTES:
        raise S3Invalid(
            "MetadataTooLarge",
            f"user metadata is {size} bytes; at most {MAX_METADATA_BYTES} are allowed",
        )
    return metadata


def validate_part_number(number: int) -> int:
    if not 1 <= number <= MAX_PARTS:
        raise S3Invalid("InvalidArgument", f"part numbers are 1-{MAX_PARTS}, not {number}")
    return number


def validate_tags(tags: Mapping[str, str]) -> Mapping[str, str]:
    if len(tags) > 50:
        raise S3Invalid("InvalidTag", "a bucket has at most 50 tags")
    for k, v in tags.items():
        if not 1 <= len(k) <= 128 or len(v) > 256:
            raise S3Invalid("InvalidTag", f"tag {k!r}: keys are 1-128 and values 0-256 chars")
    return tags


MAX_OBJECT_TAGS = 10


def validate_object_tags(tags: Mapping[str, str]) -> Mapping[str, str]:
    """An object's tag set, as S3 limits it: at most 10 tags, keys of 1-128 and values of
    0-256 characters, no key in the reserved `aws:` prefix."""
    if len(tags) > MAX_OBJECT_TAGS:
        raise S3Invalid(
            "BadRequest", f"an object has at most {MAX_OBJECT_TAGS} tags, not {len(tags)}"
        )
    for k, v in tags.items():
        if not 1 <= len(k) <= 128:
            raise S3Invalid("InvalidTag", f"tag key {k!r}: keys are 1-128 characters")
        if len(v) > 256:
            raise S3Invalid("InvalidTag", f"tag {k!r}: values are at most 256 characters")
        if k.lower().startswith("aws:"):
            raise S3Invalid("InvalidTag", f"tag key {k!r}: the aws: prefix is reserved")
    return tags


def validate_rule_tags(rule: Mapping[str, object]) -> None:
    """A lifecycle rule's tag filter: an object tag set's limits, and no abort of
    incomplete multipart uploads (they have no tags to match yet), as S3 refuses."""
    tags = rule.get("tags") or {}
    if not isinstance(tags, Mapping):
        raise S3Invalid("InvalidArgument", "a lifecycle rule's tags are a map of key to value")
    validate_object_tags(tags)
    if tags and rule.get("abort_days") is not None:
        raise S3Invalid(
            "InvalidRequest",
            "AbortIncompleteMultipartUpload cannot be specified with Tags: a rule that "
            "filters by tag cannot abort incomplete multipart uploads",
        )


def rule_matches(rule: Mapping[str, object], key: str, tags: Mapping[str, str]) -> bool:
    """Whether an object (its key and tags) is one a lifecycle rule's filter selects: under
    its prefix, with every tag it names."""
    wanted = rule.get("tags") or {}
    assert isinstance(wanted, Mapping)  # noqa: S101 - validate_rule_tags made it so
    prefix = str(rule.get("prefix") or "")
    return key.startswith(prefix) and all(tags.get(k) == v for k, v in wanted.items())


def parse_tagging(raw: str) -> dict[str, str]:
    """An x-amz-tagging header: a tag set as a URL query string (`k1=v1&k2=v2`)."""
    from urllib.parse import parse_qsl

    tags: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key in tags:
            raise S3Invalid("InvalidTag", f"tag key {key!r} is given twice in x-amz-tagging")
        tags[key] = value
    if raw and not tags:
        raise S3Invalid("InvalidArgument", "x-amz-tagging must be a query string: k1=v1&k2=v2")
    return tags


def multipart_etag(part_md5s: Sequence[bytes]) -> str:
    """S3's ETag of a multipart object: MD5 of the parts' MD5s, then '-<part count>'."""
    import hashlib

    return f'"{hashlib.md5(b"".join(part_md5s)).hexdigest()}-{len(part_md5s)}"'  # noqa: S324


def visible_in_listing(version: ObjectVersion) -> bool:
    return version.is_latest and not version.delete_marker


# --- reads: ranges and conditions -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ByteRange:
    """A `Range: bytes=first-last` (last None: to the end) or `bytes=-suffix`."""

    first: int | None = None
    last: int | None = None
    suffix: int | None = None

    def resolve(self, size: int) -> tuple[int, int]:
        """[start, stop) within an object of `size` bytes; RangeNotSatisfiable if none."""
        if self.suffix is not None:
            if self.suffix == 0 or size == 0:
                raise RangeNotSatisfiable(size)
            return max(0, size - self.suffix), size
        first = self.first or 0
        if first >= size:
            raise RangeNotSatisfiable(size)
        last = size - 1 if self.last is None else min(self.last, size - 1)
        return first, last + 1


def parse_range(header: str) -> ByteRange | None:
    """One `bytes=` range, as S3 takes it; anything else (several ranges, other units,
    nonsense) is ignored and the whole object is sent, as S3 and RFC 9110 do."""
    unit, _, spec = header.strip().partition("=")
    first, dash, last = spec.strip().partition("-")
    if unit.strip().lower() != "bytes" or not dash or "," in spec:
        return None
    try:
        if not first:
            return ByteRange(suffix=int(last)) if last.isdigit() else None
        if not first.isdigit() or (last and not last.isdigit()):
            return None
        begin, end = int(first), int(last) if last else None
    except ValueError:
        return None
    return None if end is not None and end < begin else ByteRange(first=begin, last=end)


@dataclass(frozen=True, slots=True)
class Conditions:
    """If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since (or the
    x-amz-copy-source-if-* forms of a copy, where a 'not modified' is a 412 too)."""

    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None

    def check(self, etag: str, modified: datetime, *, copy: bool = False) -> None:
        """RFC 9110's order; raises PreconditionFailed or NotModified."""
        modified = modified.replace(microsecond=0)
        if self.if_match is not None:
            if not etag_in(etag, self.if_match):
                raise PreconditionFailed
        elif self.if_unmodified_since is not None and modified > self.if_unmodified_since:
            raise PreconditionFailed
        if self.if_none_match is not None:
            if etag_in(etag, self.if_none_match):
                raise PreconditionFailed if copy else NotModified(etag, modified)
        elif self.if_modified_since is not None and modified <= self.if_modified_since:
            raise PreconditionFailed if copy else NotModified(etag, modified)

    @property
    def empty(self) -> bool:
        return self == Conditions()


def etag_in(etag: str, header: str) -> bool:
    wanted = {t.strip().removeprefix("W/").strip('"') for t in header.split(",")}
    return "*" in wanted or etag.strip('"') in wanted


@dataclass(frozen=True, slots=True)
class CustomerKey:
    """SSE-C: the 256-bit key a client sends with each request, and its MD5 (base64)."""

    key: bytes
    md5: str


@dataclass(frozen=True, slots=True)
class ObjectAttrs:
    """What a writer says about an object besides its bytes."""

    content_type: str = "binary/octet-stream"
    headers: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


# Content headers kept with an object and sent back on GET/HEAD.
STORED_HEADERS = (
    "content-encoding", "content-disposition", "content-language", "cache-control", "expires",
)  # fmt: skip
