"""FIX-session faults of the simulator gateways: what a venue's FIX engine does on a bad day.

A `FixFaultProfile` gives each fault a probability per opportunity (an outbound application
message, or an inbound one for the faults marked so); `FixFaultDice` rolls them with its own
seeded RNG and `force(fault, n)` makes the next `n` opportunities hit, for tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from venuegate.sim.dice import Dice

__all__ = ["FIX_PROFILES", "FixFault", "FixFaultDice", "FixFaultProfile"]


class FixFault(StrEnum):
    """Faults of a FIX gateway session."""

    SEQ_GAP = "seq_gap"
    """Our outbound MsgSeqNum jumps (the peer sees a gap and must ResendRequest; the gap is
    answered with a SequenceReset-GapFill)."""
    RESEND_STORM = "resend_storm"
    """We send the same ResendRequest several times (the peer must answer each, idempotently)."""
    DUPLICATE = "duplicate"
    """An outbound message is sent again with PossDupFlag=Y (the peer must ignore the copy)."""
    GARBLED = "garbled"
    """An outbound message is corrupted on the wire (bad checksum): the peer drops it, then
    recovers it by ResendRequest when the next message shows the gap."""
    STALE_HEARTBEAT = "stale_heartbeat"
    """We stop heartbeating (and answering TestRequests) for `stale_s` seconds."""
    DROP_CONNECTION = "drop_connection"
    """The TCP connection is closed abruptly right after an outbound message."""
    SEQ_RESET = "seq_reset"
    """We reset sequence numbers mid-session (Logon with ResetSeqNumFlag=Y)."""


OUTBOUND_FAULTS: tuple[FixFault, ...] = (
    FixFault.SEQ_GAP,
    FixFault.DUPLICATE,
    FixFault.GARBLED,
    FixFault.DROP_CONNECTION,
)
"""Rolled once per outbound application message."""

INBOUND_FAULTS: tuple[FixFault, ...] = (
    FixFault.RESEND_STORM,
    FixFault.STALE_HEARTBEAT,
    FixFault.SEQ_RESET,
)
"""Rolled once per inbound application message (after it is processed)."""


@dataclass(frozen=True, slots=True)
class FixFaultProfile:
    """Probabilities per opportunity and the parameters of the faults."""

    name: str
    p: Mapping[FixFault, float] = field(default_factory=dict)
    gap_size: int = 2
    storm_size: int = 3
    stale_s: float = 1.0


FIX_PROFILES: Mapping[str, FixFaultProfile] = {
    "none": FixFaultProfile("none"),
    "light": FixFaultProfile(
        "light",
        {
            FixFault.SEQ_GAP: 0.01,
            FixFault.DUPLICATE: 0.01,
            FixFault.GARBLED: 0.005,
            FixFault.RESEND_STORM: 0.002,
            FixFault.STALE_HEARTBEAT: 0.001,
            FixFault.DROP_CONNECTION: 0.001,
        },
    ),
    "heavy": FixFaultProfile(
        "heavy",
        {
            FixFault.SEQ_GAP: 0.03,
            FixFault.DUPLICATE: 0.03,
            FixFault.GARBLED: 0.02,
            FixFault.RESEND_STORM: 0.01,
            FixFault.STALE_HEARTBEAT: 0.005,
            FixFault.DROP_CONNECTION: 0.005,
            FixFault.SEQ_RESET: 0.002,
        },
    ),
}
"""Built-in profiles."""


class FixFaultDice(Dice[FixFault]):
    """Rolls `FixFault`s from a `FixFaultProfile` (`venuegate.sim.dice.Dice`)."""

    profile: FixFaultProfile

    def __init__(self, profile: FixFaultProfile, seed: int = 1) -> None:
        super().__init__(profile, seed)
