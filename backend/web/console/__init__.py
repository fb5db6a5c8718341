"""The staff console's routes: login and permissions, tickets, points, registry, review, conversations, models, stats.

Each module is one area of the console; the work behind the pages lives in
the features (``backend.console``, ``backend.points``, ``backend.tickets`` …)
and the templates in ``backend/web/templates/``.
"""
