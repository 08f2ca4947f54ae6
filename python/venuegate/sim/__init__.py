"""The embedded venue simulator. So far: venue-side signature verification (`verify`)."""

from venuegate.sim.verify import Credentials, VerificationError, verify_request

__all__ = ["Credentials", "VerificationError", "verify_request"]
