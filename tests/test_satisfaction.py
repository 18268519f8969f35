"""Buyer satisfaction (满意度): asked once when a case ends, never mid-negotiation, the answer stored with the case.

Runs the real actions on a seeded SQLite database (the helpers of tests/test_actions.py): b_demo_1's 20.00-yuan
bottle (886600010001) gets the 2 + 3 yuan offer after a photo; 好的 ends the case.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from actions.actions import ActionAcceptOffer, ActionHandleProblem, ActionRecordSatisfaction, ActionRefuseOffer
from bot.db import cases as db_cases
from bot.db.models import AfterSalesCase, Handoff, SatisfactionSurvey
from bot.db.session import session_scope
from bot.service import satisfaction
from tests.test_actions import (  # noqa: F401  (db_url is a fixture)
    BUYER,
    db_url,
    offer_after_photo,
    problem_slots,
    run,
    slot_values,
    texts,
    tracker,
)

SURVEY = "utter_ask_satisfaction"


def surveys(url: str) -> list[SatisfactionSurvey]:
    with session_scope(url) as session:
        rows = list(session.execute(select(SatisfactionSurvey).order_by(SatisfactionSurvey.id)).scalars())
        session.expunge_all()
        return rows


def accept(case_id: int, **kwargs):
    return run(ActionAcceptOffer(), tracker(intent="affirm", slots=problem_slots(case_id), **kwargs))


def tap(rating: str, *, sender: str = BUYER, comment: str | None = None, case: int | None = None,
        satisfaction_case=None):
    import json
    data = {"rating": rating}
    if comment is not None:
        data["comment"] = comment
    if case is not None:
        data["case"] = case
    text = "/rate_satisfaction" + json.dumps(data, ensure_ascii=False)
    return run(ActionRecordSatisfaction(), tracker(sender, text=text, intent="rate_satisfaction",
                                                   slots={"satisfaction_case": satisfaction_case}))


# ------------------------------------------------------------------ asked when the bot settles a case

def test_an_accepted_offer_asks_once_and_the_answer_is_stored_with_the_case(db_url):
    case_id, _ = offer_after_photo(db_url)
    events, messages = accept(case_id)
    assert [m.get("response") for m in messages] == ["utter_offer_accepted", SURVEY]
    assert slot_values(events)["satisfaction_case"] == case_id
    [row] = surveys(db_url)
    assert (row.case_id, row.intent, row.resolver, row.resolved_by, row.order_number) == \
        (case_id, "damaged", "bot", "bot", "886600010001")
    assert row.resolution_kind and row.resolution_kind != "unknown" and row.rating is None

    events, messages = tap("unsatisfied", comment="  赔得太少了\n ", satisfaction_case=case_id)
    assert [m["response"] for m in messages] == ["utter_satisfaction_sorry"]
    assert slot_values(events)["satisfaction_case"] is None
    [row] = surveys(db_url)
    assert (row.rating, row.comment) == ("unsatisfied", "赔得太少了") and row.answered_at is not None


def test_the_survey_response_has_the_three_buttons_with_their_payloads():
    from bot.scripts import ScriptBook
    rendered = ScriptBook.load().render(SURVEY, {})
    assert [(b["title"], b["payload"]) for b in rendered["buttons"]] == [
        ("满意", '/rate_satisfaction{"rating": "satisfied"}'), ("一般", '/rate_satisfaction{"rating": "neutral"}'),
        ("不满意", '/rate_satisfaction{"rating": "unsatisfied"}')]
    # and they parse back to the ratings they name (the same parser the action uses)
    assert [satisfaction.parse_rating_message(b["payload"]).rating for b in rendered["buttons"]] == \
        ["satisfied", "neutral", "unsatisfied"]


def test_rasa_renders_the_survey_buttons_with_the_same_payloads_and_no_placeholder_error():
    """What the buyer's widget gets is Rasa's rendering of domain.yml, which fills {slot} placeholders in
    buttons too: the payload's JSON must come out intact, without Rasa logging a missing slot for it."""
    import asyncio
    from structlog.testing import capture_logs
    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from bot.settings import PROJECT_ROOT

    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    tracker = DialogueStateTracker("b_survey", domain.slots)
    with capture_logs() as logged:
        rendered = asyncio.run(TemplatedNaturalLanguageGenerator(domain.responses).generate(SURVEY, tracker, "rest"))
    assert [b["payload"] for b in rendered["buttons"]] == [
        '/rate_satisfaction{"rating": "satisfied"}', '/rate_satisfaction{"rating": "neutral"}',
        '/rate_satisfaction{"rating": "unsatisfied"}']
    assert [entry for entry in logged if "interpolat" in str(entry.get("event"))] == []


def test_a_second_acceptance_or_a_retried_ask_never_asks_again(db_url):
    case_id, _ = offer_after_photo(db_url)
    accept(case_id)
    _, messages = accept(case_id)  # 好的 again: already registered, no second question
    assert SURVEY not in [m.get("response") for m in messages]
    service = __import__("actions.dialogue", fromlist=["service"]).service(None)
    assert service.ask_satisfaction(BUYER, case_id, resolution_kind="x") is None
    assert len(surveys(db_url)) == 1


