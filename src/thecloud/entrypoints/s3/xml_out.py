"""The XML bodies of S3's responses, rendered by string building from domain values to UTF-8."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

from thecloud.domain.objects import (
    DEFAULT_REGION,
    MAX_LIST_KEYS,
    Bucket,
    MultipartUpload,
    ObjectVersion,
    Part,
)

_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NS = ' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
# XML 1.0 has no raw form for these; \r would be read back as \n, so S3 sends &#13;
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_STANDARD = "<StorageClass>STANDARD</StorageClass>"

Encoder = Callable[[str], str]
DeletedEntry = tuple[str, str | None, bool, str | None]
ErrorEntry = tuple[str, str | None, str, str]


# --- text --------------------------------------------------------------------------------


def _esc(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace('"', "&quot;")
    if not text.isprintable():
        text = _CONTROL.sub(_charref, text)
    return text


def _charref(match: re.Match[str]) -> str:
    return f"&#{ord(match[0])};"


def _url(text: str) -> str:
    """encoding-type=url: percent-encoded UTF-8, '/' kept, as S3 sends keys and prefixes."""
    return quote(text, safe="/", errors="surrogatepass")


def _encoder(encoding_type: str) -> Encoder:
    return _url if encoding_type == "url" else _esc


def _encoding(encoding_type: str) -> str:
    return "<EncodingType>url</EncodingType>" if encoding_type == "url" else ""


def _ts(moment: datetime) -> str:
    """S3's timestamps: UTC, whole seconds shown with a .000 fraction, a Z."""
    if moment.tzinfo is not UTC and moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    m = moment  # %-formatting: the fastest here (a list has up to 1000 of these)
    return "%04d-%02d-%02dT%02d:%02d:%02d.000Z" % (  # noqa: UP031
        (m.year, m.month, m.day, m.hour, m.minute, m.second)
    )


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _opt(name: str, value: str | None, enc: Encoder = _esc) -> str:
    return f"<{name}>{enc(value)}</{name}>" if value else ""


def _doc(body: str) -> bytes:
    return (_DECL + body).encode("utf-8", "xmlcharrefreplace")


# --- shared pieces -------------------------------------------------------------------------


def _owner(tag: str, owner_id: str, owner_name: str = "") -> str:
    return f"<{tag}><ID>{_esc(owner_id)}</ID>{_opt('DisplayName', owner_name)}</{tag}>"


def _checksums(checksums: Mapping[str, str]) -> str:
    """Checksum<ALGO> elements, then ChecksumType (composite values end in -<parts>)."""
    if not checksums:
        return ""
    values = "".join(f"<Checksum{a}>{_esc(v)}</Checksum{a}>" for a, v in checksums.items())
    return values + f"<ChecksumType>{_checksum_type(checksums)}</ChecksumType>"


def _checksum_type(checksums: Mapping[str, str]) -> str:
    return "COMPOSITE" if any("-" in v for v in checksums.values()) else "FULL_OBJECT"


def _algorithms(checksums: Mapping[str, str]) -> str:
    if not checksums:
        return ""
    names = "".join(f"<ChecksumAlgorithm>{a}</ChecksumAlgorithm>" for a in checksums)
    return names + f"<ChecksumType>{_checksum_type(checksums)}</ChecksumType>"


def _prefixes(prefixes: Sequence[str], enc: Encoder) -> str:
    return "".join(
        [f"<CommonPrefixes><Prefix>{enc(p)}</Prefix></CommonPrefixes>" for p in prefixes]
    )


def _strs(rule: Mapping[str, object], name: str) -> list[str]:
    value = rule.get(name)
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def _int(rule: Mapping[str, object], name: str) -> int | None:
    value = rule.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- errors and buckets --------------------------------------------------------------------


def error(
    code: str,
    message: str,
    resource: str = "",
    request_id: str = "",
    extra: Mapping[str, object] | None = None,
) -> bytes:
    """`<Error>` (no namespace, as S3); `extra` adds elements such as Key or BucketName."""
    more = "".join(
        f"<{k}>{_esc(_bool(v) if isinstance(v, bool) else str(v))}</{k}>"
        for k, v in (extra or {}).items()
        if _NAME.match(k)
    )
    return _doc(
        f"<Error><Code>{_esc(code)}</Code><Message>{_esc(message)}</Message>"
        f"{_opt('Resource', resource)}<RequestId>{_esc(request_id)}</RequestId>{more}</Error>"
    )


