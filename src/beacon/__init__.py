"""Beacon: formative feedback and project design for mastery-based schools."""

__version__ = "0.1.0"
