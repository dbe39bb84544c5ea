"""What the study storage costs per trial as PostgreSQL workers are added.

Run as ``python -m bench.storage``. Each row runs a trivial objective (no sleep) in W worker
processes that start together on one study after two untimed warm-up trials each, so the time
is the storage's (and Optuna's), not the objective's. A SQLite single-process row gives a
same-run baseline. ``bench.common.publish`` prints the table and writes
``bench/results/storage.json``.

Per-trial overhead is wall time x workers / trials: the seconds of one worker spent per trial.
With more workers than cores it also counts waiting for a core.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from bench.common import machine, publish
from storage import StorageError, mask_url, open_storage
from tests.postgres import connection_counter, scratch_database

__all__ = ["Row", "main"]

_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Seconds one row may take, workers' start-up included; the benchmark always stops by itself.
_ROW_TIMEOUT = 60.0
# Untimed trials each worker runs before the timed ones.
_WARM_UP_TRIALS = 2
# Seconds between two counts of the server's connections while workers run.
_POLL_INTERVAL = 0.1


@dataclass(frozen=True)
class Row:
    """One measured configuration."""

    backend: str
    workers: int
    trials: int
    wall_s: float
    trials_per_s: float
    overhead_ms: float
    peak_connections: int | None
    # Trials per second relative to the one-worker PostgreSQL row.
    vs_postgres_1: float | None = None


def _worker(url: str, study_name: str, trials: int, seed: int, barrier: Any, results: Any) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=study_name,
        storage=open_storage(url),
        # The sampler's own cost is not under test; TPE's grows with the number of trials.
        sampler=optuna.samplers.RandomSampler(seed=seed),
    )
    # Warm-up trials, not timed: the first trials of a process pay for lazy imports, the first
    # connections and SQLAlchemy's statement cache.
    study.optimize(_objective, n_trials=_WARM_UP_TRIALS)
    barrier.wait()
    start = time.monotonic()
    study.optimize(_objective, n_trials=trials)
    results.put((start, time.monotonic()))


def _objective(trial: Any) -> float:
    return trial.suggest_float("x", -10.0, 10.0) ** 2


def _measure(backend: str, url: str, workers: int, trials_per_worker: int, count: Callable[[], int] | None) -> Row:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study_name = f"bench-{backend}-{workers}-{os.getpid()}-{time.monotonic_ns()}"
    storage = open_storage(url)
    optuna.create_study(study_name=study_name, storage=storage)
    if isinstance(storage, optuna.storages.RDBStorage):
        storage.engine.dispose()  # so that only the workers' connections are counted
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    results = context.Queue()
    processes = [
        context.Process(target=_worker, args=(url, study_name, trials_per_worker, seed, barrier, results))
        for seed in range(workers)
    ]
    with _peak(count) as peak:
        for process in processes:
            process.start()
        spans = []
        deadline = time.monotonic() + _ROW_TIMEOUT
        try:
            for _ in processes:
                spans.append(results.get(timeout=max(0.1, deadline - time.monotonic())))
        finally:
            for process in processes:
                process.join(timeout=max(0.1, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join()
    if len(spans) < workers:
        raise RuntimeError(f"{backend} with {workers} workers did not finish in {_ROW_TIMEOUT} s")
    wall = max(end for _, end in spans) - min(start for start, _ in spans)
    trials = workers * trials_per_worker
    return Row(
        backend=backend,
        workers=workers,
        trials=trials,
        wall_s=round(wall, 3),
        trials_per_s=round(trials / wall, 1),
        overhead_ms=round(wall * workers / trials * 1000, 2),
        peak_connections=peak[0] if count is not None else None,
    )


@contextmanager
def _peak(count: Callable[[], int] | None) -> Iterator[list[int]]:
    """Polls ``count`` in a thread while the body runs; yields a one-item list with the peak."""
    peak = [0]
    if count is None:
        yield peak
        return
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], count())
            stop.wait(_POLL_INTERVAL)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def _run(url: str, worker_counts: list[int], trials_per_worker: int) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="hpo-bench-") as directory:
        sqlite_url = f"sqlite:///{directory}/bench.db"
        rows.append(_measure("sqlite", sqlite_url, 1, trials_per_worker, None))
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if database is None:
        raise StorageError(f"--url must name a database but got {mask_url(url)!r}")
    with connection_counter(url, database) as count:
        for workers in worker_counts:
            print(f"postgresql, {workers} worker(s)...", flush=True)
            rows.append(_measure("postgresql", url, workers, trials_per_worker, count))
    base = next((r for r in rows if r.backend == "postgresql" and r.workers == 1), None)
    if base is None:
        return rows
    return [Row(**{**asdict(row), "vs_postgres_1": round(row.trials_per_s / base.trials_per_s, 2)}) for row in rows]


def _worker_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected e.g. 1,2,4,8 but got {text!r}") from None
    if not counts or min(counts) < 1 or max(counts) > 32:
        raise argparse.ArgumentTypeError(f"worker counts must be 1 to 32 but got {text!r}")
    return counts


def _positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"expected 1 to 10000 but got {text!r}")
    return value


def main(argv: list[str] | None = None) -> None:
    """Runs the benchmark; see ``python -m bench.storage --help``."""
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__)
    parser.add_argument("--trials-per-worker", type=_positive, default=40)
    parser.add_argument("--workers", type=_worker_counts, default=[1, 2, 4, 8])
    parser.add_argument(
        "--url",
        help=f"PostgreSQL URL to use as is (default: a throwaway database on {_SERVER_URL}, dropped afterwards)",
    )
    args = parser.parse_args(argv)

    try:
        if args.url is not None:
            rows = _run(args.url, args.workers, args.trials_per_worker)
        else:
            with scratch_database(_SERVER_URL, prefix="hpo_bench") as url:
                rows = _run(url, args.workers, args.trials_per_worker)
    except StorageError as error:
        parser.exit(1, f"error: {error}\n")

    import optuna
    import sqlalchemy

    where = mask_url(args.url) if args.url else f"a scratch database on {_SERVER_URL}"
    publish(
        "storage",
        "Storage cost with 1 to 8 PostgreSQL workers",
        [_columns(row) for row in rows],
        notes=[
            f"{args.trials_per_worker} timed trials per worker on {where}; objective x**2 with "
            "RandomSampler, no sleep; heartbeat on (10 s), pool_pre_ping on, as `open_storage` "
            "configures them.",
            "ms/trial = wall time x workers / trials: one worker's time per trial, which with "
            "more workers than cores includes waiting for a core. x pg-1 = trials/s over the "
            "1-worker PostgreSQL row. peak connections: pg_stat_activity polled every "
            f"{_POLL_INTERVAL} s.",
        ],
        meta={**machine(), "optuna": optuna.__version__, "sqlalchemy": sqlalchemy.__version__},
    )


def _columns(row: Row) -> dict[str, Any]:
    return {
        "backend": row.backend,
        "workers": row.workers,
        "trials": row.trials,
        "wall s": row.wall_s,
        "trials/s": row.trials_per_s,
        "ms/trial": row.overhead_ms,
        "peak conns": "n/a" if row.peak_connections is None else row.peak_connections,
        "x pg-1": "n/a" if row.vs_postgres_1 is None else row.vs_postgres_1,
    }


if __name__ == "__main__":
    main()