def list_buckets(
    buckets: Sequence[Bucket],
    owner_id: str,
    owner_name: str = "",
    *,
    continuation_token: str = "",
    prefix: str | None = None,
) -> bytes:
    entries = "".join(
        [
            f"<Bucket><Name>{_esc(b.name)}</Name><CreationDate>{_ts(b.created_at)}</CreationDate>"
            f"<BucketRegion>{_esc(b.region)}</BucketRegion></Bucket>"
            for b in buckets
        ]
    )
    tail = _opt("ContinuationToken", continuation_token)
    tail += "" if prefix is None else f"<Prefix>{_esc(prefix)}</Prefix>"
    return _doc(
        f"<ListAllMyBucketsResult{_NS}>{_owner('Owner', owner_id, owner_name)}"
        f"<Buckets>{entries}</Buckets>{tail}</ListAllMyBucketsResult>"
    )


def location(region: str) -> bytes:
    """GetBucketLocation: empty for us-east-1, as S3 (boto3 shows None)."""
    if not region or region == DEFAULT_REGION:
        return _doc(f"<LocationConstraint{_NS}/>")
    return _doc(f"<LocationConstraint{_NS}>{_esc(region)}</LocationConstraint>")


def versioning(status: str) -> bytes:
    """Status is "" (never enabled: an empty configuration), "Enabled" or "Suspended"."""
    if not status:
        return _doc(f"<VersioningConfiguration{_NS}/>")
    return _doc(
        f"<VersioningConfiguration{_NS}><Status>{_esc(status)}</Status></VersioningConfiguration>"
    )


def tagging(tags: Mapping[str, str]) -> bytes:
    entries = "".join(
        f"<Tag><Key>{_esc(k)}</Key><Value>{_esc(v)}</Value></Tag>" for k, v in tags.items()
    )
    return _doc(f"<Tagging{_NS}><TagSet>{entries}</TagSet></Tagging>")


def encryption(algorithm: str) -> bytes:
    return _doc(
        f"<ServerSideEncryptionConfiguration{_NS}><Rule><ApplyServerSideEncryptionByDefault>"
        f"<SSEAlgorithm>{_esc(algorithm)}</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
        "<BucketKeyEnabled>false</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>"
    )


def cors(rules: Sequence[Mapping[str, object]]) -> bytes:
    """The rule dicts of `xml_in.cors`: id, allowed_origins/methods/headers, expose_headers,
    max_age_seconds."""
    return _doc(f"<CORSConfiguration{_NS}>{''.join(map(_cors_rule, rules))}</CORSConfiguration>")


def _cors_rule(rule: Mapping[str, object]) -> str:
    out = _opt("ID", str(rule.get("id") or ""))
    for name, tag in _CORS_LISTS:
        out += "".join(f"<{tag}>{_esc(v)}</{tag}>" for v in _strs(rule, name))
    max_age = _int(rule, "max_age_seconds")
    out += "" if max_age is None else f"<MaxAgeSeconds>{max_age}</MaxAgeSeconds>"
    return f"<CORSRule>{out}</CORSRule>"


_CORS_LISTS = (
    ("allowed_headers", "AllowedHeader"),
    ("allowed_methods", "AllowedMethod"),
    ("allowed_origins", "AllowedOrigin"),
    ("expose_headers", "ExposeHeader"),
)


def lifecycle(rules: Sequence[Mapping[str, object]]) -> bytes:
    """The rule dicts of `xml_in.lifecycle`: id, prefix, status, expiration_days,
    noncurrent_days, abort_days (None when the rule has no such action)."""
    body = "".join(map(_lifecycle_rule, rules))
    return _doc(f"<LifecycleConfiguration{_NS}>{body}</LifecycleConfiguration>")


def _lifecycle_rule(rule: Mapping[str, object]) -> str:
    out = f"<ID>{_esc(str(rule.get('id') or ''))}</ID>"
    out += f"<Filter>{_rule_filter(rule)}</Filter>"
    out += f"<Status>{_esc(str(rule.get('status') or 'Disabled'))}</Status>"
    for name, action, field in _LIFECYCLE_ACTIONS:
        days = _int(rule, name)
        out += "" if days is None else f"<{action}><{field}>{days}</{field}></{action}>"
    return f"<Rule>{out}</Rule>"


