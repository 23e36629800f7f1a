"""Inputs and single-frame references shared by the engine tests (the Ray clusters are in
tests/ray_clusters.py, a plugin of tests/conftest.py)."""

import pytest

# ------------------------------------------------------------------ shared inputs and references

BIGMATH_TAKE = {"gsm8k": 80, "math500": 130, "aqua": 20, "sat_math": 10, "harp_proofs": 20, "ocw": 272, "mawps": 508}


@pytest.fixture(scope="session")
def bigmath_subset():
    """A slice of the sample sources (every ocw/mawps row: their near duplicates; the first 100
    math500 rows: contaminated), plus planted copies in a later source, and the single-frame
    funnel's result on them: ``(rows, quarantined, config, reference)``."""
    import dataclasses

    import polars as pl

    from pipelines.bigmath.funnel import filter_rows, read_all
    from pipelines.config import get_profile

    config = get_profile("sample").bigmath
    config = dataclasses.replace(config, verify=dataclasses.replace(config.verify, workers=2))
    rows, quarantined, _ = read_all(config)
    rows = pl.concat([part.head(BIGMATH_TAKE.get(part["source"][0], 0))
                      for part in rows.partition_by("source", maintain_order=True)])
    # an exact and a near copy of earlier rows in a later "source": only the cross-shard steps can catch them
    gsm = rows.filter(pl.col("source") == "gsm8k").head(2)
    planted = pl.concat([gsm.head(1), gsm.tail(1).with_columns(pl.col("problem") + " !!")]).with_columns(
        pl.lit("planted").alias("source"), (pl.col("problem_id") + "-copy").alias("problem_id"))
    rows = pl.concat([rows, planted])
    return rows, quarantined, config, filter_rows(rows, quarantined, config)


@pytest.fixture(scope="session")
def countdown_small():
    """Sample Countdown problems, a config searching 6 problems per strategy, and build_traces on them."""
    import dataclasses

    from pipelines.countdown.config import config_for_profile
    from pipelines.countdown.problems import build_problems, generate_candidates
    from pipelines.countdown.traces import build_traces

    cfg = config_for_profile("sample", seed=0)
    problems, _, _ = build_problems(generate_candidates(cfg), cfg)
    cfg = dataclasses.replace(cfg, traces_per_strategy=6)
    return problems, cfg, build_traces(problems, cfg)
