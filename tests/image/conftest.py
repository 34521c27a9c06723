"""Image test fixtures (the suite runs single-threaded: see tests/conftest.py)."""
