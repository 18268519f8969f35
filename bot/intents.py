"""The intent names: a contract shared by the NLU data, the dialogue, the tests and the evaluations
(ARCHITECTURE.md). domain.yml declares the same list; tests/test_intents.py checks they agree."""
from __future__ import annotations

AFTER_SALES_PROBLEMS = (
    "damaged", "leaking", "minor_defect", "quality_issue", "wrong_item", "missing_item", "not_received",
    "delivery_status", "late_shipment", "counterfeit", "not_as_described", "no_reason_return", "cancel_order",
    "refund_status", "invoice", "price_protection", "repair_warranty", "shipping_fee", "request_compensation",
)
CONVERSATION = (
    "greet", "thank", "goodbye", "affirm", "deny", "request_human", "complaint_escalation",
    "provide_order_number", "out_of_scope",
)
ALL_INTENTS = frozenset(AFTER_SALES_PROBLEMS + CONVERSATION)
