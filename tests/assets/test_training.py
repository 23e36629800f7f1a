"""Materialize the training stage on the cpu profile into a temp data root, upstream data seeded.

The upstream assets (Countdown problems, traces, priming sets; the Big-Math kept set) are built
at a tiny size with the families' own pipeline functions and written where the IO manager reads
them, so only the training assets run here: each trains a few steps of a tiny Llama on 2 cores.
"""

import json

import polars as pl
import pytest
from dagster import DagsterInstance, materialize

pytest.importorskip("trl")  # the `train` extra

import assets.bigmath as bm  # noqa: E402
import assets.countdown as cd  # noqa: E402
import assets.training as tr  # noqa: E402
from assets.resources import foundry_resources  # noqa: E402
from pipelines.bigmath.schema import SCHEMA  # noqa: E402
from pipelines.core.io import atomic_write_parquet, write_partitioned_parquet  # noqa: E402
from pipelines.countdown import config as cd_config  # noqa: E402
from pipelines.countdown.priming import build_priming_sets  # noqa: E402
from pipelines.countdown.problems import build_problems, generate_candidates  # noqa: E402
from pipelines.countdown.traces import build_traces  # noqa: E402

TINY = cd_config.CountdownConfig(n_problems=160, traces_per_strategy=2, node_budget=100, mcts_iterations=20,
                                 priming_rows=64)
MATH = [("What is 2 + 3?", "5"), ("Compute 7 * 6.", "42"), ("What is 10 - 4?", "6"), ("Half of 18?", "9"),
        ("What is 3^2?", "9"), ("What is 100 / 4?", "25"), ("Sum of 1, 2 and 3?", "6"), ("What is 8 + 8?", "16")]


def seed_upstream(root):
    base = root / "assets"
    candidates = generate_candidates(TINY)
    problems, _, _ = build_problems(candidates, TINY)
    atomic_write_parquet(problems, base / "countdown_problems.parquet")
    traces = build_traces(problems.filter(pl.col("split") == "train").head(8), TINY)
    write_partitioned_parquet(traces, base / "countdown_search_traces", "strategy")
    priming, _ = build_priming_sets(problems, TINY, sets=("empty_thinking",))
    write_partitioned_parquet(priming, base / "countdown_priming_sets", "set_name")
    kept = pl.DataFrame([{"problem_id": f"m{i}", "problem": q, "answer": a, "source": "toy", "solution": None,
                          "options": [], "answer_origin": "column", "source_id": str(i)} for i, (q, a) in enumerate(MATH)],
                        schema={k: SCHEMA[k] for k in ("problem_id", "problem", "answer", "source", "solution", "options",
                                                       "answer_origin", "source_id")})
    write_partitioned_parquet(kept, base / "bigmath_kept", "source")
    return problems


@pytest.mark.timeout(900)  # about a minute on 2 quiet cores; a shared CI box can be 5x slower
def test_training_stage_runs_on_cpu(tmp_path):
    root = tmp_path / "data"
    seed_upstream(root)
    every = [bm.bigmath_sources, cd.countdown_problems, cd.countdown_search_traces, cd.countdown_priming_sets, bm.bigmath_funnel,
             tr.training_exports, tr.training_pretrain, tr.training_priming_sft, tr.training_grpo_countdown,
             tr.training_grpo_bigmath, tr.training_evaluation]
    with DagsterInstance.ephemeral() as instance:
        result = materialize(every, selection=list(tr.TRAINING_ASSETS), resources=foundry_resources("sample", root),
                             instance=instance)
    assert result.success
    mats = {m.asset_key.to_user_string(): m.materialization.metadata for m in result.get_asset_materialization_events()}
    assert set(mats) == {k.to_user_string() for k in tr.TRAINING_ASSETS}

    manifest = result.output_for_node("training_exports")
    assert {"countdown_verl_train", "countdown_verl_test", "bigmath_verl_train", "priming_empty_thinking",
            "pretrain_corpus"} <= set(manifest["name"].to_list())
    assert manifest["content_sha256"].str.len_chars().min() == 64

    pre = result.output_for_node("training_pretrain")
    losses = pre.sort("step")["loss"].to_list()
    assert len(losses) >= 4 and losses[-1] < losses[0]  # the pretraining loss falls
    assert mats["training_pretrain"]["consumed"].value["pretrain_corpus"]["dataset"] == "countdown_search_traces"

    grpo = result.output_for_node("training_grpo_countdown")
    assert grpo["reward"].drop_nulls().len() >= 1            # the reward ran on real model outputs...
    assert grpo["sample_completion"].drop_nulls().str.len_chars().max() > 0
    assert mats["training_grpo_countdown"]["weight_change_l2"].value > 0  # ...and the policy moved
    run = json.loads((root / "training" / "runs" / "grpo_countdown" / "run.json").read_text())
    assert run["consumed"]["countdown_verl_train"]["dataset"] == "countdown_problems"

    bmg = result.output_for_node("training_grpo_bigmath")
    assert bmg["reward"].drop_nulls().len() >= 1              # math-verify scored real completions

    ev = result.output_for_node("training_evaluation")
    assert ev.height > 0 and set(ev["split"].unique().to_list()) == {"test_heldout"}
    assert {"verification", "backtracking", "subgoal_setting", "backward_chaining", "correct"} <= set(ev.columns)
    assert 0.0 <= mats["training_evaluation"]["accuracy"].value <= 1.0
    assert "metrics_plot" in mats["training_grpo_countdown"]
