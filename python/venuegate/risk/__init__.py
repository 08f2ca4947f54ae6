"""Pre-trade risk, the kill switch and dead-man switches.

- `RiskLimits` / `SymbolLimits`: the limits (TOML or environment);
- `PreTradeRisk`: O(1) checks of every order and amend, with counters the OMS keeps current;
- `KillSwitch`: blocks every new order and cancels all at every venue;
- `DeadManSwitch`: keeps a venue's cancel-all-after timer armed while we are healthy;
- `EngineCancelOnDisconnect`: cancels all through REST after a disconnect (venues without one).

See `docs/RISK.md`.
"""

from venuegate.risk.checks import Marks, PreTradeRisk
from venuegate.risk.deadman import DeadManSwitch, EngineCancelOnDisconnect
from venuegate.risk.killswitch import AlertCallback, CancelAll, KillReport, KillSwitch
from venuegate.risk.limits import DEFAULT_ENV_PREFIX, RiskLimits, SymbolLimits

__all__ = [
    "DEFAULT_ENV_PREFIX",
    "AlertCallback",
    "CancelAll",
    "DeadManSwitch",
    "EngineCancelOnDisconnect",
    "KillReport",
    "KillSwitch",
    "Marks",
    "PreTradeRisk",
    "RiskLimits",
    "SymbolLimits",
]
