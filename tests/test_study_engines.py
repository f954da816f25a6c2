"""archsearch.study_engines: a real Dask LocalCluster of two worker processes gives the local rows."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from archsearch.errors import UsageError
from archsearch.study import load_study, run_study

distributed = pytest.importorskip("dask.distributed")  # the cluster extra; the test extra installs it


@pytest.fixture
def spec(tmp_path: Path, small_problem_dict, write_problem):
    # named explicitly: the worker processes of a cluster do not see conftest's pinned defaults
    small_problem_dict["constraints"]["speed_model"] = "calibrated"
    problem = write_problem(small_problem_dict)
    doc = {"name": "c", "problem": str(problem), "top_k": 2,
           "parameters": [{"path": "workload.context_length", "values": ["2k", "8k"]},
                          {"path": "workload.concurrency", "values": [16, 32, 64]}]}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_study(path, tmp_path)


def test_a_local_dask_cluster_of_two_processes_gives_the_local_rows(spec) -> None:
    local = run_study(spec, chunk_points=1).rows
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        with distributed.Client(cluster) as client:
            pids = set(client.run(lambda: __import__("os").getpid()).values())
            assert len(pids) == 2                                   # two worker processes, none of them this one
            assert __import__("os").getpid() not in pids
        on_cluster = run_study(spec, cluster=cluster.scheduler_address, chunk_points=1)
    finally:
        cluster.close()
    assert on_cluster.rows == local and on_cluster.engine == "dask"


def test_cluster_auto_starts_and_stops_its_own_local_cluster(spec) -> None:
    assert run_study(spec, cluster="auto", workers=2).rows == run_study(spec).rows


def test_an_unreachable_scheduler_is_one_line(spec) -> None:
    with pytest.raises(UsageError) as info:
        run_study(spec, cluster="tcp://127.0.0.1:9")
    assert str(info.value).startswith("--cluster: cannot reach a Dask scheduler at tcp://127.0.0.1:9: ")
