"""Apps served by real servers in the end-to-end tests (imported by uvicorn and gunicorn)."""
