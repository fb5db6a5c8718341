"""Tickets: lifecycle, numbering, routing and the services the chat and the console share."""
