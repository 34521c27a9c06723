"""Fixtures: every output type and every conditioning combination."""

from __future__ import annotations

import pytest
from wavenet_helpers import CASES, CONDITIONING, OUTPUTS, case_id


@pytest.fixture(params=OUTPUTS)
def output(request) -> str:
    return request.param


@pytest.fixture(params=CONDITIONING, ids=["uncond", "local", "global", "local+global"])
def conditioning(request) -> tuple[int, int]:
    return request.param


@pytest.fixture(params=CASES, ids=[case_id(c) for c in CASES])
def case(request) -> tuple[str, int, int, str]:
    """(output, cin_channels, gin_channels, excitation): the plain combinations and the source-filter mode."""
    return request.param


from pitch_fakes import fixed_pitch  # noqa: E402,F401  (autouse: the sine source of tiny pitch models)
