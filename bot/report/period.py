"""The report's period: [since, until), China time, half-open so consecutive periods never overlap."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.clock import CN_TZ, parse_time


@dataclass(frozen=True)
class Period:
    since: datetime  # aware; included
    until: datetime  # aware; excluded

    def __post_init__(self) -> None:
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("a period needs aware datetimes")
        if self.until <= self.since:
            raise ValueError(f"empty period: until ({self.until.isoformat()}) is not after since "
                             f"({self.since.isoformat()})")

    @classmethod
    def parse(cls, since: str, until: str) -> "Period":
        """'2026-11-01' means 00:00 China time that day; a full ISO time is taken as written."""
        return cls(_parse_bound(since), _parse_bound(until))

    @classmethod
    def last_days(cls, days: int, now: datetime) -> "Period":
        """The `days` whole days before today plus today so far: [midnight - days, tomorrow's midnight)."""
        tomorrow = datetime.combine(now.astimezone(CN_TZ).date() + timedelta(days=1), time(0), tzinfo=CN_TZ)
        return cls(tomorrow - timedelta(days=days + 1), tomorrow)

    @property
    def since_ts(self) -> float:
        return self.since.timestamp()

    @property
    def until_ts(self) -> float:
        return self.until.timestamp()

    def days(self) -> list[date]:
        """Every China-time calendar day the period touches, in order."""
        first = self.since.astimezone(CN_TZ).date()
        last = (self.until - timedelta(microseconds=1)).astimezone(CN_TZ).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def label(self) -> str:
        return f"{self.since.astimezone(CN_TZ).isoformat()} .. {self.until.astimezone(CN_TZ).isoformat()}"


def _parse_bound(value: str) -> datetime:
    text = str(value).strip()
    if len(text) == 10:  # a bare date
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=CN_TZ)
    return parse_time(text)


def day_of(timestamp: float) -> date:
    """The China-time calendar day of an epoch timestamp."""
    return datetime.fromtimestamp(timestamp, CN_TZ).date()
