"""The order database: models, sessions, the ledger, order queries, cases and the demo shop.

Importing this package needs SQLAlchemy but never Rasa. The pieces most callers need:

    from bot.db import session_scope, DatabaseUnavailable, find_order_for_buyer, case_facts, grant

Layout: models.py (tables), types.py (aware datetimes), session.py (engines, DatabaseUnavailable),
ledger.py (idempotent grants), queries.py (orders -> policy case facts), cases.py (cases, evidence,
invoices, hand-offs), migrate.py + migrations/ (Alembic), seed.py (demo shop), cli.py (`python -m bot db`).
"""
from bot.db.cases import (
    HandoffError,
    add_evidence,
    close_handoff,
    create_handoff,
    evidence_kinds,
    list_handoffs,
    open_case,
    record_invoice_request,
    take_handoff,
    update_case,
)
from bot.db.ledger import InvalidTransition, LedgerConflict, LedgerError, grant, total_granted_fen
from bot.db.queries import case_facts, claim_history, find_order_for_buyer, prior_claims, recent_orders
from bot.db.session import DatabaseUnavailable, get_engine, make_engine, session_factory, session_scope

__all__ = [
    "DatabaseUnavailable", "HandoffError", "InvalidTransition", "LedgerConflict", "LedgerError",
    "add_evidence", "case_facts", "claim_history", "close_handoff", "create_handoff", "evidence_kinds",
    "find_order_for_buyer", "get_engine", "grant", "list_handoffs", "make_engine", "open_case",
    "prior_claims", "record_invoice_request", "recent_orders", "session_factory", "session_scope",
    "take_handoff", "total_granted_fen", "update_case",
]
