"""Ray clusters for the engine tests: one in-process cluster and one `ray start --head` cluster
per test session, on 127.0.0.1, each with 2 CPUs; stopped (process group killed) at the end.

A Python process talks to one Ray cluster at a time, so each fixture disconnects the other first.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.engine.ray_engine import RayEngine

RAY_BIN = Path(sys.executable).with_name("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _disconnect() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()


@pytest.fixture(scope="session")
def _inprocess_engine():
    engine = RayEngine(num_workers=2)
    yield engine
    engine.close()


@pytest.fixture
def ray_inprocess(_inprocess_engine):
    """A RayEngine that started its own local cluster (no address)."""
    import ray

    if not ray.is_initialized() or not _inprocess_engine._started:
        _disconnect()
        _inprocess_engine.start()
    return _inprocess_engine


@pytest.fixture(scope="session")
def ray_head_address(tmp_path_factory):
    """``ray start --head`` on 127.0.0.1 with 2 CPUs, blocking in its own process group."""
    port = _free_port()
    log = tmp_path_factory.mktemp("ray_head") / "ray_start.log"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.Popen(
        [str(RAY_BIN), "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
         "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"],
        stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a loaded CI machine can take a while to start the GCS
        while True:
            if proc.poll() is not None:
                pytest.fail(f"ray start --head exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"ray head on {address} not listening after 180 s: {log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield address
    finally:
        _disconnect()
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the head and every worker it started: one process group
            # (the GCS goes with the group, and `ray start --block` then waits ~30 s for it to drain
            # the node before giving up: a short grace, then SIGKILL)
            proc.wait(timeout=3)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def ray_head(ray_head_address, _inprocess_engine):
    """A RayEngine joined to the `ray start --head` cluster through its address."""
    import ray

    if _inprocess_engine._started:
        _inprocess_engine.close()
    _disconnect()
    engine = RayEngine(address=ray_head_address, num_workers=2).start()
    yield engine
    engine.close()  # joined, not started: leaves the cluster running for the next test
    ray.shutdown()
