"""One settlement per case under races, per-order and per-line cash limits, a re-sent 不行 (issue 19). SQLite and
PostgreSQL.

The races are forced: both sides wait at a barrier inside the read of the case's grants (`ledger.entries_for_case`),
the moment a read-then-write check would let both through. With the order row lock the second side cannot reach
that read until the first committed, so the barrier times out for the first and the second then sees the
settlement.
"""
from __future__ import annotations

import multiprocessing
import threading

import pytest
from sqlalchemy import select

from bot.copilot import Copilot, CopilotError
from bot.db import cases as db_cases
from bot.db import ledger
from bot.db import settlement as db_settlement
from bot.db.models import AfterSalesCase, Handoff, MessageReceipt
from bot.db.session import dispose_engines, session_scope
from bot.service import AfterSalesService
from bot.service.aftersales import AlreadyCompensated, NON_OFFER_KINDS, OrderNotFound
from tests.settlement_helpers import PHOTO, inputs, new_bottle_order, order_cash_fen, settled_steps, settlements_of

BARRIER_WAIT_S = 3.0


def offered_case(url: str, price_fen: int = 2000):
    buyer, number = new_bottle_order(url, price_fen)
    assessment = AfterSalesService(url).assess(inputs(buyer, number))
    assert assessment.acceptable and assessment.resolution.step == 0
    later = [i for i, o in enumerate(assessment.resolution.options)
             if i > 0 and o.kind not in NON_OFFER_KINDS and o.parts]
    return buyer, number, assessment.case_id, later[-1]


def _meet_at_barrier(barrier):
    """Patch the grants read so both sides meet there (if both can reach it at once)."""
    original = ledger.entries_for_case

    def waiting(session, case_id):
        try:
            barrier.wait(BARRIER_WAIT_S)
        except threading.BrokenBarrierError:
            pass
        return original(session, case_id)
    ledger.entries_for_case = waiting
    return original


def _buyer_accepts(url, buyer, number, case_id, results):
    try:
        acceptance = AfterSalesService(url).accept(inputs(buyer, number), case_id)
        results.append(("buyer", "already" if acceptance.already_accepted else "paid"))
    except Exception as exc:  # noqa: BLE001 — recorded and asserted on
        results.append(("buyer", f"error: {exc}"))


def _agent_approves(url, case_id, option, results):
    try:
        reply = Copilot(url).approve(case_id=case_id, option_index=option, agent_id="alice",
                                     photo_refs=())
        results.append(("agent", "paid" if reply["created_any"] else "already"))
    except CopilotError as exc:
        results.append(("agent", "refused: " + str(exc)))
    except Exception as exc:  # noqa: BLE001
        results.append(("agent", f"error: {exc}"))


def _assert_one_settlement(url, number, case_id, results):
    assert not [r for r in results if r[1].startswith("error")], results
    paid = [who for who, outcome in results if outcome == "paid"]
    assert len(paid) == 1, results
    assert settlements_of(url, case_id) == 1
    assert len(settled_steps(url, case_id)) == 1
    assert order_cash_fen(url, number) in (500, 1000)  # 2 + 3 yuan, or the agent's 10: never 15
    loser = next(outcome for who, outcome in results if outcome != "paid")
    assert loser == "already" or loser.startswith("refused: already settled"), results


def test_buyer_and_agent_race_threads(db_url):
    buyer, number, case_id, option = offered_case(db_url)
    barrier, results = threading.Barrier(2), []
    original = _meet_at_barrier(barrier)
    try:
        threads = [threading.Thread(target=_buyer_accepts, args=(db_url, buyer, number, case_id, results)),
                   threading.Thread(target=_agent_approves, args=(db_url, case_id, option, results))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        ledger.entries_for_case = original
    _assert_one_settlement(db_url, number, case_id, results)


def _process_side(side, url, args, barrier, queue):
    dispose_engines()  # the parent's pooled connections are not this process's
    _meet_at_barrier(barrier)
    results = []
    if side == "buyer":
        _buyer_accepts(url, *args, results)
    else:
        _agent_approves(url, *args, results)
    queue.put(results[0])


def test_buyer_and_agent_race_two_processes(db_url):
    buyer, number, case_id, option = offered_case(db_url)
    dispose_engines()
    context = multiprocessing.get_context("fork")
    barrier, queue = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_process_side, args=("buyer", db_url, (buyer, number, case_id), barrier, queue)),
                 context.Process(target=_process_side, args=("agent", db_url, (case_id, option), barrier, queue))]
    for process in processes:
        process.start()
    results = [queue.get(timeout=90) for _ in processes]
    for process in processes:
        process.join(30)
    _assert_one_settlement(db_url, number, case_id, results)


