"""Retraining without downtime: train a candidate, score it beside the serving model, promote or roll back.

- :mod:`backend.training.promotion`: the rule that decides, in numbers and words.
- :mod:`backend.training.scoring`: measuring a model on the held-out split, real messages and the conversation tests.
- :mod:`backend.training.stories`: which test stories a model passes (rasa test core).
- :mod:`backend.training.rasa_server`: Rasa's HTTP API (status, model swap), token-protected.
- :mod:`backend.training.versions`: the history of models and which one serves.
- :mod:`backend.training.jobs`: one training request from queue to decision, with progress.
"""
