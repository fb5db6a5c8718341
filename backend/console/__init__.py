"""The console's people and rules: accounts, sessions, roles and scopes, and the audit trail.

The web routes (:mod:`backend.web.console.auth`, :mod:`backend.web.console.tickets`)
only call these; the command line (``python -m backend accounts``) uses the same.
"""
