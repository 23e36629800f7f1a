"""A training run killed by SIGKILL right after checkpoint N resumes from N, not from zero."""

import json
import os
import signal
import subprocess
import sys

import polars as pl
import pytest

pytest.importorskip("trl")  # the `train` extra

from pipelines.training.runs import COMPLETE, KILL_ENV, complete_checkpoints, latest_checkpoint  # noqa: E402

TEXTS = [f"Using the numbers {i}, {i + 3} and {2 * i} we reach {4 * i + 3} by adding all of them." for i in range(24)]


def run(args, env=None):
    return subprocess.run([sys.executable, "-m", "pipelines.training.runs", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


@pytest.mark.timeout(900)  # about a minute on 2 quiet cores; a shared CI box can be 5x slower
def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    texts = tmp_path / "texts.parquet"
    pl.DataFrame({"text": TEXTS}).write_parquet(texts)
    out = tmp_path / "run"
    args = ["pretrain", "--texts", str(texts), "--out", str(out), "--steps", "6", "--save-every", "2"]

    killed = run(args, {KILL_ENV: "4"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert [s for s, _ in complete_checkpoints(out)] == [2, 4]
    assert not (out / "final").exists() and not (out / "run.json").exists()
    before = pl.read_parquet(out / "metrics.parquet")
    assert before["step"].to_list() == [1, 2, 3, 4]
    # a checkpoint caught mid-write (no COMPLETE marker) is never resumed from
    (out / "checkpoint-5").mkdir()
    (out / "checkpoint-5" / "model.safetensors").write_bytes(b"half")
    assert latest_checkpoint(out).name == "checkpoint-4" and not (out / "checkpoint-5").exists()

    resumed = run(args)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout.strip().splitlines()[-1]) == {"resumed_from": 4, "global_step": 6}
    info = json.loads((out / "run.json").read_text())
    assert info["resumed_from"] == 4 and info["global_step"] == 6
    after = pl.read_parquet(out / "metrics.parquet")
    assert after["step"].to_list() == [1, 2, 3, 4, 5, 6]  # steps 1-4 kept from the killed run, 5-6 new
    assert after.filter(pl.col("step") <= 4)["loss"].to_list() == before["loss"].to_list()
    assert (out / "checkpoint-6" / COMPLETE).exists() and (out / "final" / "config.json").exists()