def _rule_filter(rule: Mapping[str, object]) -> str:
    """A Prefix; one Tag alone; or an And of the Prefix (when there is one) and the Tags."""
    prefix, tags = str(rule.get("prefix") or ""), rule.get("tags") or {}
    assert isinstance(tags, Mapping)  # noqa: S101 - as xml_in or the REST API made it
    entries = "".join(
        f"<Tag><Key>{_esc(str(k))}</Key><Value>{_esc(str(v))}</Value></Tag>"
        for k, v in tags.items()
    )
    if not tags:
        return f"<Prefix>{_esc(prefix)}</Prefix>"
    if len(tags) == 1 and not prefix:
        return entries
    return f"<And>{f'<Prefix>{_esc(prefix)}</Prefix>' if prefix else ''}{entries}</And>"


_LIFECYCLE_ACTIONS = (
    ("expiration_days", "Expiration", "Days"),
    ("noncurrent_days", "NoncurrentVersionExpiration", "NoncurrentDays"),
    ("abort_days", "AbortIncompleteMultipartUpload", "DaysAfterInitiation"),
)


# --- object listings -----------------------------------------------------------------------


def list_objects_v1(
    bucket: str,
    objects: Sequence[ObjectVersion],
    common_prefixes: Sequence[str] = (),
    *,
    prefix: str = "",
    delimiter: str = "",
    marker: str = "",
    next_marker: str = "",
    max_keys: int = MAX_LIST_KEYS,
    is_truncated: bool = False,
    encoding_type: str = "",
    owner_id: str = "",
    owner_name: str = "",
) -> bytes:
    enc = _encoder(encoding_type)
    head = (
        f"<ListBucketResult{_NS}><Name>{_esc(bucket)}</Name><Prefix>{enc(prefix)}</Prefix>"
        f"<Marker>{enc(marker)}</Marker>{_opt('NextMarker', next_marker, enc)}"
        f"<MaxKeys>{max_keys}</MaxKeys>{_opt('Delimiter', delimiter, enc)}"
        f"{_encoding(encoding_type)}<IsTruncated>{_bool(is_truncated)}</IsTruncated>"
    )
    entries = _contents(objects, enc, _owner("Owner", owner_id, owner_name))
    return _doc(f"{head}{entries}{_prefixes(common_prefixes, enc)}</ListBucketResult>")


def list_objects_v2(
    bucket: str,
    objects: Sequence[ObjectVersion],
    common_prefixes: Sequence[str] = (),
    *,
    prefix: str = "",
    delimiter: str = "",
    max_keys: int = MAX_LIST_KEYS,
    is_truncated: bool = False,
    continuation_token: str = "",
    next_continuation_token: str = "",
    start_after: str = "",
    encoding_type: str = "",
    fetch_owner: bool = False,
    owner_id: str = "",
    owner_name: str = "",
) -> bytes:
    """KeyCount is counted here: the objects plus the common prefixes."""
    enc = _encoder(encoding_type)
    head = (
        f"<ListBucketResult{_NS}><Name>{_esc(bucket)}</Name><Prefix>{enc(prefix)}</Prefix>"
        f"{_opt('ContinuationToken', continuation_token)}"
        f"{_opt('NextContinuationToken', next_continuation_token)}"
        f"{_opt('StartAfter', start_after, enc)}<KeyCount>{len(objects) + len(common_prefixes)}"
        f"</KeyCount><MaxKeys>{max_keys}</MaxKeys>{_opt('Delimiter', delimiter, enc)}"
        f"{_encoding(encoding_type)}<IsTruncated>{_bool(is_truncated)}</IsTruncated>"
    )
    owner = _owner("Owner", owner_id, owner_name) if fetch_owner else ""
    entries = _contents(objects, enc, owner)
    return _doc(f"{head}{entries}{_prefixes(common_prefixes, enc)}</ListBucketResult>")


def _contents(objects: Sequence[ObjectVersion], enc: Encoder, owner: str) -> str:
    return "".join(
        [
            f"<Contents><Key>{enc(o.key)}</Key><LastModified>{_ts(o.last_modified)}</LastModified>"
            f"<ETag>{_esc(o.etag)}</ETag>{_algorithms(o.checksums)}<Size>{o.size}</Size>{owner}"
            f"{_STANDARD}</Contents>"
            for o in objects
        ]
    )


