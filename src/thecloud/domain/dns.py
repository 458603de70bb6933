"""DNS: zones and records, and the validation that turns user input into the server's form.

Names leave here absolute, lowercase and with a trailing dot ("www.example.com."); record
content leaves in the presentation form the DNS server stores ("10 mail.example.com.").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from thecloud.domain.errors import Conflict, InvalidInput

MAX_NAME_LENGTH = 253  # characters of a name without its trailing dot
MAX_LABEL_LENGTH = 63
MAX_TXT_LENGTH = 4000  # characters of one TXT record's text
TXT_CHUNK_BYTES = 255  # the longest character-string of a TXT record
DEFAULT_TTL = 300
MIN_TTL = 60
MAX_TTL = 86400
MAX_U16 = 65535

_HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_RECORD_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?")


class RecordType(StrEnum):
    A = "A"
    AAAA = "AAAA"
    CNAME = "CNAME"
    MX = "MX"
    TXT = "TXT"
    SRV = "SRV"


# Types the platform writes itself; users cannot create them.
MANAGED_TYPES = frozenset({"NS", "SOA"})
PRIORITY_TYPES = frozenset({RecordType.MX, RecordType.SRV})


class DnsZoneStatus(StrEnum):
    CREATING = "CREATING"  # recorded, not yet on the DNS server
    ACTIVE = "ACTIVE"  # answering on the DNS server
    DELETING = "DELETING"  # being removed from the DNS server
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class DnsZone:
    id: str
    tenant_id: str
    name: str  # normalized: "corp.internal."
    description: str
    vpc_id: str | None  # None: a public zone
    status: DnsZoneStatus
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True, slots=True)
class DnsRecord:
    id: str
    tenant_id: str
    zone_id: str
    name: str  # absolute: "www.corp.internal."
    type: RecordType
    content: str  # rendered by record_content()
    ttl: int
    priority: int | None
    instance_id: str | None  # set for records the platform registered for an instance
    created_at: datetime
    updated_at: datetime
    version: int = 1


def _labels(name: str) -> list[str]:
    """`name` lowercased and split, a single trailing dot dropped."""
    text = name.strip().lower()
    return (text[:-1] if text.endswith(".") else text).split(".")


def _label_problem(label: str, pattern: re.Pattern[str], allowed: str) -> str | None:
    if not label:
        return "it has an empty label (two dots in a row, or a leading dot)"
    if len(label) > MAX_LABEL_LENGTH:
        return f"the label '{label[:20]}...' is longer than {MAX_LABEL_LENGTH} characters"
    if not label.isascii():
        return f"the label '{label}' is not ASCII (write internationalized names as xn--...)"
    if not pattern.fullmatch(label):
        return f"the label '{label}' may only hold {allowed}, and not start or end with '-'"
    return None


def normalize_zone_name(name: str) -> str:
    """`name` as a zone: lowercase, trailing dot, at least two labels of [a-z0-9-]."""
    labels = _labels(name)
    problem = _name_problem(labels)
    if problem is None and len(labels) < 2:
        problem = "it needs at least two labels, such as corp.internal or example.com"
    if problem is not None:
        raise InvalidInput(f"zone name '{name}' is invalid: {problem}")
    return ".".join(labels) + "."


def _name_problem(labels: list[str], *, underscore_ok: bool = False) -> str | None:
    if labels == [""]:
        return "it is empty"
    pattern, allowed = (
        (_RECORD_LABEL, "letters, digits, '-' and '_'")
        if underscore_ok
        else (_HOST_LABEL, "letters, digits and '-'")
    )
    for label in labels:
        problem = _label_problem(label, pattern, allowed)
        if problem is not None:
            return problem
    if len(".".join(labels)) > MAX_NAME_LENGTH:
        return f"it is longer than {MAX_NAME_LENGTH} characters"
    return None


def record_fqdn(name: str, zone: str) -> str:
    """The absolute name of a record given relative to `zone` or absolute.

    "@" is the apex; "www", "_sip._tcp" and "*.dev" are relative; "www.example.com" (the
    zone's name at its end) and "www.example.com." are absolute. The result must lie in the
    zone. Labels hold letters, digits, '-' and '_'; '*' is allowed as the leftmost label only.
    """
    apex = normalize_zone_name(zone)
    text = name.strip().lower()
    if not text:
        raise InvalidInput("record name must not be empty: use '@' for the zone apex")
    if text in ("@", apex, apex[:-1]):
        return apex
    if text.endswith("."):
        if not text.endswith("." + apex):
            raise InvalidInput(f"record name '{name}' is not inside the zone {apex}")
        text = text[: -len(apex) - 1]
    elif text.endswith("." + apex[:-1]):
        text = text[: -len(apex)]
    _check_relative(name, text)
    fqdn = f"{text}.{apex}"
    if len(fqdn) - 1 > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"record name '{name}' is invalid: with the zone it is longer than "
            f"{MAX_NAME_LENGTH} characters"
        )
    return fqdn


def _check_relative(name: str, relative: str) -> None:
    labels = relative.split(".") if relative else [""]
    for index, label in enumerate(labels):
        if label == "*":
            if index == 0:
                continue
            problem: str | None = "'*' is only allowed as the leftmost label"
        elif label == "@":
            problem = "'@' stands for the zone apex on its own and cannot be part of a name"
        else:
            problem = _label_problem(label, _RECORD_LABEL, "letters, digits, '-' and '_'")
        if problem is not None:
            raise InvalidInput(f"record name '{name}' is invalid: {problem}")


def parse_record_type(value: str) -> RecordType:
    """The record type named by `value` (any case); NS and SOA are the platform's."""
    upper = value.strip().upper()
    if upper in MANAGED_TYPES:
        raise InvalidInput(
            f"{upper} records are managed by the platform and cannot be created or changed"
        )
    try:
        return RecordType(upper)
    except ValueError:
        kinds = ", ".join(RecordType)
        raise InvalidInput(f"record type '{value}' is not supported: use one of {kinds}") from None


def record_content(
    type: RecordType | str,
    content: str,
    priority: int | None = None,
) -> str:
    """`content` validated and rendered in presentation form; `priority` is for MX and SRV."""
    kind = parse_record_type(type)
    if kind in PRIORITY_TYPES:
        if priority is None:
            raise InvalidInput(f"{kind} records need a priority (0-{MAX_U16})")
        _check_u16(kind, "priority", priority)
    elif priority is not None:
        raise InvalidInput(f"priority is only for MX and SRV records, not {kind}")
    return _RENDER[kind](content, priority or 0)


def _check_u16(kind: str, field: str, value: int) -> None:
    if not 0 <= value <= MAX_U16:
        raise InvalidInput(f"{kind} {field} must be between 0 and {MAX_U16}, not {value}")


def _a(content: str, _priority: int) -> str:
    try:
        return str(ipaddress.IPv4Address(content.strip()))
    except ValueError:
        raise InvalidInput(
            f"A record content must be an IPv4 address such as 10.0.0.5, not '{content}'"
        ) from None


def _aaaa(content: str, _priority: int) -> str:
    try:
        address = ipaddress.IPv6Address(content.strip())
    except ValueError:
        address = None
    if address is None or address.scope_id is not None:
        raise InvalidInput(
            f"AAAA record content must be an IPv6 address such as 2001:db8::5, not '{content}'"
        )
    return address.compressed


def _target(kind: str, content: str, *, root_ok: bool, underscore_ok: bool = False) -> str:
    """A host name as an absolute name; "." (no such service) where `root_ok`."""
    text = content.strip().lower()
    if root_ok and text == ".":
        return "."
    labels = _labels(text)
    problem = _name_problem(labels, underscore_ok=underscore_ok)
    if problem is None and _is_ip(text.rstrip(".")):
        problem = "it is an IP address; point to the name of an A or AAAA record instead"
    if problem is None and len(labels) < 2:
        problem = "give the full name, such as web.corp.internal"
    if problem is not None:
        raise InvalidInput(f"{kind} target '{content}' is not a valid host name: {problem}")
    return ".".join(labels) + "."


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _cname(content: str, _priority: int) -> str:
    return _target("CNAME", content, root_ok=False, underscore_ok=True)


def _mx(content: str, priority: int) -> str:
    return f"{priority} {_target('MX', content, root_ok=True)}"


def _srv(content: str, priority: int) -> str:
    parts = content.split()
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts[:2]):
        raise InvalidInput(
            f"SRV record content must be 'weight port target', such as "
            f"'5 5060 sip.example.com', not '{content}'"
        )
    weight, port = int(parts[0]), int(parts[1])
    _check_u16("SRV", "weight", weight)
    _check_u16("SRV", "port", port)
    return f"{priority} {weight} {port} {_target('SRV', parts[2], root_ok=True)}"


