"""Unit tests for IAM-style policy documents: parsing, wildcards, conditions and evaluation."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

import pytest

from thecloud.domain.policy import (
    MAX_STATEMENTS,
    Decision,
    Effect,
    InvalidPolicy,
    PolicyDocument,
    Statement,
    action_allowed_by_permissions,
    evaluate,
    parse_policy_document,
    policy_to_dict,
    wildcard_match,
)

SECRET = ["trn:T1:secret/1b2c3d", "trn:T1:secret/db-password"]
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def doc(*statements: dict[str, object]) -> PolicyDocument:
    return parse_policy_document({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: object = "*", resource: object = "*", **extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: object = "*", resource: object = "*", **extra: object) -> dict[str, object]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def condition_holds(condition: Mapping[str, object], context: Mapping[str, object]) -> bool:
    policy = doc(allow(Condition=condition))
    return evaluate([policy], "secret:read", SECRET, context) is Decision.ALLOW


def error_for(raw: object) -> str:
    with pytest.raises(InvalidPolicy) as caught:
        parse_policy_document(raw)
    return str(caught.value)


# --- wildcard matching ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "", True),
        ("*", "trn:T1:secret/a/b", True),
        ("trn:*:secret/prod-*", "trn:T1:secret/prod-db", True),
        ("trn:*:secret/prod-*", "trn:T1:secret/dev-db", False),
        ("trn:*", "trn:T1:instance/i-1/volume/v-2", True),
        ("trn:T1:*/db-*", "trn:T1:secret/db-password", True),
        ("secret:?ead", "secret:read", True),
        ("secret:?ead", "secret:rread", False),
        ("a?c", "a/c", True),
        ("a?c", "a:c", True),
        ("?", "", False),
        ("a*b*c", "a-b-c", True),
        ("a*b*c", "acb", False),
        ("a*a", "a", False),
        ("a**b", "ab", True),
        ("*-prod", "db-prod", True),
        ("*-prod", "db-prod-2", False),
        ("exact", "exact", True),
        ("Exact", "exact", False),
        ("[ab]", "a", False),
        ("[ab]", "[ab]", True),
        ("a.c", "abc", False),
        ("a+", "aa", False),
    ],
)
def test_wildcard_match(pattern: str, value: str, expected: bool) -> None:
    assert wildcard_match(pattern, value) is expected


def test_wildcard_match_has_no_backtracking_blowup() -> None:
    started = time.perf_counter()
    assert not wildcard_match("*a" * 40 + "b", "a" * 20_000)
    assert not wildcard_match("*?*?*?*?*?*?*?*?x", "y" * 20_000)
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize(
    ("permissions", "action", "expected"),
    [
        (["*"], "instance:launch", True),
        (["instance:*"], "instance:launch", True),
        (["instance:*"], "volume:create", False),
        (["secret:read"], "Secret:Read", True),
        (["SECRET:READ"], "secret:read", True),
        (["secret:write"], "secret:read", False),
        (["ssh_key:?reate"], "ssh_key:create", True),
        ([], "secret:read", False),
    ],
)
def test_action_allowed_by_permissions(permissions: list[str], action: str, expected: bool) -> None:
    assert action_allowed_by_permissions(permissions, action) is expected


# --- evaluation ----------------------------------------------------------------------------


def test_matching_allow_allows() -> None:
    policy = doc(allow("secret:read", "trn:*:secret/db-*"))
    assert evaluate([policy], "secret:read", SECRET, {}) is Decision.ALLOW


def test_action_matching_is_case_insensitive() -> None:
    policy = doc(allow("Secret:Read"))
    assert evaluate([policy], "SECRET:read", SECRET, {}) is Decision.ALLOW


def test_resource_matching_is_case_sensitive() -> None:
    policy = doc(allow("secret:read", "trn:T1:secret/DB-*"))
    assert evaluate([policy], "secret:read", SECRET, {}) is Decision.NOT_APPLICABLE


def test_resource_matches_by_any_name_of_the_resource() -> None:
    by_id = doc(allow("secret:read", "trn:T1:secret/1b2c3d"))
    by_name = doc(allow("secret:read", ["trn:T2:*", "trn:T1:secret/db-password"]))
    assert evaluate([by_id], "secret:read", SECRET, {}) is Decision.ALLOW
    assert evaluate([by_name], "secret:read", SECRET, {}) is Decision.ALLOW


def test_single_resource_string_is_not_split_into_characters() -> None:
    policy = doc(allow("secret:read", "trn:T1:secret/x"))
    resource: object = "trn:T1:secret/x"
    assert evaluate([policy], "secret:read", resource, {}) is Decision.ALLOW  # type: ignore[arg-type]


def test_no_matching_statement_is_not_applicable() -> None:
    policy = doc(allow("instance:*"), deny("secret:read", "trn:T9:*"))
    assert evaluate([policy], "secret:read", SECRET, {}) is Decision.NOT_APPLICABLE
    assert evaluate([], "secret:read", SECRET, {}) is Decision.NOT_APPLICABLE


@pytest.mark.parametrize("deny_first", [True, False])
def test_explicit_deny_beats_allow_across_documents(deny_first: bool) -> None:
    allowing = doc(allow("*"))
    denying = doc(deny("secret:*", "trn:*:secret/db-*"))
    documents = [denying, allowing] if deny_first else [allowing, denying]
    assert evaluate(documents, "secret:read", SECRET, {}) is Decision.DENY
    assert evaluate(documents, "instance:read", ["trn:T1:instance/i"], {}) is Decision.ALLOW


def test_deny_whose_condition_fails_does_not_apply() -> None:
    guarded = deny(Condition={"Bool": {"thecloud:SecureTransport": "false"}})
    policy = doc(allow("secret:read"), guarded)
    secure = {"thecloud:SecureTransport": True}
    assert evaluate([policy], "secret:read", SECRET, secure) is Decision.ALLOW
    insecure = {"thecloud:SecureTransport": False}
    assert evaluate([policy], "secret:read", SECRET, insecure) is Decision.DENY


def test_evaluate_accepts_directly_built_documents() -> None:
    statement = Statement(Effect.ALLOW, ("secret:read",), ("*",))
    policy = PolicyDocument(statements=(statement,))
    assert evaluate([policy], "secret:read", SECRET, {}) is Decision.ALLOW


# --- conditions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        (
            {"StringEquals": {"thecloud:PrincipalType": "user"}},
            {"thecloud:PrincipalType": "user"},
            True,
        ),
        (
            {"StringEquals": {"thecloud:PrincipalType": "user"}},
            {"thecloud:PrincipalType": "User"},
            False,
        ),
        ({"StringEquals": {"thecloud:TenantId": ["T1", "T2"]}}, {"thecloud:TenantId": "T2"}, True),
        ({"StringEquals": {"k": "b"}}, {"k": ["a", "b"]}, True),
        ({"StringEquals": {"k": "c"}}, {"k": ["a", "b"]}, False),
        ({"StringEquals": {"k": "5"}}, {"k": 5}, True),
        ({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "c"}, True),
        ({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "b"}, False),
        ({"StringNotEquals": {"k": "a"}}, {"k": ["a", "z"]}, False),
        ({"StringEqualsIgnoreCase": {"k": "PROD"}}, {"k": "prod"}, True),
        ({"StringEqualsIgnoreCase": {"k": "PROD"}}, {"k": "dev"}, False),
        ({"StringNotEqualsIgnoreCase": {"k": "PROD"}}, {"k": "prod"}, False),
        ({"StringNotEqualsIgnoreCase": {"k": "PROD"}}, {"k": "dev"}, True),
        (
            {"StringLike": {"thecloud:ResourceTag/env": "prod-*"}},
            {"thecloud:ResourceTag/env": "prod-eu"},
            True,
        ),
        (
            {"StringLike": {"thecloud:ResourceTag/env": "prod-?"}},
            {"thecloud:ResourceTag/env": "prod-eu"},
            False,
        ),
        ({"StringNotLike": {"k": ["prod-*", "stage-*"]}}, {"k": "dev-1"}, True),
        ({"StringNotLike": {"k": ["prod-*", "stage-*"]}}, {"k": "stage-1"}, False),
        (
            {"IpAddress": {"thecloud:SourceIp": "10.0.0.0/8"}},
            {"thecloud:SourceIp": "10.1.2.3"},
            True,
        ),
        (
            {"IpAddress": {"thecloud:SourceIp": "10.0.0.0/8"}},
            {"thecloud:SourceIp": "11.1.2.3"},
            False,
        ),
        (
            {"IpAddress": {"thecloud:SourceIp": "127.0.0.1"}},
            {"thecloud:SourceIp": "127.0.0.1"},
            True,
        ),
        (
            {"IpAddress": {"thecloud:SourceIp": "2001:db8::/32"}},
            {"thecloud:SourceIp": "2001:db8:1::7"},
            True,
        ),
        (
            {"IpAddress": {"thecloud:SourceIp": "2001:db8::/32"}},
            {"thecloud:SourceIp": "2001:db9::7"},
            False,
        ),
        ({"IpAddress": {"thecloud:SourceIp": "::/0"}}, {"thecloud:SourceIp": "10.0.0.1"}, False),
        (
            {"IpAddress": {"thecloud:SourceIp": "10.0.0.0/8"}},
            {"thecloud:SourceIp": "::ffff:10.0.0.1"},
            True,
        ),
        (
            {"IpAddress": {"thecloud:SourceIp": "10.0.0.0/8"}},
            {"thecloud:SourceIp": "not-an-ip"},
            False,
        ),
        (
            {"NotIpAddress": {"thecloud:SourceIp": ["10.0.0.0/8", "fd00::/8"]}},
            {"thecloud:SourceIp": "8.8.8.8"},
            True,
        ),
        (
            {"NotIpAddress": {"thecloud:SourceIp": ["10.0.0.0/8", "fd00::/8"]}},
            {"thecloud:SourceIp": "fd12::1"},
            False,
        ),
        (
            {"DateLessThan": {"thecloud:CurrentTime": "2031-01-01T00:00:00Z"}},
            {"thecloud:CurrentTime": NOW},
            True,
        ),
        (
            {"DateLessThan": {"thecloud:CurrentTime": "2030-01-01T00:00:00Z"}},
            {"thecloud:CurrentTime": NOW},
            False,
        ),
        (
            {"DateGreaterThan": {"thecloud:CurrentTime": "2030-01-01T00:00:00Z"}},
            {"thecloud:CurrentTime": NOW},
            True,
        ),
        (
            {"DateGreaterThan": {"thecloud:CurrentTime": "2030-06-01T12:00:00Z"}},
            {"thecloud:CurrentTime": NOW},
            False,
        ),
        (
            {"DateGreaterThan": {"t": "2030-06-01T12:00:00Z"}},
            {"t": "2030-06-01T13:30:00+01:00"},
            True,
        ),
        (
            {"DateLessThan": {"t": "2030-06-01T12:00:00+02:00"}},
            {"t": datetime(2030, 6, 1, 9, 59)},
            True,
        ),
        ({"DateEquals": {"t": "2030-06-01T14:00:00+02:00"}}, {"t": NOW}, True),
        ({"DateLessThan": {"t": "2031-01-01T00:00:00Z"}}, {"t": "garbage"}, False),
        ({"Bool": {"thecloud:SecureTransport": "true"}}, {"thecloud:SecureTransport": True}, True),
        (
            {"Bool": {"thecloud:SecureTransport": "true"}},
            {"thecloud:SecureTransport": False},
            False,
        ),
        (
            {"Bool": {"thecloud:SecureTransport": False}},
            {"thecloud:SecureTransport": "false"},
            True,
        ),
        ({"NumericEquals": {"n": 3}}, {"n": 3}, True),
        ({"NumericEquals": {"n": "3.0"}}, {"n": "3"}, True),
        ({"NumericNotEquals": {"n": 3}}, {"n": 4}, True),
        ({"NumericLessThan": {"n": "10"}}, {"n": 9}, True),
        ({"NumericLessThan": {"n": "10"}}, {"n": 10}, False),
        ({"NumericLessThanEquals": {"n": "10"}}, {"n": 10}, True),
        ({"NumericGreaterThan": {"n": 2.5}}, {"n": "3"}, True),
        ({"NumericGreaterThan": {"n": 2.5}}, {"n": 2}, False),
        ({"NumericGreaterThan": {"n": 1}}, {"n": True}, False),
        ({"NumericGreaterThan": {"n": 1}}, {"n": "many"}, False),
        ({"Null": {"thecloud:ResourceTag/env": "true"}}, {}, True),
        ({"Null": {"thecloud:ResourceTag/env": "true"}}, {"thecloud:ResourceTag/env": "x"}, False),
        ({"Null": {"thecloud:ResourceTag/env": "false"}}, {"thecloud:ResourceTag/env": "x"}, True),
    ],
)
def test_condition_operators(
    condition: dict[str, object], context: Mapping[str, object], expected: bool
) -> None:
    assert condition_holds(condition, context) is expected


@pytest.mark.parametrize(
    "operator", ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike", "Bool"]
)
def test_missing_key_makes_condition_false(operator: str) -> None:
    assert not condition_holds({operator: {"thecloud:Missing": "true"}}, {"other": "x"})


def test_none_context_value_counts_as_missing() -> None:
    assert not condition_holds({"StringNotEquals": {"k": "a"}}, {"k": None})
    assert condition_holds({"StringEqualsIfExists": {"k": "a"}}, {"k": None})


@pytest.mark.parametrize(
    "operator",
    ["StringEqualsIfExists", "StringNotLikeIfExists", "IpAddressIfExists", "DateLessThanIfExists"],
)
def test_if_exists_passes_when_key_is_missing(operator: str) -> None:
    value = "10.0.0.0/8" if "Ip" in operator else "2030-01-01T00:00:00Z"
    assert condition_holds({operator: {"thecloud:Absent": value}}, {})


def test_if_exists_still_checks_a_present_key() -> None:
    condition = {"IpAddressIfExists": {"thecloud:SourceIp": "10.0.0.0/8"}}
    assert condition_holds(condition, {"thecloud:SourceIp": "10.9.9.9"})
    assert not condition_holds(condition, {"thecloud:SourceIp": "192.168.0.1"})


def test_condition_keys_are_case_insensitive() -> None:
    condition = {"StringEquals": {"THECLOUD:TenantId": "T1"}}
    assert condition_holds(condition, {"thecloud:tenantid": "T1"})


def test_all_keys_within_an_operator_must_match() -> None:
    condition = {"StringEquals": {"thecloud:TenantId": "T1", "thecloud:PrincipalType": "user"}}
    both = {"thecloud:TenantId": "T1", "thecloud:PrincipalType": "user"}
    assert condition_holds(condition, both)
    assert not condition_holds(condition, {**both, "thecloud:PrincipalType": "service_account"})


def test_all_operators_must_match() -> None:
    condition = {
        "StringEquals": {"thecloud:TenantId": "T1"},
        "IpAddress": {"thecloud:SourceIp": "10.0.0.0/8"},
    }
    assert condition_holds(condition, {"thecloud:TenantId": "T1", "thecloud:SourceIp": "10.0.0.1"})
    assert not condition_holds(
        condition, {"thecloud:TenantId": "T1", "thecloud:SourceIp": "8.8.8.8"}
    )


def test_date_window_with_aware_datetimes_in_other_zones() -> None:
    window = {
        "DateGreaterThan": {"thecloud:CurrentTime": "2030-06-01T00:00:00Z"},
        "DateLessThan": {"thecloud:CurrentTime": "2030-06-02T00:00:00Z"},
    }
    tokyo = NOW.astimezone(timezone(timedelta(hours=9)))
    assert condition_holds(window, {"thecloud:CurrentTime": tokyo})
    assert not condition_holds(window, {"thecloud:CurrentTime": NOW + timedelta(days=1)})


# --- parsing: accepted shapes --------------------------------------------------------------


def test_parses_aws_style_document() -> None:
    policy = parse_policy_document(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadProd",
                    "Effect": "Allow",
                    "Action": ["secret:read", "secret:list"],
                    "Resource": "trn:*:secret/prod-*",
                    "Condition": {"StringEquals": {"thecloud:SourceIp": "1.2.3.4"}},
                }
            ],
        }
    )
    (statement,) = policy.statements
    assert statement.sid == "ReadProd"
    assert statement.effect is Effect.ALLOW
    assert statement.actions == ("secret:read", "secret:list")
    assert statement.resources == ("trn:*:secret/prod-*",)
    assert statement.conditions == {"StringEquals": {"thecloud:SourceIp": ("1.2.3.4",)}}
    assert policy.version == "2012-10-17"


def test_parses_lower_case_api_style_document() -> None:
    policy = parse_policy_document(
        {
            "statements": [
                {
                    "sid": "s1",
                    "effect": "deny",
                    "action": ["instance:terminate"],
                    "resource": ["trn:T1:instance/*"],
                    "condition": {"bool": {"thecloud:SecureTransport": False}},
                }
            ]
        }
    )
    expected = Statement(
        effect=Effect.DENY,
        actions=("instance:terminate",),
        resources=("trn:T1:instance/*",),
        conditions={"Bool": {"thecloud:SecureTransport": ("false",)}},
        sid="s1",
    )
    assert policy == PolicyDocument(statements=(expected,))


def test_single_statement_object_string_action_and_default_resource() -> None:
    policy = parse_policy_document({"Statement": {"Effect": "ALLOW", "Action": "secret:*"}})
    (statement,) = policy.statements
    assert statement.effect is Effect.ALLOW
    assert statement.actions == ("secret:*",)
    assert statement.resources == ("*",)
    assert statement.conditions == {}
    assert statement.sid == ""


def test_accepts_json_text_and_bytes() -> None:
    raw = json.dumps({"Statement": [allow("secret:read")]})
    assert parse_policy_document(raw) == parse_policy_document(raw.encode())
    assert parse_policy_document(raw).statements[0].actions == ("secret:read",)


def test_condition_values_are_normalised_to_string_tuples() -> None:
    condition = {
        "bool": {"a": True},
        "numericlessthan": {"n": 5},
        "numericgreaterthan": {"m": 1.5},
        "stringequals": {"s": ["x", False, 7]},
        "ipaddressifexists": {"ip": "10.0.0.0/8"},
    }
    (statement,) = doc(allow(Condition=condition)).statements
    assert statement.conditions == {
        "Bool": {"a": ("true",)},
        "NumericLessThan": {"n": ("5",)},
        "NumericGreaterThan": {"m": ("1.5",)},
        "StringEquals": {"s": ("x", "false", "7")},
        "IpAddressIfExists": {"ip": ("10.0.0.0/8",)},
    }


def test_parsed_conditions_are_read_only_and_statement_hashable() -> None:
    (statement,) = doc(allow(Condition={"StringEquals": {"k": "v"}})).statements
    with pytest.raises(TypeError):
        statement.conditions["Bool"] = {}  # type: ignore[index]
    assert hash(statement) == hash(statement)


def test_policy_to_dict_is_aws_style_and_json_serialisable() -> None:
    policy = parse_policy_document(
        {"statements": [{"sid": "a", "effect": "allow", "action": "x:y", "condition": {}}]}
    )
    expected = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "a", "Effect": "Allow", "Action": ["x:y"], "Resource": ["*"]}],
    }
    assert policy_to_dict(policy) == expected
    assert json.loads(json.dumps(policy_to_dict(policy))) == expected


def test_round_trip_through_dict_and_json() -> None:
    policy = doc(
        allow(["secret:read", "secret:*"], ["trn:T1:secret/*"], Sid="Read"),
        deny(
            "*",
            Condition={
                "NotIpAddress": {"thecloud:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
                "DateGreaterThanIfExists": {"thecloud:CurrentTime": "2030-01-01T00:00:00Z"},
                "Null": {"thecloud:ResourceTag/env": "false"},
            },
        ),
    )
    assert parse_policy_document(policy_to_dict(policy)) == policy
    assert parse_policy_document(json.dumps(policy_to_dict(policy))) == policy


# --- parsing: errors name the field to fix -------------------------------------------------


def test_invalid_policy_is_a_value_error() -> None:
    assert issubclass(InvalidPolicy, ValueError)


def test_bad_effect_message_is_exact() -> None:
    message = error_for({"Statement": [allow(), {"Effect": "allow!", "Action": "a:b"}]})
    assert message == 'Statement[1].Effect must be "Allow" or "Deny", got "allow!"'


def test_error_names_the_sid_when_there_is_one() -> None:
    message = error_for({"Statement": [{"Sid": "ReadAll", "Effect": "Maybe", "Action": "a:b"}]})
    assert message.startswith("Statement[0].Effect must be")
    assert '(Sid "ReadAll")' in message


def test_too_many_statements() -> None:
    statements = [allow(f"svc:verb{i}") for i in range(MAX_STATEMENTS + 1)]
    message = error_for({"Statement": statements})
    assert "101 statements" in message and "maximum is 100" in message
    assert len(doc(*statements[:MAX_STATEMENTS]).statements) == MAX_STATEMENTS


def test_unknown_operator_lists_supported_ones() -> None:
    message = error_for({"Statement": [allow(Condition={"StringEq": {"k": "v"}})]})
    assert message.startswith('Statement[0].Condition has unknown operator "StringEq"')
    for name in ("StringEquals", "StringLike", "IpAddress", "DateLessThan", "Bool", "IfExists"):
        assert name in message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([allow()], "Policy document must be an object"),
        ("{not json", "Policy document is not valid JSON"),
        (b"\xff\xfe{", "Policy document is not valid UTF-8 JSON"),
        (
            {"Statement": [allow()], "Id": "x"},
            'unknown key "Id"; supported keys: Statement, Version',
        ),
        ({"Version": "2012-10-17"}, 'missing "Statement"'),
        ({"Statement": "allow everything"}, "Statement must be a list"),
        ({"Statement": []}, "Statement must contain at least one statement"),
        ({"Version": "2020-01-01", "Statement": [allow()]}, 'Version must be "2012-10-17"'),
        ({"Statement": ["Allow"]}, "Statement[0] must be an object"),
        ({"Statement": [{"Action": "a:b"}]}, "Statement[0].Effect is required"),
        ({"Statement": [{"Effect": "Allow"}]}, "Statement[0].Action is required"),
        ({"Statement": [allow(5)]}, "Statement[0].Action must be a string or a list of strings"),
        ({"Statement": [allow([])]}, "Statement[0].Action must not be an empty list"),
        ({"Statement": [allow(["a:b", 7])]}, "Statement[0].Action[1] must be a string, got 7"),
        ({"Statement": [allow("secret read")]}, 'Action "secret read" is not a valid action'),
        ({"Statement": [allow(["a:b", "secret"])]}, 'Statement[0].Action[1] "secret" is not'),
        ({"Statement": [allow("a:b", "")]}, "Statement[0].Resource must not be blank"),
        ({"Statement": [allow("a:b", [])]}, "Statement[0].Resource must not be an empty list"),
        ({"Statement": [allow("a:b", {"x": 1})]}, "Statement[0].Resource must be a string or"),
        ({"Statement": [allow(Sid=3)]}, "Statement[0].Sid must be a string, got 3"),
        (
            {"Statement": [allow(Sid="A"), allow(Sid="B"), allow(Sid="A")]},
            "Statement[2].Sid repeats Statement[0].Sid",
        ),
        ({"Statement": [allow(NotAction="a:b")]}, "NotAction is not supported"),
        ({"Statement": [allow(Principal="*")]}, "Principal is not supported"),
        ({"Statement": [allow(Effects="Allow")]}, 'Statement[0] has unknown key "Effects"'),
        (
            {"Statement": [{"Effect": "Allow", "Action": "a:b", "action": "c:d"}]},
            'Statement[0] gives Action twice (as "Action" and "action")',
        ),
        ({"Statement": [allow(Condition=["x"])]}, "Statement[0].Condition must be an object"),
        (
            {"Statement": [allow(Condition={"NullIfExists": {"k": "true"}})]},
            'unknown operator "NullIfExists"',
        ),
        (
            {"Statement": [allow(Condition={"StringEquals": "k=v"})]},
            "Statement[0].Condition.StringEquals must be a non-empty object",
        ),
        (
            {"Statement": [allow(Condition={"StringEquals": {}})]},
            "Statement[0].Condition.StringEquals must be a non-empty object",
        ),
        (
            {"Statement": [allow(Condition={"StringEquals": {"k": {"nested": 1}}})]},
            "Statement[0].Condition.StringEquals.k must be a string, number, boolean",
        ),
        (
            {"Statement": [allow(Condition={"StringEquals": {"k": []}})]},
            "Statement[0].Condition.StringEquals.k must be a string, number, boolean",
        ),
        (
            {"Statement": [allow(Condition={"StringEquals": {"": "v"}})]},
            "Statement[0].Condition.StringEquals has an invalid condition key",
        ),
        (
            {"Statement": [allow(Condition={"StringEquals": {"k": "a", "K": "b"}})]},
            'gives key "K" more than once',
        ),
        (
            {"Statement": [allow(Condition={"StringEquals": {"k": "a"}, "stringequals": {}})]},
            "Statement[0].Condition gives operator StringEquals more than once",
        ),
        (
            {"Statement": [allow(Condition={"IpAddress": {"thecloud:SourceIp": "10.0.0.0/33"}})]},
            'Statement[0].Condition.IpAddress.thecloud:SourceIp value "10.0.0.0/33" must be an IP',
        ),
        (
            {"Statement": [allow(Condition={"DateLessThan": {"t": "tomorrow"}})]},
            'Condition.DateLessThan.t value "tomorrow" must be an RFC 3339 timestamp',
        ),
        (
            {"Statement": [allow(Condition={"NumericLessThan": {"n": "ten"}})]},
            'Condition.NumericLessThan.n value "ten" must be a number',
        ),
        (
            {"Statement": [allow(Condition={"NumericEquals": {"n": "NaN"}})]},
            'Condition.NumericEquals.n value "NaN" must be a number',
        ),
        (
            {"Statement": [allow(Condition={"Bool": {"b": "yes"}})]},
            'Condition.Bool.b value "yes" must be "true" or "false"',
        ),
        (
            {"Statement": [allow(Condition={"Null": {"k": "maybe"}})]},
            'Condition.Null.k value "maybe" must be "true" (key absent)',
        ),
    ],
)
def test_invalid_documents_name_the_field(raw: object, expected: str) -> None:
    assert expected in error_for(raw)
