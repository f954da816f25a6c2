"""Benchmark: single-solve process time, the 64-point sweep, study CPU time per point, study throughput locally and on a Dask cluster.

Run:  python benchmarks/study_bench.py            (add --big for the 10,000-point study, --json for JSON)

This is a measurement, not a test.  The machine is shared: every figure is the minimum of
``--repeat`` runs, reported both as wall time and as CPU time (user + system), with the load
average (``os.getloadavg``) at the start and end.  Targets (2-core machine, issue 12): the default
``archsearch solve`` process at most 0.8 s; the 64-point context sweep warm on one worker at most
5 s; the 10,000-point study (100 x 100 context x concurrency, top 1) at most 8 minutes; the time per
point on the cluster path within 1.3x of the local path.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this tree

from archsearch.study import load_study, run_study  # noqa: E402
from archsearch.sweep import parse_range, settle, sweep  # noqa: E402


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def solve_process(repeat: int) -> dict:
    """``python -m archsearch solve`` (the default problem, top 10) as a fresh process."""
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = _children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "archsearch", "solve"], cwd=ROOT, check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
        cpus.append(_children_cpu() - c0)
    return {"what": "archsearch solve (process)", "wall_s": round(min(walls), 3), "cpu_s": round(min(cpus), 3)}


def context_sweep(repeat: int, points: int = 64) -> dict:
    """The 64-point context sweep of the default problem, warm, one worker, after one warm-up run."""
    values = settle("workload.context_length", parse_range(f"1k:1M:{points}:log", binary=True)[0], rounded=True)
    sweep(None, "workload.context_length", values[:2])
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        sweep(None, "workload.context_length", values, warm=True, workers=1)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return {"what": f"{points}-point context sweep, warm, 1 worker", "wall_s": round(min(walls), 2),
            "cpu_s": round(min(cpus), 2)}


def _study_file(folder: Path, n_context: int, n_conc: int) -> Path:
    path = folder / "study.yaml"
    path.write_text(json.dumps({
        "name": "bench", "problem": "llama-2-70b-chat", "top_k": 1,
        "parameters": [{"path": "workload.context_length", "range": f"1k:1M:{n_context}:log"},
                       {"path": "workload.concurrency", "range": f"4:400:{n_conc}"}],
        "max_points": 100_000}))
    return path


def study_cpu(n_context: int, n_conc: int) -> dict:
    """CPU time per point of a study over the 10,000-point study's ranges on a smaller grid, solved in this
    process (one worker, as ``archsearch study --workers 1`` does): what the 10,000-point study costs per point."""
    with tempfile.TemporaryDirectory() as tmp:
        spec = load_study(_study_file(Path(tmp), n_context, n_conc), tmp)
        c0, t0 = time.process_time(), time.perf_counter()
        run = run_study(spec, workers=1)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"what": f"{spec.size}-point study ({n_context} x {n_conc}), 1 worker, in this process",
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "cpu_per_point_ms": round(1000 * cpu / spec.size, 1),
            "solved": run.solved}


def study_paths(n_context: int, n_conc: int, workers: int) -> list[dict]:
    """The same grid solved by worker processes and by a local Dask cluster of as many processes."""
    rows, answers = [], []
    with tempfile.TemporaryDirectory() as tmp:
        spec = load_study(_study_file(Path(tmp), n_context, n_conc), tmp)
        from dask.distributed import LocalCluster
        t0 = time.perf_counter()
        lc = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        started = time.perf_counter() - t0
        for label, cluster in (("local processes", None), ("dask LocalCluster (started once, "
                                                           f"{started:.1f} s, not counted)", lc.scheduler_address)):
            t0 = time.perf_counter()
            run = run_study(spec, workers=workers, cluster=cluster)
            wall = time.perf_counter() - t0
            answers.append([(r["point"], r["memory"], r["nodes"], r["cost_usd"]) for r in run.rows])
            rows.append({"what": f"{spec.size}-point study, {label}, {workers} workers", "wall_s": round(wall, 2),
                         "per_point_ms": round(1000 * wall / spec.size, 1)})
        lc.close()
    for r in rows:
        r["same_rows"] = all(a == answers[0] for a in answers)
    rows[1]["cluster_over_local"] = round(rows[1]["wall_s"] / rows[0]["wall_s"], 2)
    return rows


def big_study(workers: int) -> dict:
    """The 10,000-point study through the command line, as a user runs it."""
    with tempfile.TemporaryDirectory() as tmp:
        c0, t0 = _children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "archsearch", "study", "benchmarks/studies/context-concurrency-10k.yaml",
                        "--workers", str(workers), "--out-dir", tmp, "--quiet"], cwd=ROOT, check=True)
        wall = time.perf_counter() - t0
    return {"what": f"10,000-point study (100 x 100), {workers} workers", "wall_s": round(wall, 1),
            "cpu_s": round(_children_cpu() - c0, 1), "per_point_ms": round(wall / 10, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--grid", default="20x20", help="grid of the local-vs-cluster comparison (default 20x20)")
    ap.add_argument("--big", action="store_true", help="also run the 10,000-point study")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    out = [solve_process(args.repeat), context_sweep(args.repeat)]
    a, b = (int(x) for x in args.grid.split("x"))
    out.append(study_cpu(a, b))
    out += study_paths(a, b, args.workers)
    if args.big:
        out.append(big_study(args.workers))
    doc = {"load_average_start": [round(x, 2) for x in load0], "load_average_end": [round(x, 2) for x in os.getloadavg()],
           "cpus": os.cpu_count(), "results": out}
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(f"load average at start {doc['load_average_start']}, at end {doc['load_average_end']}; "
              f"{doc['cpus']} CPUs")
        for r in out:
            print("  " + r.pop("what") + ": " + ", ".join(f"{k} {v}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
