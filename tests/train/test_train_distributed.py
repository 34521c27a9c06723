"""Data sharding and DistributedDataParallel: two gloo processes == one process with the combined batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import train_ddp_worker

from wavekit.train.distributed import DistInfo, ShardedBatchSampler

HERE = Path(__file__).parent


def test_ranks_take_disjoint_shards_of_the_single_process_batches() -> None:
    n, batch, seed = 23, 3, 7
    for epoch in (0, 1):
        alone = list(ShardedBatchSampler(n, 2 * batch, seed, epoch, 0, DistInfo(0, 1, 0)))
        ranks = [list(ShardedBatchSampler(n, batch, seed, epoch, 0, DistInfo(r, 2, r))) for r in (0, 1)]
        assert len(alone) == len(ranks[0]) == len(ranks[1]) == n // (2 * batch)
        for b, whole in enumerate(alone):
            assert ranks[0][b] + ranks[1][b] == whole  # rank 0 first half, rank 1 second half
        seen = [i for r in ranks for part in r for i in part]
        assert len(set(seen)) == len(seen)  # no item twice in an epoch
    # A resumed sampler continues exactly where the full one was.
    full = list(ShardedBatchSampler(n, batch, seed, 1, 0, DistInfo(1, 2, 1)))
    assert list(ShardedBatchSampler(n, batch, seed, 1, 2, DistInfo(1, 2, 1))) == full[2:]
    # Each epoch has its own order.
    assert list(ShardedBatchSampler(n, batch, seed, 0, 0, DistInfo())) != list(
        ShardedBatchSampler(n, batch, seed, 1, 0, DistInfo()))


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_with_the_combined_batch(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parents[1])}
    ddp_out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(HERE / "train_ddp_worker.py"), str(ddp_out), "2"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = torch.load(ddp_out / "result.pt", weights_only=True)
    assert ddp["world_size"] == 2

    single = train_ddp_worker.run(tmp_path / "single", 4)  # batch 2 x 2 processes == batch 4 x 1
    for g_ddp, g_one in zip(ddp["grads"], single["grads"], strict=True):
        assert g_ddp.dtype == torch.float64
        torch.testing.assert_close(g_ddp, g_one, rtol=1e-12, atol=1e-14)
    for key in ("model", "ema"):
        for k, v in single[key].items():
            torch.testing.assert_close(ddp[key][k], v, rtol=1e-12, atol=1e-14)

    def metrics(out: Path) -> list[dict]:
        recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k != "items_per_s"} for r in recs]

    # Training and held-out losses are reduced over both processes: same numbers as one process.
    for a, b in zip(metrics(ddp_out), metrics(tmp_path / "single"), strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == pytest.approx(b[k], rel=1e-12)
