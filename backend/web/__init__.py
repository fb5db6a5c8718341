"""The backend web app: the resident's chat page, the console and the REST API."""