def list_object_versions(
    bucket: str,
    versions: Sequence[ObjectVersion],
    common_prefixes: Sequence[str] = (),
    *,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    version_id_marker: str = "",
    next_key_marker: str = "",
    next_version_id_marker: str = "",
    max_keys: int = MAX_LIST_KEYS,
    is_truncated: bool = False,
    encoding_type: str = "",
    owner_id: str = "",
    owner_name: str = "",
) -> bytes:
    """Versions and delete markers interleaved in the order given (key, then newest first)."""
    enc = _encoder(encoding_type)
    head = (
        f"<ListVersionsResult{_NS}><Name>{_esc(bucket)}</Name><Prefix>{enc(prefix)}</Prefix>"
        f"<KeyMarker>{enc(key_marker)}</KeyMarker>"
        f"<VersionIdMarker>{_esc(version_id_marker)}</VersionIdMarker>"
        f"{_opt('NextKeyMarker', next_key_marker, enc)}"
        f"{_opt('NextVersionIdMarker', next_version_id_marker)}<MaxKeys>{max_keys}</MaxKeys>"
        f"{_opt('Delimiter', delimiter, enc)}{_encoding(encoding_type)}"
        f"<IsTruncated>{_bool(is_truncated)}</IsTruncated>"
    )
    owner = _owner("Owner", owner_id, owner_name)
    entries = "".join([_version(v, enc, owner) for v in versions])
    return _doc(f"{head}{entries}{_prefixes(common_prefixes, enc)}</ListVersionsResult>")


def _version(v: ObjectVersion, enc: Encoder, owner: str) -> str:
    common = (
        f"<Key>{enc(v.key)}</Key><VersionId>{_esc(v.version_id)}</VersionId>"
        f"<IsLatest>{_bool(v.is_latest)}</IsLatest><LastModified>{_ts(v.last_modified)}</LastModified>"
    )
    if v.delete_marker:
        return f"<DeleteMarker>{owner}{common}</DeleteMarker>"
    return (
        f"<Version>{common}<ETag>{_esc(v.etag)}</ETag>{_algorithms(v.checksums)}"
        f"<Size>{v.size}</Size>{owner}{_STANDARD}</Version>"
    )


# --- multipart uploads ---------------------------------------------------------------------


def initiate_multipart(bucket: str, key: str, upload_id: str) -> bytes:
    return _doc(
        f"<InitiateMultipartUploadResult{_NS}><Bucket>{_esc(bucket)}</Bucket>"
        f"<Key>{_esc(key)}</Key><UploadId>{_esc(upload_id)}</UploadId>"
        "</InitiateMultipartUploadResult>"
    )


def complete_multipart(
    location: str, bucket: str, key: str, etag: str, checksums: Mapping[str, str] | None = None
) -> bytes:
    return _doc(
        f"<CompleteMultipartUploadResult{_NS}><Location>{_esc(location)}</Location>"
        f"<Bucket>{_esc(bucket)}</Bucket><Key>{_esc(key)}</Key><ETag>{_esc(etag)}</ETag>"
        f"{_checksums(checksums or {})}</CompleteMultipartUploadResult>"
    )


def list_parts(
    bucket: str,
    upload: MultipartUpload,
    parts: Sequence[Part],
    *,
    part_number_marker: int = 0,
    next_part_number_marker: int | None = None,
    max_parts: int = MAX_LIST_KEYS,
    is_truncated: bool = False,
    owner_id: str = "",
    owner_name: str = "",
) -> bytes:
    """NextPartNumberMarker defaults to the last part listed (the marker when none)."""
    if next_part_number_marker is None:
        next_part_number_marker = parts[-1].number if parts else part_number_marker
    head = (
        f"<ListPartsResult{_NS}><Bucket>{_esc(bucket)}</Bucket><Key>{_esc(upload.key)}</Key>"
        f"<UploadId>{_esc(upload.id)}</UploadId><PartNumberMarker>{part_number_marker}"
        f"</PartNumberMarker><NextPartNumberMarker>{next_part_number_marker}</NextPartNumberMarker>"
        f"<MaxParts>{max_parts}</MaxParts><IsTruncated>{_bool(is_truncated)}</IsTruncated>"
    )
    entries = "".join([_part(p) for p in parts])
    tail = _upload_tail(upload, owner_id, owner_name)
    return _doc(f"{head}{entries}{tail}</ListPartsResult>")


def _part(p: Part) -> str:
    sums = "".join(f"<Checksum{a}>{_esc(v)}</Checksum{a}>" for a, v in p.checksums.items())
    return (
        f"<Part><PartNumber>{p.number}</PartNumber><LastModified>{_ts(p.last_modified)}"
        f"</LastModified><ETag>{_esc(p.etag)}</ETag><Size>{p.size}</Size>{sums}</Part>"
    )


