"""Switching workloads (bench/switching/workload.py, pure): request counts per task, order, swaps, batches."""

from __future__ import annotations

from collections import Counter

from bench.switching.workload import Workload, homogeneous_batches, mixed_batches, switches, task_counts, task_sequence


def test_zipf_and_uniform_counts():
    assert task_counts(4, 100, "uniform") == [25, 25, 25, 25]
    z = task_counts(4, 100, "zipf")  # 1, 1/2, 1/3, 1/4 of 25/12
    assert z == [48, 24, 16, 12] and sum(z) == 100
    assert sum(task_counts(7, 33, "zipf")) == 33
    assert task_counts(3, 2, "uniform").count(0) == 1  # fewer requests than tasks


def test_grouped_vs_shuffled_order():
    grouped = task_sequence(Workload(4, 64, 8, "uniform", "grouped"))
    shuffled = task_sequence(Workload(4, 64, 8, "uniform", "shuffled", seed=1))
    assert grouped == sorted(grouped) and Counter(grouped) == Counter(shuffled) == {0: 16, 1: 16, 2: 16, 3: 16}
    assert shuffled != grouped and shuffled == task_sequence(Workload(4, 64, 8, "uniform", "shuffled", seed=1))
    assert switches(grouped, 8) == 4  # one load per task
    assert switches(shuffled, 8) > 20


def test_batching():
    tasks = [0, 0, 0, 1, 1, 0]
    assert homogeneous_batches(tasks, 2) == [(0, [0, 1]), (0, [2]), (1, [3, 4]), (0, [5])]
    assert mixed_batches(tasks, 4) == [[0, 1, 2, 3], [4, 5]]
