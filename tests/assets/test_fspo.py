"""FSPO assets end to end with the scripted local LLM server (real socket, real openai client)."""

from __future__ import annotations

import polars as pl
import pytest
from dagster import DagsterInstance, materialize

import assets.fspo as fs
from assets.resources import foundry_resources
from pipelines.fspo import reasons
from pipelines.fspo.config import DOMAINS
from tests.pipelines.fspo.scripted import planted, responder
from tests.pipelines.llm.server import ScriptedServer, loopback_only  # noqa: F401

ALL_CHECKS = (fs.CHECK_PERSONAS, fs.CHECK_USERS_UNIQUE, fs.CHECK_QUESTIONS_UNIQUE, fs.CHECK_UNSEEN, fs.CHECK_ENOUGH,
              fs.CHECK_BALANCE, fs.CHECK_CONSISTENCY, fs.CHECK_CONSERVATION, fs.CHECK_GX_PAIRS, fs.CHECK_GX_ROLEPLAY,
              fs.CHECK_LAYOUT, fs.CHECK_LIMIT, fs.CHECK_GX_EPISODES)


@pytest.fixture(autouse=True)
def _guard(loopback_only):
    yield


def _unset_llm(monkeypatch):
    for name in ("FOUNDRY_LLM_BACKEND", "FOUNDRY_LLM_BASE_URL", "OPENAI_BASE_URL", "FOUNDRY_LLM_MODEL",
                 "FOUNDRY_LLM_API_KEY", "OPENAI_API_KEY", "FOUNDRY_LLM_CACHE"):
        monkeypatch.delenv(name, raising=False)


def _read(root, key: str) -> pl.DataFrame:
    path = root / "assets" / key
    if path.is_dir():
        return pl.read_parquet(str(path / "**" / "*.parquet"), hive_partitioning=True)
    return pl.read_parquet(root / "assets" / f"{key}.parquet")


@pytest.fixture(scope="module")
def materialized(tmp_path_factory):
    root = tmp_path_factory.mktemp("fspo")
    mp = pytest.MonkeyPatch()
    _unset_llm(mp)
    with ScriptedServer(responder) as server:
        mp.setenv("FOUNDRY_LLM_BASE_URL", server.url)
        mp.setenv("FOUNDRY_LLM_MODEL", "scripted-model")
        mp.setenv("FOUNDRY_LLM_API_KEY", "sk-test")
        with DagsterInstance.ephemeral() as instance:
            result = materialize(fs.ALL_ASSETS, resources=foundry_resources("sample", root), instance=instance)
    mp.undo()
    return root, result


def test_population_in_all_three_domains_materializes_and_checks_pass(materialized):
    root, result = materialized
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {name: True for name in ALL_CHECKS}
    episodes = _read(root, "fspo_episodes")
    assert set(episodes.get_column("domain").unique()) == set(DOMAINS)
    assert dict(episodes.group_by("domain").agg(pl.col("n_shots").first()).iter_rows()) == {
        "elix": 4, "review": 8, "roleplay": 8}
    assert {"train", "test_questions", "test_personas"} <= set(episodes.get_column("split").unique())
    scored = _read(root, "fspo_pairs_scored")
    assert list(scored.columns[:7]) == ["prompt", "response_x", "response_y", "level_x", "level_y", "scorer_level", "label"]
    roleplay = _read(root, "fspo_pairs_roleplay")
    assert list(roleplay.columns[:5]) == ["x", "yw", "yl", "level", "score_persona"]
    # the scorer prefers the response written for the user: label 0 exactly when x is the user's level
    assert scored.filter((pl.col("label") == 0) != (pl.col("level_x") == pl.col("scorer_level"))).height == 0
    assert roleplay.filter(~pl.col("yw").str.starts_with(pl.lit("For: ") + pl.col("score_persona"))).height == 0


def test_quarantine_holds_exactly_the_planted_inconsistent_labels(materialized):
    root, _ = materialized
    labels, quarantine = _read(root, "fspo_labels"), _read(root, "fspo_quarantine")
    inconsistent = quarantine.filter(pl.col("reason") == reasons.POSITION_SWAP_INCONSISTENT)
    scored = pl.concat([labels.select("pair_id", "user_description", "prompt"),
                        inconsistent.select("pair_id", "user_description", "prompt")])
    expected = {pid for pid, d, q in scored.iter_rows() if planted(d, q)}
    assert expected and set(inconsistent.get_column("pair_id")) == expected
    assert inconsistent.get_column("detail").str.contains("same position").all()
    # the anchor's scorer_match filter: the unmatched pairs are quarantined before any LLM call
    mism = quarantine.filter(pl.col("reason") == reasons.SCORER_MISMATCH)
    assert mism.height == _read(root, "fspo_user_profiles").height
    # every output row records the prompt hashes
    assert labels.select(pl.col("response_prompt_hash").is_null().sum(), pl.col("scorer_prompt_hash").is_null().sum()).row(0) == (0, 0)


