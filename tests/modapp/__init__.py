"""A package whose sub-package ``admin`` is a Flask 0.6 module (tests/test_modules.py)."""
