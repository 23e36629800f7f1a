"""The GPU smoke script's code path, on CPU with the tiny model (one step per stage)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")  # the `train` extra

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.timeout(900)  # about a minute on 2 quiet cores; a shared CI box can be 5x slower
def test_gpu_smoke_runs_every_stage_on_cpu(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "gpu_smoke.py"), "--device", "cpu", "--tiny",
                           "--steps", "1", "--out", str(tmp_path / "smoke")],
                          capture_output=True, text=True, timeout=800, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{\"stage\"")]
    assert [r["stage"] for r in rows] == ["pretrain", "priming", "grpo_countdown", "grpo_bigmath", "evaluation"]
    assert all(r["steps"] == 1 for r in rows[:4])
    assert all(r["tokens"] > 0 and r["tokens_per_s"] > 0 for r in rows[:4])
    assert all(r["peak_gpu_mem_gib"] is None for r in rows)  # no GPU: reported as n/a
    assert "peak GPU GiB" in proc.stdout and "evaluation:" in proc.stdout
