"""Pytest fixtures for the kubeapi lab (filled in by its own issue)."""
