"""Column types that behave the same on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.types import DateTime, TypeDecorator

from bot.clock import CN_TZ


class AwareDateTime(TypeDecorator):
    """An aware datetime in, an aware datetime (China time) out; stored as UTC.

    PostgreSQL keeps the instant in a `timestamptz`. SQLite has no time zone type and would silently drop
    the offset, so there the value is stored as naive UTC and the offset is put back on the way out.
    A naive datetime is refused: guessing its zone is how "signed today" turns into "signed yesterday".
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime refused (give it a time zone, e.g. bot.clock.CN_TZ): {value!r}")
        utc = value.astimezone(timezone.utc)
        return utc if dialect.name == "postgresql" else utc.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(CN_TZ)
