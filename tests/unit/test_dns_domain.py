"""DNS validation: zone names, record names, types, content per type, TTLs, CNAME exclusivity."""

from __future__ import annotations

import pytest

from thecloud.domain.dns import (
    RecordType,
    check_cname_exclusive,
    clamp_ttl,
    normalize_zone_name,
    parse_record_type,
    record_content,
    record_fqdn,
)
from thecloud.domain.errors import Conflict, InvalidInput

# --- zone names


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("corp.internal", "corp.internal."),
        ("Example.COM.", "example.com."),
        ("  a-b.c1.example.com  ", "a-b.c1.example.com."),
        ("xn--bcher-kva.example", "xn--bcher-kva.example."),
        ("0.example", "0.example."),
        ("a" * 63 + ".com", "a" * 63 + ".com."),
    ],
)
def test_zone_names_are_normalized(given: str, expected: str) -> None:
    assert normalize_zone_name(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "it is empty"),
        (".", "it is empty"),
        ("internal", "at least two labels"),
        ("corp..internal", "empty label"),
        (".corp.internal", "empty label"),
        ("corp.internal..", "empty label"),
        ("-corp.internal", "not start or end with '-'"),
        ("corp-.internal", "not start or end with '-'"),
        ("co_rp.internal", "letters, digits and '-'"),
        ("*.corp.internal", "letters, digits and '-'"),
        ("corp internal.x", "letters, digits and '-'"),
        ("bücher.example", "xn--"),
        ("a" * 64 + ".com", "longer than 63"),
        (".".join(["a" * 60] * 5), "longer than 253"),
    ],
)
def test_bad_zone_names_say_what_is_wrong(given: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_zone_name(given)
    assert f"zone name '{given}' is invalid" in caught.value.message
    assert reason in caught.value.message


def test_longest_zone_name_is_accepted() -> None:
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters
    assert normalize_zone_name(name) == name + "."


# --- record names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("@", "example.com."),
        ("example.com", "example.com."),
        ("example.com.", "example.com."),
        ("www", "www.example.com."),
        ("WWW", "www.example.com."),
        ("www.example.com", "www.example.com."),
        ("www.example.com.", "www.example.com."),
        ("a.b.c", "a.b.c.example.com."),
        ("_sip._tcp", "_sip._tcp.example.com."),
        ("sel1._domainkey", "sel1._domainkey.example.com."),
        ("*", "*.example.com."),
        ("*.dev", "*.dev.example.com."),
        ("*.dev.example.com.", "*.dev.example.com."),
    ],
)
def test_record_names_become_absolute(name: str, expected: str) -> None:
    assert record_fqdn(name, "Example.com") == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "use '@' for the zone apex"),
        ("   ", "use '@' for the zone apex"),
        ("www.other.com.", "not inside the zone example.com."),
        ("example.com.evil.", "not inside the zone"),
        ("notexample.com.", "not inside the zone"),
        ("a..b", "empty label"),
        ("www.*", "'*' is only allowed as the leftmost label"),
        ("a*", "letters, digits, '-' and '_'"),
        ("-www", "not start or end with '-'"),
        ("w w", "letters, digits, '-' and '_'"),
        ("www.@", "'@' stands for the zone apex"),
        ("x" * 64, "longer than 63"),
        ("ünï", "xn--"),
    ],
)
def test_bad_record_names_say_what_is_wrong(name: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        record_fqdn(name, "example.com")
    assert reason in caught.value.message


def test_record_name_too_long_with_the_zone() -> None:
    zone = ".".join(["z" * 63] * 3) + ".com"  # 195 characters
    assert record_fqdn("a" * 57, zone) == "a" * 57 + "." + zone + "."
    with pytest.raises(InvalidInput, match="with the zone it is longer than 253"):
        record_fqdn("a" * 58, zone)


def test_record_name_in_an_invalid_zone_fails_on_the_zone() -> None:
    with pytest.raises(InvalidInput, match="zone name 'nodots' is invalid"):
        record_fqdn("www", "nodots")


# --- types


def test_record_types_parse_in_any_case() -> None:
    assert parse_record_type("aaaa") is RecordType.AAAA
    assert parse_record_type(" Mx ") is RecordType.MX
    assert [t.value for t in RecordType] == ["A", "AAAA", "CNAME", "MX", "TXT", "SRV"]


@pytest.mark.parametrize("kind", ["NS", "soa", "Ns"])
def test_managed_types_are_refused(kind: str) -> None:
    with pytest.raises(InvalidInput, match="managed by the platform"):
        parse_record_type(kind)
    with pytest.raises(InvalidInput, match="managed by the platform"):
        record_content(kind, "ns1.example.com")


def test_unknown_types_list_the_supported_ones() -> None:
    with pytest.raises(InvalidInput, match="'PTR' is not supported: use one of A, AAAA, CNAME"):
        parse_record_type("PTR")


# --- content per type


@pytest.mark.parametrize(
    ("kind", "content", "priority", "expected"),
    [
        ("A", "10.0.0.5", None, "10.0.0.5"),
        ("A", " 192.168.1.1 ", None, "192.168.1.1"),
        (RecordType.A, "0.0.0.0", None, "0.0.0.0"),  # noqa: S104 - a record value
        ("AAAA", "2001:DB8:0:0::5", None, "2001:db8::5"),
        ("AAAA", "::ffff:10.0.0.1", None, "::ffff:a00:1"),
        ("CNAME", "Web.Corp.Internal", None, "web.corp.internal."),
        ("CNAME", "web.corp.internal.", None, "web.corp.internal."),
        ("CNAME", "s1._domainkey.mail.example", None, "s1._domainkey.mail.example."),
        ("MX", "mail.example.com", 10, "10 mail.example.com."),
        ("MX", "mail.example.com.", 0, "0 mail.example.com."),
        ("MX", ".", 0, "0 ."),
        ("MX", "mx.example.com", 65535, "65535 mx.example.com."),
        ("SRV", "5 5060 sip.example.com", 10, "10 5 5060 sip.example.com."),
        ("SRV", "  0   443  Web.Example.com. ", 0, "0 0 443 web.example.com."),
        ("SRV", "0 0 .", 0, "0 0 0 ."),
        ("TXT", "v=spf1 -all", None, '"v=spf1 -all"'),
        ("TXT", " leading and trailing ", None, '" leading and trailing "'),
        ("TXT", 'say "hi" \\o/', None, '"say \\"hi\\" \\\\o/"'),
        ("TXT", "café", None, '"caf\\195\\169"'),
    ],
)
def test_content_is_rendered_in_presentation_form(
    kind: str, content: str, priority: int | None, expected: str
) -> None:
    assert record_content(kind, content, priority) == expected


@pytest.mark.parametrize(
    ("kind", "content", "priority", "reason"),
    [
        ("A", "10.0.0.300", None, "IPv4 address such as 10.0.0.5, not '10.0.0.300'"),
        ("A", "2001:db8::1", None, "IPv4 address"),
        ("A", "010.0.0.1", None, "IPv4 address"),
        ("A", "", None, "IPv4 address"),
        ("AAAA", "10.0.0.1", None, "IPv6 address such as 2001:db8::5"),
        ("AAAA", "fe80::1%eth0", None, "IPv6 address"),
        ("AAAA", "2001:db8::g", None, "IPv6 address"),
        ("CNAME", "web", None, "give the full name"),
        ("CNAME", "", None, "it is empty"),
        ("CNAME", ".", None, "it is empty"),
        ("CNAME", "http://web.example.com", None, "letters, digits, '-' and '_'"),
        ("CNAME", "-web.example.com", None, "not start or end with '-'"),
        ("CNAME", "a" * 64 + ".com", None, "longer than 63"),
        ("MX", "mail.example.com", None, "MX records need a priority (0-65535)"),
        ("MX", "mail.example.com", -1, "MX priority must be between 0 and 65535, not -1"),
        ("MX", "mail.example.com", 65536, "MX priority must be between 0 and 65535"),
        ("MX", "10 mail.example.com", 10, "MX target '10 mail.example.com' is not a valid"),
        ("MX", "_mail.example.com", 10, "letters, digits and '-'"),
        ("MX", "192.0.2.1", 10, "it is an IP address; point to the name of an A or AAAA"),
        ("CNAME", "192.0.2.1.", None, "it is an IP address"),
        ("SRV", "5 5060 sip.example.com", None, "SRV records need a priority"),
        ("SRV", "5060 sip.example.com", 1, "'weight port target'"),
        ("SRV", "5 5060 sip.example.com extra", 1, "'weight port target'"),
        ("SRV", "x 5060 sip.example.com", 1, "'weight port target'"),
        ("SRV", "-1 5060 sip.example.com", 1, "'weight port target'"),
        ("SRV", "\u00b2 5060 sip.example.com", 1, "'weight port target'"),
        ("SRV", "70000 5060 sip.example.com", 1, "SRV weight must be between 0 and 65535"),
        ("SRV", "5 65536 sip.example.com", 1, "SRV port must be between 0 and 65535"),
        ("SRV", "5 5060 sip", 1, "give the full name"),
        ("A", "10.0.0.1", 10, "priority is only for MX and SRV records, not A"),
        ("TXT", "hello", 0, "priority is only for MX and SRV records, not TXT"),
        ("TXT", "", None, "must not be empty"),
        ("TXT", "line1\nline2", None, "no newlines, tabs or other control characters"),
        ("TXT", "tab\there", None, "control characters"),
        ("TXT", "nul\x00", None, "control characters"),
        ("TXT", "x" * 4001, None, "4001 characters long; the limit is 4000"),
    ],
)
def test_bad_content_says_what_to_fix(
    kind: str, content: str, priority: int | None, reason: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        record_content(kind, content, priority)
    assert reason in caught.value.message


def test_long_txt_is_split_into_255_byte_strings() -> None:
    rendered = record_content("TXT", "x" * 600)
    assert rendered == '"' + "x" * 255 + '" "' + "x" * 255 + '" "' + "x" * 90 + '"'
    assert record_content("TXT", "x" * 4000).count('" "') == 15


def test_txt_chunks_count_bytes_and_never_split_a_character() -> None:
    # 254 ASCII bytes, then "é" (2 bytes) does not fit: it starts the second string.
    rendered = record_content("TXT", "a" * 254 + "é")
    assert rendered == '"' + "a" * 254 + '" "\\195\\169"'
    # Escaping does not count: 255 quotes are 255 bytes on the wire, one string.
    assert record_content("TXT", '"' * 255) == '"' + '\\"' * 255 + '"'


# --- TTL


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [(None, 300), (300, 300), (60, 60), (59, 60), (0, 60), (-5, 60), (86400, 86400)]
    + [(86401, 86400), (10**12, 86400), (3600, 3600)],
)
def test_ttl_defaults_and_clamps(ttl: int | None, expected: int) -> None:
    assert clamp_ttl(ttl) == expected


# --- CNAME exclusivity


@pytest.mark.parametrize(
    ("existing", "new"),
    [(set(), "CNAME"), (set(), "A"), ({"A"}, "A"), ({"A", "TXT"}, "MX"), ({"MX"}, "TXT")],
)
def test_cname_rules_allow(existing: set[str], new: str) -> None:
    check_cname_exclusive(existing, new)


@pytest.mark.parametrize(
    ("existing", "new", "reason"),
    [
        ({"A"}, "CNAME", "cannot coexist with other records at the same name (it has A)"),
        ({"txt", "A"}, RecordType.CNAME, "(it has A, TXT)"),
        ({"CNAME"}, "CNAME", "already has a CNAME record; a name can have only one"),
        ({"cname"}, "A", "has a CNAME record, so it cannot have A records too"),
        ({"CNAME"}, RecordType.TXT, "cannot have TXT records too; remove the CNAME first"),
    ],
)
def test_cname_rules_refuse(existing: set[str], new: str, reason: str) -> None:
    with pytest.raises(Conflict) as caught:
        check_cname_exclusive(existing, new)
    assert reason in caught.value.message


def test_cname_at_the_apex_is_refused() -> None:
    with pytest.raises(InvalidInput, match="cannot be at the zone apex"):
        check_cname_exclusive(set(), "CNAME", at_apex=True)
    check_cname_exclusive(set(), "A", at_apex=True)