def _txt(content: str, _priority: int) -> str:
    if not content:
        raise InvalidInput("TXT record content must not be empty")
    if len(content) > MAX_TXT_LENGTH:
        raise InvalidInput(
            f"TXT record content is {len(content)} characters long; the limit is {MAX_TXT_LENGTH}"
        )
    if not content.isprintable():
        raise InvalidInput(
            "TXT record content must be printable text: no newlines, tabs or other control "
            "characters"
        )
    return " ".join(f'"{_escape(chunk)}"' for chunk in _txt_chunks(content))


def _txt_chunks(content: str) -> Iterable[bytes]:
    """The UTF-8 of `content` in pieces of at most 255 bytes, never splitting a character."""
    chunk = b""
    for char in content:
        encoded = char.encode()
        if len(chunk) + len(encoded) > TXT_CHUNK_BYTES:
            yield chunk
            chunk = b""
        chunk += encoded
    yield chunk


def _escape(chunk: bytes) -> str:
    """Presentation form inside quotes: `"` and `\\` escaped, non-ASCII bytes as \\DDD."""
    out = []
    for byte in chunk:
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


_RENDER = {
    RecordType.A: _a,
    RecordType.AAAA: _aaaa,
    RecordType.CNAME: _cname,
    RecordType.MX: _mx,
    RecordType.TXT: _txt,
    RecordType.SRV: _srv,
}


