"""The after-sales service layer (Rasa-free): used by the Rasa actions and the agent copilot.

    from bot.service import AfterSalesService, CaseInputs
    service = AfterSalesService()
    assessment = service.assess(CaseInputs(conversation_id, buyer_id, "damaged", now, order_number="..."))
    assessment.offer.script, assessment.offer.parts ...
"""
from bot.service.aftersales import (
    Acceptance,
    AfterSalesService,
    Assessment,
    CaseNotFound,
    DatabaseUnavailable,
    HandoffResult,
    NothingToAccept,
    OrderNotFound,
    OrderView,
    ServiceError,
    idempotency_key,
)
from bot.service.casebuild import (
    CaseInputs,
    defect_from_text,
    price_now_from_text,
    reason_from_text,
    usable_from_text,
)

__all__ = [
    "Acceptance", "AfterSalesService", "Assessment", "CaseInputs", "CaseNotFound", "DatabaseUnavailable",
    "HandoffResult", "NothingToAccept", "OrderNotFound", "OrderView", "ServiceError", "defect_from_text",
    "idempotency_key", "price_now_from_text", "reason_from_text", "usable_from_text",
]
