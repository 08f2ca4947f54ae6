"""The venuegate error hierarchy and the retry classes the order path reads.

Every error is classified once, where it is raised, into a `RetryClass`; retry policies read
`err.retry_class`, never a message string. Native errors are raised as these classes by
`native/src/errors.rs` (the one mapping from engine errors to Python).

Messages never contain secrets: signing errors name the problem (a length, a key kind), never the
value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class RetryClass(StrEnum):
    """What a caller may do after an error."""

    RETRYABLE = "retryable"
    """Nothing happened at the venue; the same request may be sent again (after backoff)."""
    FATAL = "fatal"
    """The request is wrong or refused; sending it again gives the same answer."""
    UNKNOWN_OUTCOME = "unknown_outcome"
    """The request may or may not have taken effect; resolve by query, never by a blind resend."""
    RATE_LIMITED = "rate_limited"
    """Refused for rate; retry after `retry_after` seconds at the earliest."""
    AUTH = "auth"
    """Credentials, permissions or timestamps were refused; fix those before retrying."""


class VenuegateError(Exception):
    """Root of every error venuegate raises.

    Attributes:
        venue: the venue concerned, when there is one.
        code: the venue's own error code, when there is one.
    """

    retry_class: ClassVar[RetryClass] = RetryClass.FATAL

    def __init__(self, message: str, *, venue: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.venue = venue
        self.code = code

    @property
    def retryable(self) -> bool:
        """True when the same request may be sent again."""
        return self.retry_class in (RetryClass.RETRYABLE, RetryClass.RATE_LIMITED)


class ConfigError(VenuegateError, ValueError):
    """Invalid configuration: an unknown venue, a missing passphrase, a bad option."""


class DecimalError(VenuegateError, ValueError):
    """A decimal that cannot be held or converted exactly (never rounded silently)."""


class SigningError(VenuegateError, ValueError):
    """A key or secret that cannot be loaded, or a request that cannot be signed."""


class BookError(VenuegateError, ValueError):
    """A book level that cannot be applied exactly (bad number, too many digits, negative size)."""


class ProtocolError(VenuegateError):
    """Malformed or unexpected data on a wire protocol; the stream concerned is resynced."""

    retry_class = RetryClass.RETRYABLE


class ChecksumError(ProtocolError):
    """A venue checksum (book CRC32, FIX CheckSum) does not match."""


class SequenceGapError(ProtocolError):
    """A sequence number skipped ahead: messages were lost.

    Attributes:
        expected: the sequence number that should have come next.
        received: the one that came.
    """

    def __init__(
        self, message: str, *, expected: int, received: int, venue: str | None = None
    ) -> None:
        super().__init__(message, venue=venue)
        self.expected = expected
        self.received = received


class VenueError(VenuegateError):
    """An error answered by (or on the way to) a venue.

    Attributes:
        http_status: the HTTP status, for REST errors.
    """

    def __init__(
        self,
        message: str,
        *,
        venue: str | None = None,
        code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, venue=venue, code=code)
        self.http_status = http_status


class RetryableError(VenueError):
    """The venue did not act on the request (busy, 5xx before processing); send it again."""

    retry_class = RetryClass.RETRYABLE


class FatalError(VenueError):
    """The venue refused the request on its merits (bad parameters, insufficient balance)."""

    retry_class = RetryClass.FATAL


class UnknownOutcomeError(VenueError):
    """The outcome is unknown (timeout or 5xx after sending an order): resolve by query."""

    retry_class = RetryClass.UNKNOWN_OUTCOME


class RateLimitedError(VenueError):
    """Refused for rate (HTTP 429/418, venue rate codes).

    Attributes:
        retry_after: seconds to wait before the next request, when the venue said.
    """

    retry_class = RetryClass.RATE_LIMITED

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        venue: str | None = None,
        code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, venue=venue, code=code, http_status=http_status)
        self.retry_after = retry_after


class AuthError(VenueError):
    """Credentials, permissions, signature or timestamp refused."""

    retry_class = RetryClass.AUTH


class BannedError(RateLimitedError):
    """The venue banned this IP or key for rate (Binance 418).

    Nothing may be sent until `retry_after` seconds have passed; the venue's circuit stays open
    until then.
    """


class ClockSkewError(AuthError):
    """A timestamp or nonce outside the venue's window.

    Binance -1021, OKX 50102, Kraken EAPI:Invalid nonce. Nothing happened at the venue: resync
    the clock, then retry safely.
    """

    retry_class = RetryClass.RETRYABLE


class DuplicateOrderError(FatalError):
    """The client order id is already in use at the venue.

    Binance -2010 "Duplicate order sent.", OKX 51016. After a resend it proves the earlier attempt
    landed: reconcile, never re-id.
    """


class OrderNotFoundError(FatalError):
    """The venue knows no such order (Binance -2013/-2011 "Unknown order", OKX 51603)."""


class VenueUnavailableError(RetryableError):
    """The venue (or one endpoint group) is down, in maintenance, or its circuit is open.

    New orders are refused with this error while cancels and queries keep trying.
    """


class RiskRejectedError(VenuegateError):
    """A pre-trade risk check (or the kill switch) refused the order; nothing was sent.

    Attributes:
        check: the name of the check that refused it.
    """

    def __init__(self, message: str, *, check: str, venue: str | None = None) -> None:
        super().__init__(message, venue=venue)
        self.check = check


class JournalError(VenuegateError):
    """The journal cannot be opened, written or recovered.

    Causes: an I/O error, a foreign file, or a bad record before the tail.
    """


__all__ = [
    "AuthError",
    "BannedError",
    "BookError",
    "ChecksumError",
    "ClockSkewError",
    "ConfigError",
    "DecimalError",
    "DuplicateOrderError",
    "FatalError",
    "JournalError",
    "OrderNotFoundError",
    "ProtocolError",
    "RateLimitedError",
    "RetryClass",
    "RetryableError",
    "RiskRejectedError",
    "SequenceGapError",
    "SigningError",
    "UnknownOutcomeError",
    "VenueError",
    "VenueUnavailableError",
    "VenuegateError",
]
