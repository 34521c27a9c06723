"""Fixtures: every output type and every conditioning combination."""

from __future__ import annotations

import pytest
import torch
from wavenet_helpers import CONDITIONING, OUTPUTS


@pytest.fixture(params=OUTPUTS)
def output(request) -> str:
    return request.param


@pytest.fixture(params=CONDITIONING, ids=["uncond", "local", "global", "local+global"])
def conditioning(request) -> tuple[int, int]:
    return request.param


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny per-sample matrix products run far faster on one thread (no BLAS thread hand-off)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
