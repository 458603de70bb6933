"""The XML bodies of S3 requests: size-capped, DTD-free, namespace-agnostic parsing and checks."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET  # noqa: S405 - only ever fed DTD-free text (_root)

from thecloud.domain.objects import (
    MAX_DELETE_KEYS,
    S3Invalid,
    too_large,
    validate_part_number,
)

MAX_CONFIG_BYTES = 1024**2  # a bucket configuration: tags, CORS, lifecycle, versioning...
MAX_DELETE_BYTES = 2 * 1024**2  # up to 1000 keys of up to 1024 bytes each, escaped
MAX_COMPLETE_BYTES = 8 * 1024**2  # up to 10,000 parts with their checksums
MAX_LIFECYCLE_RULES = 1000
MAX_CORS_RULES = 100
MAX_ID_CHARS = 255
MAX_DAYS = 100_000  # lifecycle rules: about 270 years
CORS_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD"})

_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_DIGITS = re.compile(r"^\s*[0-9]{1,10}\s*$")
_RULE_ELEMENTS = frozenset(
    {"ID", "Filter", "Prefix", "Status", "Expiration", "NoncurrentVersionExpiration",
     "AbortIncompleteMultipartUpload"}
)  # fmt: skip
_LIFECYCLE_ACTIONS = (
    ("expiration_days", "Expiration", "Days"),
    ("noncurrent_days", "NoncurrentVersionExpiration", "NoncurrentDays"),
    ("abort_days", "AbortIncompleteMultipartUpload", "DaysAfterInitiation"),
)

PartEntry = tuple[int, str, dict[str, str]]
Rule = dict[str, object]


# --- the document --------------------------------------------------------------------------


def malformed(what: str) -> S3Invalid:
    return S3Invalid(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published "
        f"schema: {what}",
    )


def _root(body: bytes, expected: str, max_bytes: int) -> ET.Element:
    """Parses UTF-8 text only (an encoding declaration is ignored), with no DTD allowed, so no
    entity can expand; strips every namespace from the tags."""
    if len(body) > max_bytes:
        raise too_large("the XML document", max_bytes)
    text = _decode(body)
    if _DTD.search(text):
        raise malformed("document type and entity declarations are not allowed")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD can reach the parser (checked above)
    except ET.ParseError as exc:
        raise malformed(str(exc)) from None
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    if root.tag != expected:
        raise malformed(f"the root element must be {expected}, not {root.tag}")
    return root


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise malformed("the document is not UTF-8") from None


def _text(element: ET.Element, name: str) -> str | None:
    """The text of the first child called `name` ("" when empty), None when there is none."""
    child = element.find(name)
    return None if child is None else child.text or ""


def _required(element: ET.Element, name: str) -> str:
    value = _text(element, name)
    if value is None:
        raise malformed(f"{element.tag} needs a {name}")
    return value


def _texts(element: ET.Element, name: str) -> list[str]:
    return [(child.text or "").strip() for child in element if child.tag == name]


def _int(text: str, what: str) -> int:
    if not _DIGITS.match(text):
        raise malformed(f"{what} must be a non-negative integer, not {text.strip()[:40]!r}")
    return int(text)


def _bool(text: str, what: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise malformed(f"{what} must be true or false")
    return value in ("true", "1")


def _one_of(text: str | None, allowed: tuple[str, ...], what: str) -> str:
    value = (text or "").strip()
    if value not in allowed:
        raise malformed(f"{what} must be {' or '.join(allowed)}")
    return value


# --- objects -------------------------------------------------------------------------------


def complete_multipart(body: bytes, *, max_bytes: int = MAX_COMPLETE_BYTES) -> list[PartEntry]:
    """(part number, quoted ETag, {"CRC32": base64, ...}) in the order given, which must be
    ascending."""
    root = _root(body, "CompleteMultipartUpload", max_bytes)
    parts = [_part(element) for element in root if element.tag == "Part"]
    if not parts:
        raise malformed("at least one Part is required")
    for before, after in zip(parts, parts[1:], strict=False):
        if after[0] <= before[0]:
            raise S3Invalid(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. The parts list must be "
                "specified in order by part number.",
            )
    return parts


def _part(element: ET.Element) -> PartEntry:
    number, etag, checksums = None, None, {}
    for child in element:
        text = (child.text or "").strip()
        if child.tag == "PartNumber":
            number = _int(text, "PartNumber")
        elif child.tag == "ETag":
            etag = text
        elif child.tag.startswith("Checksum") and child.tag != "ChecksumType":
            checksums[child.tag.removeprefix("Checksum")] = text
    if number is None or etag is None:
        raise malformed("every Part needs a PartNumber and an ETag")
    return validate_part_number(number), f'"{etag.strip(chr(34))}"', checksums


def delete_objects(
    body: bytes, *, max_bytes: int = MAX_DELETE_BYTES
) -> tuple[list[tuple[str, str | None]], bool]:
    """([(key, version id or None)], quiet). Keys are kept exactly (no stripping)."""
    root = _root(body, "Delete", max_bytes)
    objects = [_object(element) for element in root if element.tag == "Object"]
    if not 1 <= len(objects) <= MAX_DELETE_KEYS:
        raise malformed(f"a Delete names 1-{MAX_DELETE_KEYS} Objects, not {len(objects)}")
    quiet = _text(root, "Quiet")
    return objects, quiet is not None and _bool(quiet, "Quiet")


def _object(element: ET.Element) -> tuple[str, str | None]:
    key, version = None, None
    for child in element:
        if child.tag == "Key":
            key = child.text or ""
        elif child.tag == "VersionId":
            version = (child.text or "").strip() or None
        elif child.tag in ("ETag", "LastModifiedTime", "Size"):
            raise S3Invalid(
                "InvalidArgument",
                f"conditional deletes ({child.tag} in an Object) are not supported",
            )
    if key is None:
        raise malformed("every Object needs a Key")
    return key, version


# --- bucket configuration ------------------------------------------------------------------


def create_bucket(body: bytes, *, max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """The LocationConstraint, or "" (an empty body is allowed)."""
    if len(body) <= max_bytes and not body.strip():
        return ""
    root = _root(body, "CreateBucketConfiguration", max_bytes)
    return (_text(root, "LocationConstraint") or "").strip()


def versioning(body: bytes, *, max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """ "Enabled" or "Suspended"; MFA delete is refused (not supported)."""
    root = _root(body, "VersioningConfiguration", max_bytes)
    mfa = _text(root, "MfaDelete")
    if mfa is not None and _one_of(mfa, ("Enabled", "Disabled"), "MfaDelete") == "Enabled":
        raise S3Invalid(
            "InvalidArgument", "MFA delete is not supported: omit MfaDelete or set it to Disabled"
        )
    return _one_of(_text(root, "Status"), ("Enabled", "Suspended"), "Status")


def tagging(body: bytes, *, max_bytes: int = MAX_CONFIG_BYTES) -> dict[str, str]:
    """Tags in document order; the tag limits (count, lengths) are the caller's."""
    root = _root(body, "Tagging", max_bytes)
    tag_set = root.find("TagSet")
    if tag_set is None:
        raise malformed("Tagging needs a TagSet")
    tags: dict[str, str] = {}
    for tag in (element for element in tag_set if element.tag == "Tag"):
        key = _required(tag, "Key")
        if key in tags:
            raise S3Invalid("InvalidTag", "Cannot provide multiple Tags with the same key")
        tags[key] = _required(tag, "Value")
    return tags


