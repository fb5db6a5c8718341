"""Rasa custom actions, one module per feature.

rasa-sdk imports every module of this package and registers each concrete
``Action`` subclass; shared bases are abstract so they are not registered.
"""
