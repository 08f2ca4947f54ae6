"""Risk limits: what the pre-trade checks enforce, loaded from TOML or the environment.

Every limit is optional: `None` (the default) means "no limit of this kind". Prices, sizes and
notionals are `Decimal`; floats are refused (TOML floats are read as `Decimal` from their text, so
`max_order_qty = 0.1` in a file is exactly `Decimal("0.1")`).

    limits = RiskLimits.from_toml("risk.toml")
    limits = RiskLimits.from_env()                  # VENUEGATE_RISK_* variables

See `docs/RISK.md` for the file layout and the environment-variable names.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError

from venuegate.errors import ConfigError
from venuegate.model import NonNegativeDecimal, PositiveDecimal
from venuegate.oms.types import AlarmKind

__all__ = ["DEFAULT_ENV_PREFIX", "RiskLimits", "SymbolLimits"]

DEFAULT_ENV_PREFIX = "VENUEGATE_RISK_"
"""The prefix `RiskLimits.from_env` reads by default."""

_CONFIG = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class SymbolLimits(BaseModel):
    """Limits for one symbol (or the default for every symbol).

    Attributes:
        max_order_qty: the largest quantity one order may have (base units).
        max_order_notional: the largest price * quantity of one order (quote units); a market
            order is valued at the touch it would take (ask for a buy, bid for a sell).
        max_position: the largest absolute position (base units), counted worst case: the
            position plus every open buy (or minus every open sell) plus the new order.
        price_band_bps: the largest distance, in basis points, of a limit price from the live mid
            (or the one touch present); a market order needs a live touch, itself within the band
            of the mid when both sides are present.
    """

    model_config = _CONFIG

    max_order_qty: PositiveDecimal | None = None
    max_order_notional: PositiveDecimal | None = None
    max_position: NonNegativeDecimal | None = None
    price_band_bps: PositiveDecimal | None = None


class RiskLimits(BaseModel):
    """Every pre-trade limit of one engine.

    Attributes:
        enabled: False turns every check off except the kill switch.
        default: limits for any symbol without an override.
        symbols: overrides per venue, then per venue symbol; the fields an override sets replace
            the default's, the others are inherited.
        max_gross_exposure: the largest sum over symbols of |worst-case position| * mark (quote
            units; mixes quote currencies as-is, so use it with one quote currency).
        max_open_orders: the largest number of open orders in total.
        max_open_orders_per_symbol: the largest number of open orders per (venue, symbol).
        max_orders_per_second: the largest number of orders (and amends) per venue in any rolling
            second.
        max_orders_per_second_by_venue: per-venue overrides of `max_orders_per_second`.
        kill_on_alarms: OMS alarms that trigger the kill switch.
    """

    model_config = _CONFIG

    enabled: bool = True
    default: SymbolLimits = SymbolLimits()
    symbols: dict[str, dict[str, SymbolLimits]] = Field(default_factory=dict)
    max_gross_exposure: PositiveDecimal | None = None
    max_open_orders: PositiveInt | None = None
    max_open_orders_per_symbol: PositiveInt | None = None
    max_orders_per_second: PositiveInt | None = None
    max_orders_per_second_by_venue: dict[str, PositiveInt] = Field(default_factory=dict)
    kill_on_alarms: frozenset[AlarmKind] = frozenset({AlarmKind.OVERFILL})

    def for_symbol(self, venue: str, symbol: str) -> SymbolLimits:
        """The limits of (`venue`, `symbol`): its override's fields over the default."""
        override = self.symbols.get(venue, {}).get(symbol)
        if override is None:
            return self.default
        return self.default.model_copy(update=override.model_dump(exclude_unset=True))

    def orders_per_second(self, venue: str) -> int | None:
        """The order-rate limit of `venue` (None: unlimited)."""
        return self.max_orders_per_second_by_venue.get(venue, self.max_orders_per_second)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "risk limits") -> Self:
        """Validates `data` (a parsed TOML table or the like).

        Raises:
            ConfigError: naming each invalid field (dotted path) and `source`.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, source, {})) from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Self:
        """Loads limits from a TOML file (floats in it are read exactly, as `Decimal`).

        Raises:
            ConfigError: the file cannot be read or parsed, or a limit is invalid.
        """
        p = Path(path)
        try:
            with p.open("rb") as f:
                data = tomllib.load(f, parse_float=Decimal)
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read risk limits: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        return cls.from_mapping(data, source=str(p))

    @classmethod
    def from_env(
        cls, prefix: str = DEFAULT_ENV_PREFIX, environ: Mapping[str, str] | None = None
    ) -> Self:
        """Loads limits from environment variables named `prefix` + a path joined by `__`.

        `VENUEGATE_RISK_MAX_OPEN_ORDERS=50`, `VENUEGATE_RISK_DEFAULT__MAX_ORDER_QTY=2`,
        `VENUEGATE_RISK_SYMBOLS__binance__BTCUSDT__MAX_POSITION=0.5`,
        `VENUEGATE_RISK_MAX_ORDERS_PER_SECOND_BY_VENUE__okx=20`,
        `VENUEGATE_RISK_KILL_ON_ALARMS=overfill,fill_mismatch`. Path segments are lower-cased,
        except the symbol in `SYMBOLS__<venue>__<symbol>__<field>`, kept as written. Values are
        strings, converted exactly (never through float).

        Args:
            prefix: the variable-name prefix.
            environ: the variables to read (default: `os.environ`).

        Raises:
            ConfigError: naming the offending variable.
        """
        env = os.environ if environ is None else environ
        data: dict[str, Any] = {}
        names: dict[tuple[str, ...], str] = {}
        for name, value in sorted(env.items()):
            if not name.startswith(prefix) or len(name) == len(prefix):
                continue
            parts = name[len(prefix) :].split("__")
            if any(not part for part in parts):
                raise ConfigError(f"{name}: empty path segment (use single `__` separators)")
            path = tuple(
                part if i == 2 and parts[0].lower() == "symbols" else part.lower()
                for i, part in enumerate(parts)
            )
            names[path] = name
            node = data
            for key in path[:-1]:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    raise ConfigError(f"{name}: {'.'.join(path)} conflicts with another variable")
                node = child
            if path[-1] in node:
                raise ConfigError(f"{name}: {'.'.join(path)} conflicts with another variable")
            node[path[-1]] = _env_value(name, path, value)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, f"environment ({prefix}*)", names)) from None


def _env_value(name: str, path: tuple[str, ...], value: str) -> Any:
    if path == ("kill_on_alarms",):
        value = value.strip()
        if value.startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{name}: not a JSON list: {exc.msg}") from None
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _describe(exc: ValidationError, source: str, names: Mapping[tuple[str, ...], str]) -> str:
    lines = [f"{source}: invalid risk limits ({exc.error_count()} error(s))"]
    for err in exc.errors(include_url=False):
        loc = tuple(str(part) for part in err["loc"])
        where = ".".join(loc) or "(root)"
        for n in range(len(loc), 0, -1):
            if loc[:n] in names:
                where = f"{names[loc[:n]]} ({where})"
                break
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)
