"""The warm pipeline cache: LRU by count and memory, never evicting a pipeline in use."""

from __future__ import annotations

import threading
import time

import pytest

from reelforge.backends.neural.cache import PipelineCache


def test_a_warm_pipeline_is_reused_and_the_least_recent_goes_first() -> None:
    released: list[int] = []
    cache = PipelineCache(max_models=2, release=lambda: released.append(1))
    loads: list[str] = []

    def use(key: str) -> bool:
        with cache.use(key, 1, lambda: loads.append(key) or f"pipe-{key}") as (pipe, fresh):
            assert pipe == f"pipe-{key}"
            return fresh

    assert use("a") and use("b")
    assert not use("a")  # warm: a is now the most recent
    assert use("c")  # evicts b, the least recently used
    assert cache.keys() == ["a", "c"] and loads == ["a", "b", "c"]
    assert cache.stats.evictions == 1 and released == [1] and cache.stats.hits == 1


def test_memory_budget_evicts_until_the_newcomer_fits() -> None:
    cache = PipelineCache(max_models=10, max_bytes=100)
    for key in ("a", "b"):
        with cache.use(key, 40, lambda: object()):
            pass
    with cache.use("c", 70, lambda: object()):
        pass
    assert cache.keys() == ["c"]  # 40 + 40 + 70 > 100, 40 + 70 > 100


def test_a_pipeline_in_use_is_not_evicted() -> None:
    cache = PipelineCache(max_models=1)
    with cache.use("a", 1, lambda: "A") as (pipe, _):
        with cache.use("b", 1, lambda: "B"):
            pass
        assert pipe == "A" and set(cache.keys()) == {"a", "b"}  # over budget while a runs


def test_a_failed_load_is_not_cached() -> None:
    cache = PipelineCache()
    with pytest.raises(OSError), cache.use("a", 1, lambda: (_ for _ in ()).throw(OSError())):
        pass
    with cache.use("a", 1, lambda: "A") as (pipe, fresh):
        assert pipe == "A" and fresh


def test_concurrent_users_of_one_model_load_it_once_and_take_turns() -> None:
    cache = PipelineCache()
    loads: list[int] = []
    inside: list[int] = []
    overlap: list[bool] = []

    def load() -> str:
        time.sleep(0.05)
        loads.append(1)
        return "P"

    def worker() -> None:
        with cache.use("m", 1, load):
            inside.append(1)
            overlap.append(len(inside) > 1)
            time.sleep(0.01)
            inside.pop()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == [1] and overlap == [False] * 4
