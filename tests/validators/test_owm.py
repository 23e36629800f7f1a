"""Each OWM check passes on a good build and fails on a build broken on purpose."""

import polars as pl
import pytest

from pipelines.owm.config import OwmConfig
from pipelines.owm.pipeline import build_corpora
from validators.owm import (check_accounting, check_budget_supply, check_budgets, check_corpora, check_disjoint,
                            check_max_tokens, check_scored, check_test_split)


@pytest.fixture(scope="module")
def build():
    return build_corpora(OwmConfig())


def test_the_default_build_passes_every_check(build):
    assert check_corpora(build, OwmConfig()) == {"budgets": [], "budget_supply": [], "disjoint": [], "max_tokens": [],
                                                 "scored": [], "accounting": []}
    assert check_test_split(build.control, 0.05, "control", slack=0.06) == []


def test_budget_checks_fail(build):
    e, c = build.enriched, build.control
    assert "over the budget" in check_budgets(e, c, 100, 0.05)[0]
    assert any("under the budget" in p for p in check_budgets(e, c, 10**7, 0.05))
    assert any("not matched" in p for p in check_budgets(e, c.head(c.height // 2), build.stats["budget"], 0.05))


def test_a_short_supply_is_found():
    assert check_budget_supply(60_000, 60_000, {"enriched": 70_000, "control": 90_000}, 0.05) == []
    problems = check_budget_supply(1_000, 60_000, {"enriched": 1_000, "control": 90_000}, 0.05)
    assert "the enriched set has only 1000 eligible tokens" in problems[0]
    strict = build_corpora(OwmConfig(rule=OwmConfig().rule.with_(min_behaviors=4)))
    assert check_corpora(strict, OwmConfig())["budget_supply"]  # almost nothing shows all four behaviors


def test_overlap_is_found(build):
    assert "documents in both sets" in check_disjoint(build.enriched, pl.concat([build.control, build.enriched.head(2)]))[0]


def test_unscored_rows_are_found(build):
    broken = build.enriched.with_columns(pl.when(pl.col("row") == pl.col("row").min()).then(None)
                                         .otherwise(pl.col("scorer_version")).alias("scorer_version"))
    assert "without scores or scorer version" in check_scored(broken, "enriched")[0]
    assert "columns missing: score_verification" in check_scored(build.enriched.drop("score_verification"), "enriched")[0]


def test_lost_rows_are_found(build):
    assert "rows read" in check_accounting(build.rows_read, build.enriched, build.control, build.rejected.head(10))[0]
    assert check_accounting(build.rows_read, build.enriched, build.control, build.rejected) == []


def test_lost_rows_on_disk_are_found(build, tmp_path):
    from pipelines.owm.pipeline import write_build
    from validators.owm import check_accounting_on_disk

    write_build(build, tmp_path)
    assert check_accounting_on_disk(tmp_path, build.rows_read) == []
    rejected = pl.read_parquet(tmp_path / "rejected.parquet")
    rejected.head(rejected.height - 1).write_parquet(tmp_path / "rejected.parquet")  # changed after writing
    assert "rows on disk, but" in check_accounting_on_disk(tmp_path, build.rows_read)[0]


def test_long_documents_are_found(build):
    assert "over 100 tokens" in check_max_tokens(build.enriched, 100, "enriched")[0]


def test_a_skewed_split_is_found(build):
    assert "test share" in check_test_split(build.control.with_columns(pl.lit("test").alias("split")), 0.05, "control")[0]
