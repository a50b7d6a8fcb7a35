"""Versioned payload builders and parsers carried inside the shared envelope (see ../gnarly.py)."""