def test_three_claims_on_one_order_pay_once_and_go_to_an_agent(db_url):
    service = AfterSalesService(db_url)
    buyer, number = new_bottle_order(db_url)
    first = service.assess(inputs(buyer, number, "conv-a"))
    assert not service.accept(inputs(buyer, number, "conv-a"), first.case_id).already_accepted
    # the same problem again: in the same conversation (a new case once the first is resolved), and in another
    for conversation in ("conv-a", "conv-b"):
        again = service.assess(inputs(buyer, number, conversation))
        assert again.case_id != first.case_id
        with pytest.raises(AlreadyCompensated) as refused:
            service.accept(inputs(buyer, number, conversation), again.case_id)
        assert f"案件{first.case_id}" in refused.value.history
        handoff = service.hand_off(conversation, buyer, "order_already_compensated",
                                   inputs=inputs(buyer, number, conversation), case_id=again.case_id)
        assert "此前已赔付" in handoff.summary and f"案件{first.case_id}" in handoff.summary
    assert order_cash_fen(db_url, number) == 500  # 2 + 3 yuan once, not 15


def test_an_agent_cannot_pass_the_orders_half_price_across_cases(db_url):
    service = AfterSalesService(db_url)
    buyer, number = new_bottle_order(db_url)
    first = service.assess(inputs(buyer, number, "conv-a"))
    service.accept(inputs(buyer, number, "conv-a"), first.case_id)  # 5 yuan of the 10-yuan cap
    second = service.assess(inputs(buyer, number, "conv-b"))
    half_price = [i for i, o in enumerate(second.resolution.options) if o.amount_fen == 1000 and o.parts]
    with pytest.raises(CopilotError, match="over the order's limit"):
        Copilot(db_url).approve(case_id=second.case_id, option_index=half_price[-1], agent_id="alice")
    assert order_cash_fen(db_url, number) == 500


def test_a_resent_refusal_moves_the_ladder_once(db_url):
    service = AfterSalesService(db_url)
    buyer, number = new_bottle_order(db_url)
    case_id = service.assess(inputs(buyer, number)).case_id
    first, moved = service.refuse(inputs(buyer, number), case_id, message_id="client:m-1")
    again, moved_again = service.refuse(inputs(buyer, number), case_id, message_id="client:m-1")
    assert moved and moved_again
    assert first.resolution.step == again.resolution.step == 1 and again.refusals == 1
    other, _ = service.refuse(inputs(buyer, number), case_id, message_id="client:m-2")
    assert other.refusals == 2


def test_a_photo_reference_never_uploaded_is_not_evidence(db_url):
    service = AfterSalesService(db_url)
    buyer, number = new_bottle_order(db_url)
    other_buyer, _ = new_bottle_order(db_url)
    for forged in ("upload/0123456789abcdef0123456789abcdef.jpg", PHOTO + other_buyer):
        assessment = service.assess(inputs(buyer, number, photo_refs=(forged,)))
        assert "photo" in assessment.needs and not assessment.acceptable
    assert service.assess(inputs(buyer, number)).acceptable  # its own upload counts


