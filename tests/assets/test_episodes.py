"""Materialize the episodes family (MuJoCo -> Minari -> standard -> LeRobot v3 / Minari) into a temp root."""

import duckdb
from dagster import DagsterInstance

import assets.episodes as ep
from assets.materialize import materialize_all
from assets.resources import foundry_resources
from tests.assets.lossy_io import lossy_resources

ALL = [ep.episodes_minari_collected, ep.episodes_standardize, ep.episodes_exports, ep.episodes_conservation_on_disk]



def test_materialize_episodes_family(tmp_path):
    root = tmp_path / "data"
    with DagsterInstance.ephemeral() as instance:
        results = materialize_all(ALL, foundry_resources("sample", root), instance)  # every source partition
    assert all(r.success for r in results) and len(results) == 2 + len(ep.SOURCE_PARTITIONS.get_partition_keys())
    checks: dict = {}
    for r in results:
        for e in r.get_asset_check_evaluations():
            checks[e.check_name] = checks.get(e.check_name, True) and e.passed
    assert checks == {name: True for name in (
        ep.CHECK_CONSERVATION, ep.CHECK_SCHEMA, ep.CHECK_FLAGS, ep.CHECK_CONSISTENCY, ep.CHECK_VALUES,
        ep.CHECK_UNIQUE_ID, ep.CHECK_COVERAGE, ep.CHECK_ROUND_TRIP, ep.CHECK_GX_EPISODES, ep.CHECK_GX_QUARANTINE,
        ep.CHECK_ON_DISK)}

    mats = {(m.asset_key.to_user_string(), m.partition): m.materialization.metadata
            for r in results for m in r.get_asset_materialization_events()}
    tables = {p: meta for (k, p), meta in mats.items() if k == "episodes_table"}
    assert sum(meta["dagster/row_count"].value for meta in tables.values()) == 27  # 3 tasks x 3 data sources x 3
    assert set(tables) == {f"{t}_{s}" for t in ("invertedpendulum", "reacher", "halfcheetah")
                           for s in ("scripted", "noisy", "play")}
    assert all(set(meta["stats"].value) == {p} for p, meta in tables.items())
    assert "q99" in tables["reacher_scripted"]["stats"].value["reacher_scripted"]["action"]
    assert mats[("episodes_steps", "reacher_scripted")]["with_action_ee7"].value > 0
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
        result = materialize_all(ALL, foundry_resources("sample", root), instance, raise_on_error=False)[-1]
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks[ep.CHECK_ROUND_TRIP] is False


def test_an_episode_lost_on_write_blocks_the_exports(tmp_path):
    """An episodes-table partition ends one episode short of what standardization kept: the episodes + quarantine
    files no longer add up to the episodes read, the blocking on-disk check fails and the exports do not run."""
    with DagsterInstance.ephemeral() as instance:
        results = materialize_all(ALL, lossy_resources(tmp_path / "d", "episodes_table"), instance,
                                  raise_on_error=False)
    evaluations = [e for r in results for e in r.get_asset_check_evaluations()]
    in_memory = [e.passed for e in evaluations if e.check_name == ep.CHECK_CONSERVATION]
    on_disk = [e for e in evaluations if e.check_name == ep.CHECK_ON_DISK]
    assert in_memory and all(in_memory)  # the frames in memory add up
    assert on_disk and not any(e.passed for e in on_disk)
    assert "rows on disk, but" in on_disk[0].metadata["problems"].value
    assert not all(r.success for r in results)
    materialized = {m.asset_key.to_user_string() for r in results for m in r.get_asset_materialization_events()}
    assert "episodes_exports" not in materialized
