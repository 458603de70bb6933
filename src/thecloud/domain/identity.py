"""Users, tenants, API keys, service accounts and the authenticated principal."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from thecloud.domain.common import RequestContext
from thecloud.domain.errors import InvalidInput
from thecloud.domain.policy import PolicyDocument


class PrincipalType(StrEnum):
    USER = "user"
    SERVICE_ACCOUNT = "service_account"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    name: str
    password_hash: str
    default_tenant_id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    name: str
    slug: str
    owner_id: str
    created_at: datetime
    personal: bool = False


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key; only `key_hash` (keyed HMAC) is stored, the key itself is shown once."""

    id: str
    user_id: str
    tenant_id: str
    name: str
    key_hash: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    expires_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    id: str
    tenant_id: str
    name: str
    role: str
    description: str
    created_by: str
    created_at: datetime
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ServiceAccountSecret:
    """A client secret of a service account; only its keyed hash is stored."""

    id: str
    service_account_id: str
    tenant_id: str
    secret_hash: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LoginFailures:
    """Consecutive failed logins of one email; stored so every process sees the lockout."""

    email: str
    count: int
    locked_until: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, in which tenant, with what rights; built once per request."""

    id: str
    type: PrincipalType
    tenant_id: str
    name: str
    permissions: frozenset[str]
    policies: tuple[PolicyDocument, ...] = ()
    email: str = ""
    api_key_id: str | None = None
    context: RequestContext = field(default_factory=RequestContext)

    @property
    def is_user(self) -> bool:
        return self.type is PrincipalType.USER


API_KEY_PREFIX = "thecloud_"
CLIENT_SECRET_PREFIX = "tcs_"  # noqa: S105 - a prefix, not a secret
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidInput(f"email {email!r} is not a valid address (expected name@domain.tld)")
    return email


def validate_password(password: str) -> str:
    size = len(password.encode())
    if size < 8 or size > 72:
        raise InvalidInput("password must be 8 to 72 bytes long")
    return password


def validate_name(name: str, what: str = "name", limit: int = 200) -> str:
    name = name.strip()
    if not name or len(name) > limit:
        raise InvalidInput(f"{what} must be 1 to {limit} characters")
    return name


def validate_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise InvalidInput(
            f"slug {slug!r} must be 1-63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit"
        )
    return slug


def slugify(text: str) -> str:
    """A slug made from free text (used for personal tenants)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:40].strip("-") or "tenant"