def test_the_ladder_stays_one_settlement_when_the_agent_retries(db_url):
    buyer, number, case_id, option = offered_case(db_url)
    copilot = Copilot(db_url)
    first = copilot.approve(case_id=case_id, option_index=option, agent_id="alice")
    again = copilot.approve(case_id=case_id, option_index=option, agent_id="alice")
    assert first["created_any"] and not again["created_any"]
    with pytest.raises(CopilotError, match="already settled"):
        copilot.approve(case_id=case_id, option_index=0, agent_id="bob")
    acceptance = AfterSalesService(db_url).accept(inputs(buyer, number), case_id)
    assert acceptance.already_accepted
    with session_scope(db_url) as session:
        assert session.query(Handoff).count() == 0
    assert settlements_of(db_url, case_id) == 1


# ---------------------------------------------------------------------- per order line

TWO_LINES = (("GL-A", 2000), ("GL-B", 10000))  # a 20-yuan bottle and a 100-yuan vase on one order


def test_a_case_records_its_line_and_the_engine_prices_only_that_line(db_url):
    service = AfterSalesService(db_url)
    buyer, number = new_bottle_order(db_url, lines=TWO_LINES)
    on_a = service.assess(inputs(buyer, number, "conv-a", item_skus=("GL-A",)))
    whole = service.assess(inputs(buyer, number, "conv-w"))
    assert max(o.amount_fen for o in on_a.resolution.options) == 1000   # half of the bottle
    assert max(o.amount_fen for o in whole.resolution.options) == 6000  # half of the order
    with session_scope(db_url) as session:
        assert db_cases.case_skus(session, session.get(AfterSalesCase, on_a.case_id)) == ["GL-A"]
        assert db_cases.case_skus(session, session.get(AfterSalesCase, whole.case_id)) is None
    # the same conversation, another line: another case, not the bottle's
    on_b = service.assess(inputs(buyer, number, "conv-a", item_skus=("GL-B",)))
    assert on_b.case_id != on_a.case_id
    for record in (True, False):
        with pytest.raises(OrderNotFound, match="NOPE"):
            service.assess(inputs(buyer, number, "conv-a", item_skus=("NOPE",)), record=record)


def test_a_claim_on_another_line_is_paid_but_one_on_a_compensated_line_goes_to_an_agent(db_url):
    service = AfterSalesService(db_url)
    buyer, number = new_bottle_order(db_url, lines=TWO_LINES)
    first = service.assess(inputs(buyer, number, "conv-a", item_skus=("GL-A",)))
    assert not service.accept(inputs(buyer, number, "conv-a"), first.case_id).already_accepted
    other_line = service.assess(inputs(buyer, number, "conv-b", item_skus=("GL-B",)))
    assert not service.accept(inputs(buyer, number, "conv-b"), other_line.case_id).already_accepted
    same_line = service.assess(inputs(buyer, number, "conv-c", item_skus=("GL-A",)))
    with pytest.raises(AlreadyCompensated) as refused:
        service.accept(inputs(buyer, number, "conv-c"), same_line.case_id)
    assert f"案件{first.case_id}" in refused.value.history
    handoff = service.hand_off("conv-c", buyer, "order_already_compensated",
                               inputs=inputs(buyer, number, "conv-c"), case_id=same_line.case_id)
    assert f"案件{first.case_id}" in handoff.summary
    # a claim about the whole order touches the compensated lines too
    whole = service.assess(inputs(buyer, number, "conv-d"))
    with pytest.raises(AlreadyCompensated):
        service.accept(inputs(buyer, number, "conv-d"), whole.case_id)
    assert order_cash_fen(db_url, number) == 1000  # 2 + 3 yuan on each line


def test_an_agent_cannot_pass_a_lines_half_price_though_the_order_has_room(db_url):
    service = AfterSalesService(db_url)
    buyer, number = new_bottle_order(db_url, lines=TWO_LINES)
    first = service.assess(inputs(buyer, number, "conv-a", item_skus=("GL-A",)))
    service.accept(inputs(buyer, number, "conv-a"), first.case_id)  # 5 of the bottle's 10 yuan
    second = service.assess(inputs(buyer, number, "conv-b", item_skus=("GL-A",)))
    half_price = [i for i, o in enumerate(second.resolution.options) if o.amount_fen == 1000 and o.parts]
    copilot = Copilot(db_url)
    with pytest.raises(CopilotError, match="GL-A"):  # 15 > 10 on the bottle; the order's 60 had room
        copilot.approve(case_id=second.case_id, option_index=half_price[-1], agent_id="alice")
    assert order_cash_fen(db_url, number) == 500
    # the same agent may still settle the bottle within its limit (2 + 3 yuan more: 10 of 10)
    copilot.approve(case_id=second.case_id, option_index=0, agent_id="alice")
    assert order_cash_fen(db_url, number) == 1000


