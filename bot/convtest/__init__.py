"""Conversation test suites run against the live stack (NLU, dialogue, actions, rule packs, database).

`python -m bot.convtest PATH...` — see docs/convtest.md. Rasa-free: the runner talks to the servers over HTTP.
"""