def _upload_tail(upload: MultipartUpload, owner_id: str, owner_name: str) -> str:
    algorithm = _opt("ChecksumAlgorithm", upload.checksum_algorithm)
    return (
        f"{_owner('Initiator', upload.created_by)}{_owner('Owner', owner_id, owner_name)}"
        f"{_STANDARD}{algorithm}"
    )


def list_multipart_uploads(
    bucket: str,
    uploads: Sequence[MultipartUpload],
    common_prefixes: Sequence[str] = (),
    *,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    upload_id_marker: str = "",
    next_key_marker: str = "",
    next_upload_id_marker: str = "",
    max_uploads: int = MAX_LIST_KEYS,
    is_truncated: bool = False,
    encoding_type: str = "",
    owner_id: str = "",
    owner_name: str = "",
) -> bytes:
    enc = _encoder(encoding_type)
    head = (
        f"<ListMultipartUploadsResult{_NS}><Bucket>{_esc(bucket)}</Bucket>"
        f"<KeyMarker>{enc(key_marker)}</KeyMarker><UploadIdMarker>{_esc(upload_id_marker)}"
        f"</UploadIdMarker><NextKeyMarker>{enc(next_key_marker)}</NextKeyMarker>"
        f"{_opt('Prefix', prefix, enc)}{_opt('Delimiter', delimiter, enc)}<NextUploadIdMarker>"
        f"{_esc(next_upload_id_marker)}</NextUploadIdMarker><MaxUploads>{max_uploads}</MaxUploads>"
        f"{_encoding(encoding_type)}<IsTruncated>{_bool(is_truncated)}</IsTruncated>"
    )
    owner = _owner("Owner", owner_id, owner_name)
    entries = "".join([_upload(u, enc, owner) for u in uploads])
    return _doc(f"{head}{entries}{_prefixes(common_prefixes, enc)}</ListMultipartUploadsResult>")


def _upload(u: MultipartUpload, enc: Encoder, owner: str) -> str:
    return (
        f"<Upload><Key>{enc(u.key)}</Key><UploadId>{_esc(u.id)}</UploadId>"
        f"<Initiator><ID>{_esc(u.created_by)}</ID></Initiator>{owner}{_STANDARD}"
        f"<Initiated>{_ts(u.initiated_at)}</Initiated>"
        f"{_opt('ChecksumAlgorithm', u.checksum_algorithm)}</Upload>"
    )


# --- copies and batch deletes --------------------------------------------------------------


def copy_object_result(
    etag: str, last_modified: datetime, checksums: Mapping[str, str] | None = None
) -> bytes:
    return _doc(
        f"<CopyObjectResult{_NS}>{_copied(etag, last_modified, checksums)}</CopyObjectResult>"
    )


def copy_part_result(
    etag: str, last_modified: datetime, checksums: Mapping[str, str] | None = None
) -> bytes:
    return _doc(f"<CopyPartResult{_NS}>{_copied(etag, last_modified, checksums)}</CopyPartResult>")


def _copied(etag: str, last_modified: datetime, checksums: Mapping[str, str] | None) -> str:
    return (
        f"<LastModified>{_ts(last_modified)}</LastModified><ETag>{_esc(etag)}</ETag>"
        f"{_checksums(checksums or {})}"
    )


def delete_result(
    deleted: Sequence[DeletedEntry], errors: Sequence[ErrorEntry], quiet: bool = False
) -> bytes:
    """deleted: (key, version_id, delete_marker, delete_marker_version_id); errors: (key,
    version_id, code, message). Quiet mode reports the errors only, as S3."""
    done = "" if quiet else "".join([_deleted(*entry) for entry in deleted])
    failed = "".join(
        [
            f"<Error><Key>{_esc(key)}</Key>{_opt('VersionId', version)}<Code>{_esc(code)}</Code>"
            f"<Message>{_esc(message)}</Message></Error>"
            for key, version, code, message in errors
        ]
    )
    return _doc(f"<DeleteResult{_NS}>{done}{failed}</DeleteResult>")


def _deleted(key: str, version: str | None, marker: bool, marker_version: str | None) -> str:
    return (
        f"<Deleted><Key>{_esc(key)}</Key>{_opt('VersionId', version)}"
        f"{'<DeleteMarker>true</DeleteMarker>' if marker else ''}"
        f"{_opt('DeleteMarkerVersionId', marker_version)}</Deleted>"
    )
