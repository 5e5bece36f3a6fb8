"""The per-job memory guard of ingest workers: a cap on the address space a job may add.

Celery's ``worker_max_memory_per_child`` replaces a worker child whose resident memory grew past
its limit, but only after the task: one file that decodes into gigabytes would still take the
worker down first. Inside the guard an allocation past the cap raises ``MemoryError`` instead,
which fails that job alone with a clear reason. Linux only (RLIMIT_AS); elsewhere a no-op.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def address_space() -> int:
    """This process's current virtual size in bytes (0 when /proc is not there)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@contextmanager
def memory_budget(extra_bytes: int) -> Iterator[None]:
    """Within the block, allocations that take the address space more than ``extra_bytes`` past
    its size on entry raise ``MemoryError``. ``extra_bytes`` 0 (or no /proc): no cap. Never use it
    in a process serving other threads (the web server): the cap is per process."""
    current = address_space()
    if extra_bytes <= 0 or current == 0:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = current + extra_bytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
