"""Materialize the episodes family (MuJoCo -> Minari -> standard -> LeRobot v3 / Minari) into a temp root."""

import duckdb
from dagster import DagsterInstance, materialize

import assets.episodes as ep
from assets.resources import foundry_resources
from tests.assets.lossy_io import lossy_resources

ALL = [ep.episodes_minari_collected, ep.episodes_standardize, ep.episodes_exports, ep.gx_episodes_table,
       ep.gx_episodes_quarantine, ep.episodes_conservation_on_disk]



def test_materialize_episodes_family(tmp_path):
    root = tmp_path / "data"
    with DagsterInstance.ephemeral() as instance:
        result = materialize(ALL, resources=foundry_resources("sample", root), instance=instance)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {name: True for name in (
        ep.CHECK_CONSERVATION, ep.CHECK_SCHEMA, ep.CHECK_FLAGS, ep.CHECK_CONSISTENCY, ep.CHECK_VALUES,
        ep.CHECK_UNIQUE_ID, ep.CHECK_COVERAGE, ep.CHECK_ROUND_TRIP, ep.CHECK_GX_EPISODES, ep.CHECK_GX_QUARANTINE,
        ep.CHECK_ON_DISK)}

    mats = {m.asset_key.to_user_string(): m.materialization.metadata for m in result.get_asset_materialization_events()}
    meta = mats["episodes_table"]
    assert meta["dagster/row_count"].value == 27  # 3 tasks x 3 data sources x 3 episodes
    assert set(meta["stats"].value) == {f"{t}_{s}" for t in ("invertedpendulum", "reacher", "halfcheetah")
                                        for s in ("scripted", "noisy", "play")}
    assert "q99" in meta["stats"].value["reacher_scripted"]["action"]
    assert mats["episodes_steps"]["with_action_ee7"].value > 0
    assert (root / "assets" / "episodes_steps" / "source=reacher_noisy" / "part-0.parquet").exists()
    assert (root / "artifacts" / "episodes" / "exports" / "lerobot" / "reacher_play" / "meta" / "info.json").exists()

    con = duckdb.connect(str(root / "foundry.duckdb"), read_only=True)
    try:
        tasks = con.execute("SELECT count(DISTINCT task), count(DISTINCT data_source) FROM episodes_table").fetchone()
        exports = con.execute("SELECT format, count(*), bool_and(round_trip_equal) FROM episodes_exports "
                              "GROUP BY 1 ORDER BY 1").fetchall()
        bad_steps = con.execute("SELECT count(*) FROM episodes_steps s JOIN episodes_table e USING (episode_id) "
                                "GROUP BY e.episode_id, e.length HAVING count(*) != e.length + 1").fetchall()
    finally:
        con.close()
    assert tasks == (3, 3)
    assert exports == [("lerobot-v3", 9, True), ("minari", 9, True)]
    assert bad_steps == []


def test_a_broken_export_fails_the_blocking_round_trip_check(tmp_path, monkeypatch):
    import pipelines.episodes.writers as writers

    real = writers.write_lerobot_v3

    def lossy(directory, episodes, steps):
        return real(directory, episodes, steps.filter(~(steps["is_last"] & (steps["source"] == "reacher_play"))))

    monkeypatch.setattr(ep, "write_lerobot_v3", lossy)
    root = tmp_path / "data"
    with DagsterInstance.ephemeral() as instance:
        result = materialize(ALL[:3], resources=foundry_resources("sample", root), instance=instance, raise_on_error=False)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks[ep.CHECK_ROUND_TRIP] is False


def test_an_episode_lost_on_write_blocks_the_exports(tmp_path):
    """The episodes table ends one episode short of what standardization kept: the episodes + quarantine files no
    longer add up to the episodes read, the blocking on-disk check fails and the exports do not run."""
    with DagsterInstance.ephemeral() as instance:
        result = materialize([*ALL[:3], ep.episodes_conservation_on_disk],
                             resources=lossy_resources(tmp_path / "d", "episodes_table"),
                             instance=instance, raise_on_error=False)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks[ep.CHECK_CONSERVATION].passed is True  # the frames in memory add up
    assert checks[ep.CHECK_ON_DISK].passed is False
    assert "kept 26 + rejected" in checks[ep.CHECK_ON_DISK].metadata["problems"].value
    assert not result.success
    assert "episodes_exports" not in {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
