"""Time as the rules see it. China has one zone and no daylight saving, so a fixed +08:00 offset is exact."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

CN_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def now_cn() -> datetime:
    return datetime.now(CN_TZ)


def parse_time(value: str | datetime) -> datetime:
    """ISO-8601 text or a datetime -> an aware datetime; a naive value is taken as China time."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return dt.replace(tzinfo=CN_TZ) if dt.tzinfo is None else dt