def test_refunds_per_line_stay_within_what_was_paid_for_it(db_url):
    service = AfterSalesService(db_url)
    buyer, number = new_bottle_order(db_url, lines=TWO_LINES)
    broken = dict(item_skus=("GL-A",), usable=False)
    first = service.assess(inputs(buyer, number, "conv-a", **broken))
    assert first.offer.kind == "full_refund" and first.offer.amount_fen == 2000
    copilot = Copilot(db_url)
    copilot.approve(case_id=first.case_id, option_index=0, agent_id="alice", usable=False)
    again = service.assess(inputs(buyer, number, "conv-b", **broken))
    with pytest.raises(CopilotError, match="退款累计"):  # 40 > 20 paid for the bottle; the order's 120 had room
        copilot.approve(case_id=again.case_id, option_index=0, agent_id="alice", usable=False)
    assert order_cash_fen(db_url, number, kinds=("refund",)) == 2000


def test_a_resent_acceptance_has_its_receipt_and_pays_once(db_url):
    service = AfterSalesService(db_url)
    buyer, number = new_bottle_order(db_url)
    case_id = service.assess(inputs(buyer, number)).case_id
    first = service.accept(inputs(buyer, number), case_id, message_id="client:ok-1")
    resent = service.accept(inputs(buyer, number), case_id, message_id="client:ok-1")
    later = service.accept(inputs(buyer, number), case_id, message_id="client:ok-2")
    assert not first.already_accepted and first.created_any
    assert resent.already_accepted and resent.resent and not resent.created_any
    assert [p.idempotency_key for p in resent.parts] == [p.idempotency_key for p in first.parts]
    assert later.already_accepted and not later.resent  # another 好的: "already registered"
    with session_scope(db_url) as session:
        receipts = session.execute(select(MessageReceipt.message_id, MessageReceipt.action)
                                   .where(MessageReceipt.case_id == case_id)).all()
    assert [tuple(r) for r in receipts] == [("client:ok-1", "accept")]
    assert order_cash_fen(db_url, number) == 500


def test_two_agents_racing_on_one_line_pay_within_its_limit(db_url):
    """Two cases about the bottle line, each approved at half the bottle's price (10 yuan) at the same moment:
    both meet inside the read of the line's earlier cash (the order's 60 yuan would allow both). The order
    row lock lets only one through that read before the other committed, so one pays and one is refused."""
    service = AfterSalesService(db_url)
    buyer, number = new_bottle_order(db_url, lines=TWO_LINES)
    cases = [service.assess(inputs(buyer, number, f"conv-{n}", item_skus=("GL-A",))) for n in range(2)]
    options = [next(i for i, o in enumerate(c.resolution.options) if o.amount_fen == 1000 and o.parts) for c in cases]
    barrier, results = threading.Barrier(2), []
    original = db_settlement.line_cash

    def waiting(*args, **kwargs):
        try:
            barrier.wait(BARRIER_WAIT_S)
        except threading.BrokenBarrierError:
            pass
        return original(*args, **kwargs)
    db_settlement.line_cash = waiting
    try:
        threads = [threading.Thread(target=_agent_approves, args=(db_url, c.case_id, o, results))
                   for c, o in zip(cases, options)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        db_settlement.line_cash = original
    assert sorted(outcome.split(":")[0] for _, outcome in results) == ["paid", "refused"], results
    assert "GL-A" in next(outcome for _, outcome in results if outcome.startswith("refused"))
    assert order_cash_fen(db_url, number) == 1000