def test_without_an_llm_users_and_questions_build_and_llm_assets_fail_fast(tmp_path, monkeypatch):
    _unset_llm(monkeypatch)
    with DagsterInstance.ephemeral() as instance:
        ok = materialize([fs.fspo_users, fs.fspo_questions], resources=foundry_resources("sample", tmp_path),
                         instance=instance)
        assert ok.success
        failed = materialize([fs.fspo_users, fs.fspo_questions, fs.fspo_user_profiles],
                             resources=foundry_resources("sample", tmp_path), instance=instance, raise_on_error=False)
    assert not failed.success
    messages = " ".join(str(e.event_specific_data.error) for e in failed.all_events if e.is_step_failure)
    assert "fspo_user_profiles needs the `llm` resource" in messages and "FOUNDRY_LLM_BASE_URL" in messages
    assert _read(tmp_path, "fspo_users").height == 8 + 5 + 8


def test_broken_split_fails_the_blocking_check(tmp_path, monkeypatch):
    """A train row for an unseen user must fail no_unseen_in_train (the check can fail)."""
    import validators.fspo as rules

    users = pl.DataFrame({"domain": ["roleplay"], "user_id": ["roleplay:p1"], "unseen": [True]})
    questions = pl.DataFrame({"question_id": ["q1"], "unseen": [False]})
    pairs = pl.DataFrame({"domain": ["roleplay"], "split": ["train"], "user_id": ["roleplay:p1"], "question_id": ["q1"]})
    ok, meta = rules.no_unseen_in_train(pairs, users, questions)
    assert not ok and meta["train_rows_with_unseen_user"] == 1


def test_release_builds_and_episodes_load_with_datasets(materialized, tmp_path):
    import datasets

    from pipelines.config import get_profile
    from pipelines.fspo.episodes import render_episode, Shot
    from pipelines.release.build import build_release
    from pipelines.release.manifest import verify_release
    from pipelines.release.registry import REGISTRY

    root, _ = materialized
    spec = REGISTRY["fspo"]
    frames = {name: _read(root, name) for name in spec.assets()}
    profile = get_profile("sample", tmp_path)
    result = build_release(spec, frames, "1.0.0", tmp_path / "out", ledger_dir=tmp_path / "ledger", profile=profile)
    assert verify_release(result.directory).ok
    from validators.release import validate_release

    ok, meta = validate_release(spec, profile, result.directory)
    assert ok, meta["failed"]
    episodes = datasets.load_dataset(str(result.directory), "episodes")
    assert {s: episodes[s].num_rows for s in episodes} == {
        s: frames["fspo_episodes"].filter(pl.col("split") == s).height for s in ("train", "test", "test_questions",
                                                                                  "test_personas")}
    elix = datasets.load_dataset(str(result.directory), "elix")["train"]
    assert set(elix["label"]) == {0, 1}
    # one loaded episode, rebuilt from its pairs by the renderer, is byte-identical
    row = next(r for r in episodes["train"] if r["n_shots"] == 4)
    pairs = _read(root, "fspo_pairs_scored")
    def shot(pid):
        p = pairs.filter(pl.col("pair_id") == pid).row(0, named=True)
        win, lose = (p["response_x"], p["response_y"]) if p["label"] == 0 else (p["response_y"], p["response_x"])
        return Shot(p["prompt"], win, lose)
    assert (row["prompt"], row["chosen"], row["rejected"]) == render_episode(
        [shot(p) for p in row["shot_pair_ids"]], shot(row["query_pair_id"]))
    assert row["prompt"].startswith("# Example 1\n## Question \nExplain how to solve this problem: ")


def test_foundry_all_leaves_out_the_llm_assets_but_keeps_users_and_questions():
    from assets.definitions import MAIN_JOB, build_definitions

    job = build_definitions("sample").resolve_job_def(MAIN_JOB)
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"fspo_users", "fspo_questions"} <= keys
    assert not keys & {"fspo_user_profiles", "fspo_responses", "fspo_labels", "fspo_pairs_scored", "fspo_episodes",
                       "release_fspo"}
    assert "bigmath_kept" in keys  # other families untouched
