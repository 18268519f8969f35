"""bot.web.transcript: tracker events -> the messages the widget and the console show."""
from bot.clarify import REREAD_MARK
from bot.web import transcript


def _user(text, **metadata):
    return {"event": "user", "text": text, "timestamp": 1.0, "metadata": metadata,
            "parse_data": {"intent": {"name": "nlu_fallback"}}}


def test_a_message_given_again_with_its_reading_is_shown_once_at_its_first_position():
    """The fallback re-reads 「不行，5块钱太少了」 as a refusal when an offer is pending (a rewind, then the
    same text again): the buyer said it once, and the positions (seq) of the events stay those of the tracker."""
    events = [{"event": "bot", "text": "给您补偿2元…", "timestamp": 0.5},
              _user("不行，5块钱太少了", client_message_id="m1"),
              {"event": "rewind", "timestamp": 1.1},
              {"event": "action", "name": "action_listen", "timestamp": 1.2},
              _user("不行，5块钱太少了", client_message_id="m1", **{REREAD_MARK: "pending_offer"}),
              {"event": "bot", "text": "亲，退货的运费…", "timestamp": 1.3}]
    shown = transcript.messages({"events": events})
    assert [(m["seq"], m["role"], m["text"]) for m in shown] == [
        (0, "bot", "给您补偿2元…"), (1, "buyer", "不行，5块钱太少了"), (5, "bot", "亲，退货的运费…")]
    assert transcript.buyer_texts({"events": events}) == ("不行，5块钱太少了",)