def clamp_ttl(ttl: int | None) -> int:
    """The TTL to use: 300 s when not given, else `ttl` clamped to [60, 86400] seconds."""
    if ttl is None:
        return DEFAULT_TTL
    return max(MIN_TTL, min(MAX_TTL, ttl))


def check_cname_exclusive(
    existing_types_at_name: set[str], new_type: RecordType | str, *, at_apex: bool = False
) -> None:
    """Refuse a record that would put a CNAME next to any other record of the same name.

    `existing_types_at_name` are the types of the records already at the name, without the
    record being updated. A CNAME at the zone apex (`at_apex`) always coexists with the SOA
    and NS records and is refused.
    """
    kind = str(new_type).upper()
    if kind == RecordType.CNAME and at_apex:
        raise InvalidInput(
            "a CNAME record cannot be at the zone apex: the apex holds the zone's SOA and NS "
            "records (use A/AAAA records there)"
        )
    existing = {t.upper() for t in existing_types_at_name}
    if kind == RecordType.CNAME and RecordType.CNAME in existing:
        raise Conflict("the name already has a CNAME record; a name can have only one")
    if kind == RecordType.CNAME and existing:
        others = ", ".join(sorted(existing))
        raise Conflict(
            f"a CNAME record cannot coexist with other records at the same name (it has {others})"
        )
    if kind != RecordType.CNAME and RecordType.CNAME in existing:
        raise Conflict(
            f"the name has a CNAME record, so it cannot have {kind} records too; "
            "remove the CNAME first"
        )
