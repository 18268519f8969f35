"""Property: whatever order buyers and agents accept, refuse (and re-send), approve or re-claim in, the money
stays within limits (issue 19). SETTLEMENT_EXAMPLES sets the count (CI default 40; `make property` 10,000).

Asserted after every generated sequence, on the database itself:
- keep-the-item cash per order <= half the price (rounded down to whole yuan), refunds <= what was paid;
- at most one settlement per case (one settlements row, one (rule, step) among its ledger rows);
- every ledger row names who approved it ("bot" or "agent:<id>").
"""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.copilot import Copilot, CopilotError
from bot.db.migrate import upgrade
from bot.db.models import LedgerEntry, Order, Settlement
from bot.db.session import dispose_engines, session_scope
from bot.service import AfterSalesService, NothingToAccept
from bot.service.aftersales import AlreadyCompensated
from tests.settlement_helpers import inputs, new_bottle_order

EXAMPLES = int(os.environ.get("SETTLEMENT_EXAMPLES", "40"))

steps = st.lists(st.one_of(
    st.tuples(st.just("accept"), st.integers(0, 2)),            # 好的 in conversation n
    st.tuples(st.just("refuse"), st.integers(0, 3)),            # 不行 with client message id n (re-sends repeat n)
    st.tuples(st.just("approve"), st.integers(0, 5)),           # an agent approves option n of the case
    st.tuples(st.just("claim"), st.integers(0, 2)),             # the same problem raised in conversation n
), min_size=1, max_size=8)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])
@given(sequence=steps, price_fen=st.sampled_from([1050, 2000, 999, 12800]))
def test_any_interleaving_keeps_money_within_limits(property_db, sequence, price_fen):
    url = property_db
    service, copilot = AfterSalesService(url), Copilot(url)
    buyer, number = new_bottle_order(url, price_fen)
    cases = {0: service.assess(inputs(buyer, number, "conv-0")).case_id}
    for action, n in sequence:
        conversation = f"conv-{n % 3}"
        case_id = cases.get(n % 3) or cases[0]
        try:
            if action == "claim":
                cases[n % 3] = service.assess(inputs(buyer, number, conversation)).case_id
            elif action == "accept":
                service.accept(inputs(buyer, number, conversation), case_id)
            elif action == "refuse":
                service.refuse(inputs(buyer, number, conversation), case_id, message_id=f"client:{n}")
            else:
                copilot.approve(case_id=case_id, option_index=n, agent_id="alice")
        except (NothingToAccept, AlreadyCompensated, CopilotError):
            pass
    check_invariants(url, number, price_fen)


def check_invariants(url: str, number: str, price_fen: int) -> None:
    with session_scope(url) as session:
        order_id = session.execute(select(Order.id).where(Order.order_number == number)).scalar_one()
        rows = list(session.execute(select(LedgerEntry).where(LedgerEntry.order_id == order_id,
                                                              LedgerEntry.state != "cancelled")).scalars())
        keep = sum(r.amount_fen for r in rows if r.kind in ("compensation", "review_rebate"))
        refund = sum(r.amount_fen for r in rows if r.kind == "refund")
        assert keep <= (price_fen // 2) // 100 * 100, [(r.idempotency_key, r.amount_fen) for r in rows]
        assert refund <= price_fen
        assert all(r.approved_by == "bot" or r.approved_by.startswith("agent:") for r in rows)
        per_case: dict[int, set] = {}
        for r in rows:
            per_case.setdefault(r.case_id, set()).add(tuple(r.idempotency_key.split(":")[2:4]))
        assert all(len(steps_) == 1 for steps_ in per_case.values()), per_case
        counts = session.execute(select(Settlement.case_id, func.count()).where(Settlement.order_id == order_id)
                                 .group_by(Settlement.case_id)).all()
        assert all(count == 1 for _, count in counts)
        assert set(per_case) <= {case_id for case_id, _ in counts}


@pytest.fixture(scope="module")
def property_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('settlement-property') / 'store.db'}"
    upgrade(url)
    yield url
    dispose_engines()
