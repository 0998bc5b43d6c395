"""Pytest fixtures for the hosts lab (filled in by its own issue)."""
