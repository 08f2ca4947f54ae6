"""FIX session schedules: the daily window a session may be logged on in.

A `SessionSchedule` is a start and an end time of day in a time zone (`zoneinfo`), and the days
of the week the session starts on. A window whose end is not after its start runs over midnight
(start 17:00, end 16:59 is the classic 24-hour-minus-one-minute FX day). Each window is one
session: its sequence numbers start at 1 (the store is reset when a session starts on a store
created before the window opened), and outside every window the session is logged out and
disconnected (initiators wait for the next window; acceptors refuse logons).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["SessionSchedule"]


class SessionSchedule(BaseModel):
    """A daily session window.

    Attributes:
        start_time: when each session starts (time of day in `timezone`).
        end_time: when it ends; at or before `start_time` means the window crosses midnight.
        days: weekdays a window may START on (0 = Monday ... 6 = Sunday); None = every day.
        timezone: an IANA zone name ("UTC", "America/New_York").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start_time: time = time(0, 0)
    end_time: time = time(23, 59, 59)
    days: tuple[int, ...] | None = None
    timezone: str = Field(default="UTC")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is not None and (not value or any(d < 0 or d > 6 for d in value)):
            raise ValueError("days must be weekday numbers 0 (Monday) .. 6 (Sunday)")
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def crosses_midnight(self) -> bool:
        """True when a window ends on the day after it starts."""
        return self.end_time <= self.start_time

    def _window(self, day: date) -> tuple[datetime, datetime]:
        tz = self.zone
        start = datetime.combine(day, self.start_time, tzinfo=tz)
        end_day = day + timedelta(days=1) if self.crosses_midnight else day
        end = datetime.combine(end_day, self.end_time, tzinfo=tz)
        return start, end

    def _day_ok(self, day: date) -> bool:
        return self.days is None or day.weekday() in self.days

    def window_at(self, when: datetime | None = None) -> tuple[datetime, datetime] | None:
        """The (start, end) of the window containing `when` (aware; default now), or None."""
        now = (when or datetime.now(UTC)).astimezone(self.zone)
        for offset in (0, -1):
            day = now.date() + timedelta(days=offset)
            if not self._day_ok(day):
                continue
            start, end = self._window(day)
            if start <= now < end:
                return start, end
        return None

    def is_active(self, when: datetime | None = None) -> bool:
        """True when `when` (default now) is inside a session window."""
        return self.window_at(when) is not None

    def session_start(self, when: datetime | None = None) -> datetime | None:
        """The start of the window containing `when`, or None outside every window."""
        window = self.window_at(when)
        return None if window is None else window[0]

    def next_start(self, when: datetime | None = None) -> datetime:
        """The next window start strictly after `when` (default now)."""
        now = (when or datetime.now(UTC)).astimezone(self.zone)
        for offset in range(8):
            day = now.date() + timedelta(days=offset)
            if self._day_ok(day):
                start, _ = self._window(day)
                if start > now:
                    return start
        raise ValueError("schedule has no window in the next week")  # pragma: no cover

    def seconds_until_active(self, when: datetime | None = None) -> float:
        """0 inside a window, else the seconds until the next one opens."""
        now = when or datetime.now(UTC)
        if self.is_active(now):
            return 0.0
        return max(0.0, (self.next_start(now) - now).total_seconds())

    def seconds_until_end(self, when: datetime | None = None) -> float | None:
        """Seconds until the current window closes; None outside every window."""
        now = when or datetime.now(UTC)
        window = self.window_at(now)
        if window is None:
            return None
        return max(0.0, (window[1] - now).total_seconds())
