"""Market data: venue book sessions (`BookSession`) over the native transport and feeds."""

from venuegate.md.session import BookSession, BookUpdate, Instrument, SessionStats
from venuegate.md.venues import SPECS, VenueSpec, spec_for

__all__ = [
    "SPECS",
    "BookSession",
    "BookUpdate",
    "Instrument",
    "SessionStats",
    "VenueSpec",
    "spec_for",
]
