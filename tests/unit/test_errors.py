"""venuegate.errors: one hierarchy, retry classes the order path reads, native errors mapped in."""

from __future__ import annotations

import pytest

from venuegate import errors
from venuegate.errors import RetryClass
from venuegate.fixed import Fixed


@pytest.mark.parametrize(
    ("cls", "retry_class", "retryable"),
    [
        (errors.RetryableError, RetryClass.RETRYABLE, True),
        (errors.FatalError, RetryClass.FATAL, False),
        (errors.UnknownOutcomeError, RetryClass.UNKNOWN_OUTCOME, False),
        (errors.RateLimitedError, RetryClass.RATE_LIMITED, True),
        (errors.AuthError, RetryClass.AUTH, False),
    ],
)
def test_retry_classes(
    cls: type[errors.VenueError], retry_class: RetryClass, retryable: bool
) -> None:
    err = cls("boom", venue="binance", code="-1007", http_status=504)
    assert err.retry_class is retry_class
    assert err.retryable is retryable
    assert isinstance(err, errors.VenuegateError)
    assert (err.venue, err.code, err.http_status) == ("binance", "-1007", 504)


def test_rate_limited_carries_retry_after() -> None:
    err = errors.RateLimitedError("slow down", retry_after=12.5, http_status=429)
    assert err.retry_after == 12.5


def test_protocol_errors() -> None:
    gap = errors.SequenceGapError("gap", expected=5, received=9, venue="okx")
    assert isinstance(gap, errors.ProtocolError)
    assert gap.retryable
    assert (gap.expected, gap.received) == (5, 9)
    assert issubclass(errors.ChecksumError, errors.ProtocolError)


def test_native_errors_map_into_the_hierarchy() -> None:
    with pytest.raises(errors.DecimalError) as info:
        Fixed("x")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, errors.VenuegateError)
    assert set(errors.__all__) >= {"VenuegateError", "RetryClass", "SigningError"}
