"""Fixtures of the generation tests."""

from pitch_fakes import fixed_pitch  # noqa: F401  (autouse: the sine source of tiny pitch models)
