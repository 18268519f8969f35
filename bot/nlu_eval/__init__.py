"""NLU evaluation without Rasa: read labelled messages, score predictions, train two baselines, write reports.

The trained Rasa model is reached only through a plain ``predict(text) -> Prediction`` callable that
``actions/eval_nlu.py`` builds, so everything here stays importable (and testable) without Rasa.

Modules:
  eval_data      the JSONL eval-set reader (``{"text": ..., "intent": ...}`` a line)
  training_data  the Rasa-YAML NLU training-data reader (PyYAML, entity markup stripped)
  metrics        accuracy, macro/weighted F1, per-intent scores, confusion matrix
  baselines      keyword matcher and TF-IDF char n-grams + logistic regression
  evaluation     predictions -> per-system results (fallback handling for the model)
  report         text tables, the JSON report, confusion-matrix PNGs
  run            the whole evaluation run the command performs
"""
