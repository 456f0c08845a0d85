"""The SDK's version: the one place it is declared (pyproject reads it from here)."""

__version__ = "0.1.0"
