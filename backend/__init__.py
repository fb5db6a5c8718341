"""三事通's backend: domain model, services, web app (chat page, console, API), worker, command line."""
