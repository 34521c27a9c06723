"""Thread settings for this machine: torch intra-/inter-op threads, numba's pool and data-loader workers.

One choice per process, made so that nothing oversubscribes the cores:

- ``--threads N`` (or ``threads=N``) wins; then ``OMP_NUM_THREADS`` when the user set it;
- otherwise ("auto") the cores this process may run on (its CPU affinity), divided
  among the processes of this node (``LOCAL_WORLD_SIZE`` under torchrun), less the
  cores other programs are using right now (sampled from ``/proc/stat`` for 0.1 s):
  a 2-thread OpenMP kernel on a 2-core machine with one core taken by a neighbour
  waits on its slower thread at every barrier, and spinning workers can make it
  orders of magnitude slower than one thread.
- inter-op threads: 1 (the models run one op at a time);
- numba's pool: capped at the usable cores (``NUMBA_NUM_THREADS``, set before numba
  starts; a user's own setting is kept); the generation engine then takes torch's count;
- data-loader workers: as configured, but each worker takes a core from the
  compute threads (threads + workers <= cores); workers beyond the cores are dropped.

:func:`configure` applies a choice and remembers it; :func:`current` returns it.
The CLI calls :func:`configure` once before every command; the Trainer calls
:func:`for_training` (and ``wavekit train`` prints :meth:`ThreadPlan.describe`).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, replace

import torch

_PROBE_S = 0.1


@dataclass(frozen=True)
class ThreadPlan:
    """What was chosen and why. ``threads`` is torch's intra-op count (and the engine's)."""

    cores: int  # usable cores of this process (affinity / processes per node)
    threads: int
    interop: int
    workers: int
    source: str  # "--threads", "OMP_NUM_THREADS" or "auto"
    busy_cores: float = 0.0  # cores other programs used when sampled (auto only)

    def describe(self) -> str:
        busy = f", {self.busy_cores:.1f} busy elsewhere" if self.source == "auto" else ""
        return (f"threads: torch {self.threads} intra-op / {self.interop} inter-op, "
                f"data-loader workers {self.workers} ({self.source}; {self.cores} usable core(s){busy})")


_current: ThreadPlan | None = None


def usable_cores() -> int:
    """Cores this process may run on, divided among the processes of this node (at least 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    return max(1, cores // max(1, local))


def _cpu_times() -> tuple[float, float] | None:
    try:
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return idle, sum(fields[:8])


def busy_cores(seconds: float = _PROBE_S) -> float:
    """Cores' worth of CPU time other programs used over the next ``seconds`` (0 if unknown)."""
    a = _cpu_times()
    time.sleep(seconds)
    b = _cpu_times()
    if a is None or b is None or b[1] <= a[1]:
        return 0.0
    busy_fraction = 1.0 - (b[0] - a[0]) / (b[1] - a[1])
    return max(0.0, busy_fraction * (os.cpu_count() or 1))


def _env_threads() -> int | None:
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if not value:
        return None
    try:
        n = int(value.split(",")[0])
    except ValueError:
        return None
    return n if n > 0 else None


def plan(threads: int | None = None, workers: int = 0, probe: bool = True) -> ThreadPlan:
    """The thread settings for ``threads`` (None or 0 = auto) and ``workers`` configured loader workers."""
    if threads is not None and threads < 0:
        raise ValueError(f"threads must be >= 0 (0 = auto), got {threads}")
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")
    cores = usable_cores()
    busy = 0.0
    if threads:
        n, source = threads, "--threads"
    elif _env_threads() is not None:
        n, source = int(_env_threads() or 1), "OMP_NUM_THREADS"
    else:
        source = "auto"
        busy = busy_cores() if probe and cores > 1 else 0.0
        # a core counts as free when less than three quarters of it is in use by others
        n = max(1, min(cores, int(cores - busy + 0.25)))
    workers = min(workers, max(0, cores - 1))
    if source == "auto":
        n = max(1, min(n, cores - workers))
    return ThreadPlan(cores=cores, threads=n, interop=1, workers=workers, source=source, busy_cores=busy)


def apply(p: ThreadPlan) -> ThreadPlan:
    """Set torch's intra-/inter-op threads and cap numba's pool; remember ``p`` as :func:`current`."""
    global _current
    torch.set_num_threads(p.threads)
    try:
        torch.set_num_interop_threads(p.interop)
    except RuntimeError:
        pass  # inter-op threads can be set once, before any parallel work; the first choice stays
    if "numba" not in sys.modules:
        os.environ.setdefault("NUMBA_NUM_THREADS", str(max(p.threads, p.cores)))
    _current = p
    return p


def configure(threads: int | None = None, workers: int = 0, probe: bool = True) -> ThreadPlan:
    """:func:`plan` then :func:`apply`; returns the plan."""
    return apply(plan(threads, workers, probe))


def for_command(threads: int | None = None) -> ThreadPlan:
    """The CLI's choice: ``--threads`` or ``OMP_NUM_THREADS`` win; auto never raises torch's count.

    A fresh ``wavekit`` process starts at torch's default (the cores), so auto is the free
    cores there; a caller that pinned torch's threads and runs a command in-process (a test
    through click's runner, a notebook) keeps its pin, and with it its numerics.
    """
    p = plan(threads)
    if p.source == "auto" and p.threads > torch.get_num_threads():
        p = replace(p, threads=torch.get_num_threads())
    return apply(p)


def current() -> ThreadPlan | None:
    """The plan applied last in this process (None before any)."""
    return _current


def for_training(threads: int, workers: int) -> ThreadPlan:
    """The Trainer's choice: its own ``threads`` setting if > 0, else the CLI's plan, else auto.

    Workers follow the training config (capped at the cores). Auto never raises torch's
    current thread count: a library user who pinned ``torch.set_num_threads(1)`` keeps it.
    """
    prev = current()
    if threads > 0:
        return configure(threads, workers)
    if prev is not None and prev.source != "auto":
        return apply(plan(prev.threads if prev.source == "--threads" else None, workers, probe=False))
    p = plan(None, workers, probe=prev is None)
    if p.source != "auto":
        return apply(p)
    n = prev.threads if prev is not None else p.threads
    n = max(1, min(n, torch.get_num_threads(), p.cores - p.workers))
    busy = prev.busy_cores if prev is not None else p.busy_cores
    return apply(ThreadPlan(cores=p.cores, threads=n, interop=1, workers=p.workers, source="auto", busy_cores=busy))