def encryption(body: bytes, *, max_bytes: int = MAX_CONFIG_BYTES) -> str:
    """The default algorithm: only AES256 (SSE-S3); there is no KMS."""
    root = _root(body, "ServerSideEncryptionConfiguration", max_bytes)
    rules = root.findall("Rule")
    if len(rules) != 1:
        raise malformed("exactly one Rule is required")
    default = rules[0].find("ApplyServerSideEncryptionByDefault")
    if default is None:
        raise malformed("the Rule needs an ApplyServerSideEncryptionByDefault")
    algorithm = _required(default, "SSEAlgorithm").strip()
    if algorithm.startswith("aws:kms"):
        raise S3Invalid("InvalidArgument", f"{algorithm} (SSE-KMS) is not supported: use AES256")
    _one_of(algorithm, ("AES256",), "SSEAlgorithm")
    if (
        default.find("KMSMasterKeyID") is not None
        or rules[0].find("BlockedEncryptionTypes") is not None
    ):
        raise S3Invalid("InvalidArgument", "only SSEAlgorithm AES256 is supported in the Rule")
    return algorithm


def cors(body: bytes, *, max_bytes: int = MAX_CONFIG_BYTES) -> list[Rule]:
    """Rule dicts: id, allowed_origins, allowed_methods, allowed_headers, expose_headers
    (lists of str) and max_age_seconds (int or None)."""
    root = _root(body, "CORSConfiguration", max_bytes)
    rules = [_cors_rule(element) for element in root if element.tag == "CORSRule"]
    if not 1 <= len(rules) <= MAX_CORS_RULES:
        raise malformed(f"a CORSConfiguration has 1-{MAX_CORS_RULES} CORSRules")
    return rules


def _cors_rule(element: ET.Element) -> Rule:
    origins, methods = _texts(element, "AllowedOrigin"), _texts(element, "AllowedMethod")
    headers = _texts(element, "AllowedHeader")
    if not origins or not methods:
        raise malformed("every CORSRule needs an AllowedOrigin and an AllowedMethod")
    for method in methods:
        if method not in CORS_METHODS:
            raise S3Invalid(
                "InvalidRequest",
                f"Found unsupported HTTP method in CORS config. Unsupported method is {method}",
            )
    _one_wildcard(origins, "AllowedOrigin")
    _one_wildcard(headers, "AllowedHeader")
    max_age = _text(element, "MaxAgeSeconds")
    return {
        "id": _rule_id(element),
        "allowed_origins": origins,
        "allowed_methods": methods,
        "allowed_headers": headers,
        "expose_headers": _texts(element, "ExposeHeader"),
        "max_age_seconds": None if max_age is None else _int(max_age, "MaxAgeSeconds"),
    }


