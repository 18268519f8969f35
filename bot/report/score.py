"""The service-experience score (seed 003): product, shipping, logistics and basic service.

Each part is a rate of problems per order paid in the period (numbers in docs/report.md):
  product   = product-problem cases (damaged, leaking, defects, wrong/missing items, counterfeit ...) / orders
  shipping  = orders shipped after their promised time, or still unshipped past it / orders
  logistics = delivery cases (not_received, delivery_status) / orders
  basic     = (hand-offs to a human + complaint escalations) / orders  (an escalation counts twice)
and scores 100 x max(0, 1 - rate / zero_at): 100 with no problems, 0 at `zero_at` problems per order.
The total is the weighted mean of the parts. Scores are display figures (one decimal), not money.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.report.settings import SCORE_PARTS, ScoreSettings

PRODUCT_INTENTS = ("damaged", "leaking", "minor_defect", "quality_issue", "wrong_item", "missing_item",
                   "counterfeit", "not_as_described", "repair_warranty")
LOGISTICS_INTENTS = ("not_received", "delivery_status")

PART_TITLES = {"product": "商品体验", "shipping": "发货体验", "logistics": "物流体验", "basic": "基础服务体验"}


@dataclass(frozen=True)
class ScorePart:
    part: str
    problems: int
    orders: int
    score: float | None  # None when no order was paid in the period
    reference: float

    @property
    def rate(self) -> float | None:
        return self.problems / self.orders if self.orders else None

    @property
    def versus_reference(self) -> float | None:
        return round(self.score - self.reference, 1) if self.score is not None else None

    def to_dict(self) -> dict:
        return {"part": self.part, "title": PART_TITLES[self.part], "problems": self.problems,
                "orders": self.orders, "rate": None if self.rate is None else round(self.rate, 4),
                "score": self.score, "reference": self.reference, "versus_reference": self.versus_reference}


@dataclass(frozen=True)
class ServiceScore:
    parts: tuple[ScorePart, ...]
    total: float | None
    reference_total: float

    def to_dict(self) -> dict:
        versus = round(self.total - self.reference_total, 1) if self.total is not None else None
        return {"parts": [p.to_dict() for p in self.parts], "total": self.total,
                "reference_total": self.reference_total, "versus_reference": versus}


def part_score(problems: int, orders: int, zero_at: float) -> float | None:
    if orders <= 0:
        return None
    return round(100.0 * max(0.0, 1.0 - (problems / orders) / zero_at), 1)


def service_score(problems: dict[str, int], orders: int, settings: ScoreSettings) -> ServiceScore:
    """`problems` maps each part to its problem count in the period; `orders` is the denominator."""
    parts = tuple(ScorePart(part, problems.get(part, 0), orders,
                            part_score(problems.get(part, 0), orders, settings.zero_at_for(part)),
                            settings.reference_for(part))
                  for part in SCORE_PARTS)
    return ServiceScore(parts, _weighted([p.score for p in parts], settings),
                        _weighted([p.reference for p in parts], settings))


def _weighted(values: list[float | None], settings: ScoreSettings) -> float | None:
    if any(v is None for v in values):
        return None
    weights = [settings.weight_for(part) for part in SCORE_PARTS]
    return round(sum(v * w for v, w in zip(values, weights)) / sum(weights), 1)
