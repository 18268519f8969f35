"""Deadlines of the platform rules, computed from the case's own times (never the clock)."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Optional

from bot.clock import CN_TZ


def seven_day_deadline(signed_at: datetime, date_only: bool, hours: int, date_only_starts: str) -> datetime:
    """End of the 7-day no-reason window.

    Exact signing time: signed_at + 168 h (2024-06-01 10:00 -> 2024-06-08 10:00).
    Date-only record: the count starts at 00:00 of the NEXT day (2024-06-01 -> 2024-06-02 00:00, ends
    2024-06-09 00:00), as the 七天无理由 rule says ("以该日后的第二天零时为起算时间").
    """
    if not date_only:
        return signed_at + timedelta(hours=hours)
    day = signed_at.astimezone(CN_TZ).date()
    if date_only_starts == "next_day_midnight":
        day += timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=CN_TZ) + timedelta(hours=hours)


def after_days(start: Optional[datetime], days: int) -> Optional[datetime]:
    return None if start is None else start + timedelta(days=days)


def after_hours(start: Optional[datetime], hours: int) -> Optional[datetime]:
    return None if start is None else start + timedelta(hours=hours)


def ship_deadline(listing_kind: str, paid_at: Optional[datetime], ship_by: Optional[datetime],
                  presale_ship_date: Optional[datetime], ordinary_hours: int, juhuasuan_days: int) -> Optional[datetime]:
    """The latest shipping time: the order's own ship_by if recorded, else the platform's default by listing."""
    if ship_by is not None:
        return ship_by
    if listing_kind == "presale":
        return presale_ship_date
    if listing_kind == "juhuasuan":
        return after_days(paid_at, juhuasuan_days)
    return after_hours(paid_at, ordinary_hours)


def within_daily_hours(now: datetime, opens: time, closes: time) -> bool:
    """True when China-time `now` is between opens and closes (both inclusive), e.g. 09:00-20:00 pick-up."""
    local = now.astimezone(CN_TZ).time()
    return opens <= local <= closes
