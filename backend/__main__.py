"""``python -m backend …``: the project's command line (see backend/cli.py)."""

from backend.cli import main

raise SystemExit(main())
