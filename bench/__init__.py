"""``make bench``: simulated residents against the running stack, beside a bare Rasa server.

Each simulated resident holds a whole conversation through one of the
stack's entry points (the web chat's HTTP API, or Telegram through the
bridge and a fake Bot API): reports a problem, goes through the report
form to a filed ticket, asks its status, asks their points. The same
messages go to a bare Rasa server (same model, no custom actions, no
backend) in the same run, so the figures can be compared on a shared,
noisy machine. What is measured and the targets are in docs/benchmark.md.

The stack is started exactly as the end-to-end tests start it
(:class:`tests.e2e.stack.Stack`, the Procfile's ``python -m backend serve``
commands), and Telegram is the tests' fake Bot API; both are reused here
rather than copied.
"""
