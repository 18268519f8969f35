"""The after-sales assistant's core: orders, policy, ledger, scripts, copilot.

Nothing in this package imports Rasa, so it can be tested and reused on its own; `actions/` adapts it to Rasa.
"""
