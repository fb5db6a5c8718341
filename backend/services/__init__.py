"""Service functions: keyword-only arguments, the session passed in, plain results.

Actions, the web app, the worker and the command line all go through these;
none of them writes SQL of its own.
"""
