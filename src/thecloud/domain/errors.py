"""The one error tree of the platform; every layer raises these, the API maps them to HTTP."""

from __future__ import annotations


class CloudError(Exception):
    """Base of every error the platform reports to a caller; `code` is stable."""

    code = "INTERNAL"

    def __init__(self, message: str, *, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(CloudError):
    code = "INVALID_INPUT"


class Unauthorized(CloudError):
    code = "UNAUTHORIZED"


class Forbidden(CloudError):
    code = "FORBIDDEN"


class NotFound(CloudError):
    code = "NOT_FOUND"


class Conflict(CloudError):
    code = "CONFLICT"


class RangeInUse(Conflict):
    """An address range the host already uses (another VPC, or a network of the container
    engine outside the platform): a default range may move on to the next free one."""


class PayloadTooLarge(CloudError):
    code = "PAYLOAD_TOO_LARGE"


class QuotaExceeded(CloudError):
    code = "QUOTA_EXCEEDED"


class RateLimited(CloudError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class AccountLocked(CloudError):
    code = "ACCOUNT_LOCKED"


class BackendUnavailable(CloudError):
    code = "BACKEND_UNAVAILABLE"


class ConfigurationError(CloudError):
    code = "CONFIGURATION_ERROR"


def not_found(kind: str, ident: object) -> NotFound:
    """The one wording for a missing (or other tenant's) resource."""
    return NotFound(f"{kind} {ident} not found")