def test_the_first_answer_stands_and_a_second_tap_is_told_so(db_url):
    case_id, _ = offer_after_photo(db_url)
    accept(case_id)
    tap("satisfied", satisfaction_case=case_id)
    _, messages = tap("unsatisfied", comment="改主意了", satisfaction_case=case_id)
    assert [m["response"] for m in messages] == ["utter_satisfaction_already_answered"]
    [row] = surveys(db_url)
    assert (row.rating, row.comment) == ("satisfied", None)


# ------------------------------------------------------------------ never in the middle of a negotiation

def test_no_question_while_an_offer_is_on_the_table_or_after_a_refusal(db_url):
    case_id, _ = offer_after_photo(db_url)  # the first offer is pending
    _, messages = run(ActionRefuseOffer(), tracker(intent="deny", slots=problem_slots(case_id, refusals=0)))
    assert SURVEY not in [m.get("response") for m in messages]
    assert surveys(db_url) == []


def test_no_question_inside_a_form(db_url):
    case_id, _ = offer_after_photo(db_url)
    _, messages = accept(case_id, active_loop="quote_form")
    assert [m.get("response") for m in messages] == ["utter_offer_accepted"]
    assert surveys(db_url) == []


def test_a_case_that_has_not_ended_cannot_be_asked_about(db_url):
    case_id, _ = offer_after_photo(db_url)
    with session_scope(db_url) as session, pytest.raises(satisfaction.SurveyError):
        satisfaction.ask(session, session.get(AfterSalesCase, case_id), resolution_kind="x", resolved_by="bot")


def test_a_tap_with_nothing_asked_or_a_malformed_payload_changes_nothing(db_url):
    _, messages = tap("satisfied")
    assert [m["response"] for m in messages] == ["utter_satisfaction_not_asked"]
    _, messages = run(ActionRecordSatisfaction(), tracker(text='/rate_satisfaction{"rating": "超满意"}',
                                                          intent="rate_satisfaction"))
    assert [m["response"] for m in messages] == ["utter_default"]
    assert satisfaction.parse_rating_message("/rate_satisfaction{not json").rating is None
    assert surveys(db_url) == []


def test_another_buyers_case_cannot_be_rated(db_url):
    case_id, _ = offer_after_photo(db_url)
    accept(case_id)
    _, messages = tap("unsatisfied", sender="b_demo_2", case=case_id)
    assert [m["response"] for m in messages] == ["utter_satisfaction_not_asked"]
    assert surveys(db_url)[0].rating is None


def test_a_huge_comment_is_cut_and_an_empty_one_is_none():
    assert len(satisfaction.clean_comment("很" * 5000)) == satisfaction.MAX_COMMENT_CHARS
    assert satisfaction.clean_comment("   ") is None


# ------------------------------------------------------------------ asked when an agent ends the case

def test_an_agent_resolving_a_handed_off_case_closes_it_and_asks_once(db_url):
    case_id, _ = offer_after_photo(db_url)
    service = __import__("actions.dialogue", fromlist=["service"]).service(None)
    service.hand_off(BUYER, BUYER, "request_human", case_id=case_id)
    with session_scope(db_url) as session:
        done = satisfaction.resolve_by_agent(session, BUYER, "a01")
    assert done.case_id == case_id and done.survey_id is not None
    with session_scope(db_url) as session:
        assert session.get(AfterSalesCase, case_id).status == "resolved"
        assert {h.status for h in session.execute(select(Handoff)).scalars()} == {"closed"}
        again = satisfaction.resolve_by_agent(session, BUYER, "a02", case_id=case_id)
    assert again.survey_id is None  # never twice, whoever clicks
    [row] = surveys(db_url)
    assert (row.resolver, row.resolved_by, row.resolution_kind) == ("agent", "agent:a01", done.resolution_kind)
    _, messages = tap("neutral", case=case_id)  # the agent's buttons name the case
    assert [m["response"] for m in messages] == ["utter_satisfaction_thanks"]
    assert surveys(db_url)[0].rating == "neutral"


def test_an_agent_cannot_resolve_another_conversations_case(db_url):
    case_id, _ = offer_after_photo(db_url)
    with session_scope(db_url) as session, pytest.raises(satisfaction.NoCaseToResolve):
        satisfaction.resolve_by_agent(session, "b_demo_2", "a01", case_id=case_id)
    with session_scope(db_url) as session:
        assert session.get(AfterSalesCase, case_id).status == "offered"
        assert db_cases.list_handoffs(session) == []


def test_a_question_that_cannot_be_recorded_never_spoils_the_settlement(db_url, monkeypatch):
    """The question is written in the settlement's transaction, in its own savepoint: when it fails, the
    grant stands, the buyer hears the acceptance and simply gets no buttons."""
    from sqlalchemy.exc import OperationalError
    from tests.test_actions import ledger_rows

    def broken_ask(session, case, **_):
        session.execute(select(SatisfactionSurvey.id))  # inside the savepoint, like the real question
        raise OperationalError("INSERT INTO satisfaction_surveys", {}, Exception("disk I/O error"))

    monkeypatch.setattr(satisfaction, "ask", broken_ask)
    case_id, _ = offer_after_photo(db_url)
    events, messages = accept(case_id)
    assert [m.get("response") for m in messages] == ["utter_offer_accepted"]
    assert sorted(amount for _, amount, _ in ledger_rows(db_url)) == [200, 300]
    assert surveys(db_url) == []
    assert "satisfaction_case" not in slot_values(events)