def _one_wildcard(values: list[str], what: str) -> None:
    for value in values:
        if value.count("*") > 1:
            raise S3Invalid(
                "InvalidRequest", f'{what} "{value}" can not have more than one wildcard.'
            )


def _rule_id(element: ET.Element) -> str:
    rule_id = _text(element, "ID") or ""
    if len(rule_id) > MAX_ID_CHARS:
        raise S3Invalid(
            "InvalidArgument", f"ID length should not exceed allowed limit of {MAX_ID_CHARS}"
        )
    return rule_id


def lifecycle(body: bytes, *, max_bytes: int = MAX_CONFIG_BYTES) -> list[Rule]:
    """Rule dicts: id, prefix, status ("Enabled"|"Disabled") and expiration_days,
    noncurrent_days, abort_days (positive int or None). A rule without an ID gets "rule-<n>"."""
    root = _root(body, "LifecycleConfiguration", max_bytes)
    elements = [element for element in root if element.tag == "Rule"]
    if not 1 <= len(elements) <= MAX_LIFECYCLE_RULES:
        raise malformed(f"a LifecycleConfiguration has 1-{MAX_LIFECYCLE_RULES} Rules")
    rules = [_lifecycle_rule(element) for element in elements]
    _name_rules(rules)
    return rules


def _lifecycle_rule(element: ET.Element) -> Rule:
    unknown = {child.tag for child in element} - _RULE_ELEMENTS
    if unknown:
        raise _unsupported(", ".join(sorted(unknown)))
    prefix, tags = _rule_filter(element)
    rule: Rule = {
        "id": _rule_id(element),
        "prefix": prefix,
        "status": _one_of(_text(element, "Status"), ("Enabled", "Disabled"), "Status"),
        "tags": tags,
    }
    for name, action, field in _LIFECYCLE_ACTIONS:
        rule[name] = _days(element, action, field)
    if all(rule[name] is None for name, _, _ in _LIFECYCLE_ACTIONS):
        raise S3Invalid("InvalidRequest", "At least one action needs to be specified in a rule")
    return rule


def _rule_filter(element: ET.Element) -> tuple[str, dict[str, str]]:
    """A rule's prefix and tags: a Filter of one Prefix, one Tag, or an And of a Prefix and
    Tags; or the older Prefix beside the Filter's place."""
    rule_filter, legacy = element.find("Filter"), _text(element, "Prefix")
    if rule_filter is not None and legacy is not None:
        raise malformed("a Rule has a Filter or a Prefix, not both")
    if rule_filter is None:
        return legacy or "", {}
    children = [child.tag for child in rule_filter]
    unknown = set(children) - {"Prefix", "Tag", "And"}
    if unknown:
        raise _unsupported(f"Filter/{', '.join(sorted(unknown))}")
    if len(children) > 1:
        raise malformed("a Filter holds one Prefix, one Tag or one And")
    if children == ["Tag"]:
        return "", _tags(rule_filter.findall("Tag"))
    if children == ["And"]:
        both = rule_filter.find("And")
        assert both is not None  # noqa: S101 - it is its one child
        unknown = {child.tag for child in both} - {"Prefix", "Tag"}
        if unknown:
            raise _unsupported(f"Filter/And/{', '.join(sorted(unknown))}")
        return _text(both, "Prefix") or "", _tags(both.findall("Tag"))
    return _text(rule_filter, "Prefix") or "", {}


def _tags(elements: list[ET.Element]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag in elements:
        key = _required(tag, "Key")
        if key in tags:
            raise S3Invalid("InvalidRequest", f"a lifecycle rule names the tag {key!r} twice")
        tags[key] = _text(tag, "Value") or ""
    return tags


def _days(element: ET.Element, action: str, field: str) -> int | None:
    container = element.find(action)
    if container is None:
        return None
    unknown = {child.tag for child in container} - {field}
    if unknown:
        raise _unsupported(f"{action}/{', '.join(sorted(unknown))}")
    days = _int(_required(container, field), f"{action}/{field}")
    if not 1 <= days <= MAX_DAYS:
        raise S3Invalid(
            "InvalidArgument",
            f"'{field}' for {action} action must be a positive integer up to {MAX_DAYS}",
        )
    return days


def _unsupported(what: str) -> S3Invalid:
    return S3Invalid(
        "InvalidArgument",
        f"{what} is not supported: lifecycle rules here filter by prefix and tags and act after a "
        "number of Days (Expiration Days, NoncurrentVersionExpiration NoncurrentDays, "
        "AbortIncompleteMultipartUpload DaysAfterInitiation)",
    )


def _name_rules(rules: list[Rule]) -> None:
    """IDs are unique; a rule without one is named rule-<n> with the first free n."""
    named = [str(rule["id"]) for rule in rules if rule["id"]]
    if len(set(named)) != len(named):
        raise S3Invalid(
            "InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule"
        )
    taken, counter = set(named), 0
    for rule in (rule for rule in rules if not rule["id"]):
        counter += 1
        while f"rule-{counter}" in taken:
            counter += 1
        rule["id"] = f"rule-{counter}"
