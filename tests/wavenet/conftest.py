"""Fixtures: every output type and every conditioning combination."""

from __future__ import annotations

import pytest
from wavenet_helpers import CONDITIONING, OUTPUTS


@pytest.fixture(params=OUTPUTS)
def output(request) -> str:
    return request.param


@pytest.fixture(params=CONDITIONING, ids=["uncond", "local", "global", "local+global"])
def conditioning(request) -> tuple[int, int]:
    return request.param
