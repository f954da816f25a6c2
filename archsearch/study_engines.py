"""Engines that solve a study's chunks: this process, worker processes, or a Dask cluster.

Each engine runs ``study.solve_chunk`` on every chunk and yields the chunk's rows as soon as it
finishes (in whatever order chunks finish; the journal records the point index of every row).

Dask (``dask.distributed``) is the distributed engine: pure-Python wheels, a ``LocalCluster`` of worker
processes for ``--cluster auto``, and ``Client(address)`` for a scheduler started elsewhere
(``dask scheduler`` / ``dask worker ADDRESS`` on each machine).  It is an optional extra
(``pip install 'archsearch[cluster]'``); nothing else in archsearch imports it.  Why not Ray: Ray's
wheels bundle a C++ runtime of several hundred MB, exist only for some platforms and Python versions,
and start a heavier runtime per machine; a study's tasks are plain Python functions on small
arguments, which is what Dask's task API does with nothing more to install than Python packages.
"""

from __future__ import annotations

import logging
import os
from typing import Iterator, Optional, Sequence

from .errors import UsageError


def run_chunks(ctx, chunks: Sequence[list], *, workers: int = 1, cluster: Optional[str] = None) -> Iterator[list]:
    """Solve every chunk; yield each chunk's rows per point as it finishes."""
    if cluster is not None:
        yield from _dask_chunks(ctx, chunks, workers, cluster)
    elif workers <= 1 or len(chunks) <= 1:
        from .study import solve_chunk
        for chunk in chunks:
            yield solve_chunk(ctx, chunk)
    else:
        yield from _process_chunks(ctx, chunks, workers)


def _process_chunks(ctx, chunks: Sequence[list], workers: int) -> Iterator[list]:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from .study import solve_chunk
    pool = ProcessPoolExecutor(max_workers=min(workers, len(chunks)))
    try:
        # keep a few chunks per worker in flight, so an interruption leaves little work half done
        queue = list(chunks)[::-1]
        running = set()
        while queue or running:
            while queue and len(running) < 2 * workers:
                running.add(pool.submit(solve_chunk, ctx, queue.pop()))
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for f in finished:
                yield f.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def dask_client(cluster: str, workers: int):
    """A Dask client: ``auto`` starts a local cluster of ``workers`` processes (one thread each)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--cluster needs Dask: pip install 'archsearch[cluster]'") from None
    if cluster == "auto":
        local = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                             dashboard_address=None, silence_logs=logging.ERROR)
        return Client(local), local
    try:
        return Client(cluster, timeout="10s"), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"--cluster: cannot reach a Dask scheduler at {cluster}: {exc}") from None


def _dask_chunks(ctx, chunks: Sequence[list], workers: int, cluster: str) -> Iterator[list]:
    from dask.distributed import as_completed
    from .study import solve_chunk
    client, local = dask_client(cluster, workers)
    try:
        shared = client.scatter(ctx, broadcast=True)
        futures = [client.submit(solve_chunk, shared, chunk, pure=False) for chunk in chunks]
        try:
            for f in as_completed(futures):
                yield f.result()
        finally:
            client.cancel(futures)
    finally:
        client.close()
        if local is not None:
            local.close()


def default_workers(cluster: Optional[str]) -> int:
    """Worker processes when none are asked for: one locally, every CPU for a local Dask cluster."""
    return (os.cpu_count() or 1) if cluster == "auto" else 1
