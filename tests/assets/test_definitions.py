"""Load the whole Definitions and compare the graph (keys, deps, groups, checks, partitions, kinds,
owners, tags, automation) plus resources, jobs, schedules and sensors with a snapshot, so an
accidental change to the code location shows up in review. Regenerate deliberately with
``UPDATE_SNAPSHOT=1 pytest tests/assets/test_definitions.py``."""

import json
import os
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetSelection, DagsterInstance, Definitions, materialize

from assets.definitions import MAIN_JOB, build_definitions

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


def graph_snapshot(defs: Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        pd = node.partitions_def
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "checks": sorted(c.name for c in node.check_keys),
            "has_description": bool(node.description),
            "partitions": sorted(pd.get_partition_keys()) if pd is not None else None,
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "tags": {k: v for k, v in sorted(node.tags.items()) if not k.startswith("dagster/kind/")},
            "automation": node.automation_condition.get_label() or type(node.automation_condition).__name__
            if node.automation_condition is not None else None,
            "code_references": "dagster/code_references" in node.metadata,
        }
    repo = defs.get_repository_def()
    return {
        "assets": assets,
        "resources": {name: type(res).__name__ for name, res in sorted((defs.resources or {}).items())},
        "jobs": {j.name: sorted(k.to_user_string() for k in repo.get_job(j.name).asset_layer.selected_asset_keys)
                 for j in sorted(defs.jobs or [], key=lambda j: j.name)},
        "schedules": {s.name: {"job": s.job_name, "cron": s.cron_schedule, "default_status": s.default_status.value}
                      for s in defs.schedules or []},
        "sensors": {s.name: {"default_status": s.default_status.value} for s in defs.sensors or []},
    }


def test_definitions_load_and_match_snapshot(tmp_path):
    defs = build_definitions(data_root=str(tmp_path))
    assert defs.resolve_job_def(MAIN_JOB) is not None
    snap = graph_snapshot(defs)
    assert all(v["has_description"] for v in snap["assets"].values()), "every asset needs a description for the UI"
    assert all(v["owners"] and v["tags"].get("family") and v["kinds"] for v in snap["assets"].values()), \
        "every asset has kinds, owners and a family tag"
    if os.environ.get("UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(snap, indent=2, sort_keys=True) + "\n")
    assert snap == json.loads(SNAPSHOT.read_text())


def test_the_module_level_defs_is_what_dagster_loads():
    import assets.definitions as d

    assert isinstance(d.defs, Definitions)


def test_loading_the_code_location_reads_no_environment(monkeypatch):
    """Profile and data root are resolved at run time: changing the environment after import moves
    where the IO manager writes."""
    import assets.definitions as d

    io = d.defs.resources["io_manager"]
    monkeypatch.setenv("FOUNDRY_DATA_ROOT", "/tmp/foundry-elsewhere")
    assert str(io.base_dir) == "/tmp/foundry-elsewhere/assets"


def test_one_asset_of_a_former_multi_asset_materializes_alone(tmp_path, monkeypatch):
    """`countdown_funnel` alone writes only the funnel, not problems or rejected."""
    import assets.countdown as cd
    from pipelines.countdown import config as cd_config
    from tests.assets.test_countdown import TINY

    monkeypatch.setitem(cd_config.CONFIG_BY_PROFILE, "sample", TINY)
    defs = build_definitions(profile_name="sample", data_root=str(tmp_path))
    with DagsterInstance.ephemeral() as instance:
        result = materialize([cd.countdown_problems], selection=AssetSelection.assets(cd.FUNNEL),
                             resources=defs.resources, instance=instance)
    assert result.success
    written = sorted(p.name for p in (tmp_path / "assets").iterdir())
    assert written == ["countdown_funnel.parquet"]
    assert pl.read_parquet(tmp_path / "assets" / "countdown_funnel.parquet").height > 0


def test_hub_refresh_schedule_asks_one_full_profile_run_per_hub_source(tmp_path):
    """The schedule's run requests are valid for its job: a partition key each, the launchpad's enum."""
    from datetime import datetime, timezone

    from dagster import build_schedule_context, validate_run_config

    from assets.definitions import HUB_REFRESH_SCHEDULE
    from pipelines.bigmath.recipe import BIGMATH_RECIPE

    defs = build_definitions(data_root=str(tmp_path))
    schedule = defs.get_schedule_def(HUB_REFRESH_SCHEDULE)
    ctx = build_schedule_context(scheduled_execution_time=datetime(2026, 1, 5, 3, tzinfo=timezone.utc),
                                 repository_def=defs.get_repository_def())
    requests = schedule.evaluate_tick(ctx).run_requests
    assert sorted(r.partition_key for r in requests) == sorted(r.spec.name for r in BIGMATH_RECIPE)
    job = defs.resolve_job_def(schedule.job_name)
    for r in requests:
        assert validate_run_config(job, r.run_config)["resources"]["foundry"]["config"]["profile_name"] == "full"  # FULL in the launchpad


def test_a_malformed_lock_breaks_only_the_full_profile(monkeypatch, tmp_path):
    """The lock is read when the full profile is asked for, not at import: the sample profile and the
    code location load with a broken lock; the full profile names the file and the fix."""
    import pipelines.config as config
    from pipelines.bigmath.lock import read_lock

    bad = tmp_path / "sources.lock.json"
    bad.write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(config, "read_lock", lambda: read_lock(bad))
    assert config.get_profile("sample", tmp_path).name == "sample"
    assert build_definitions(data_root=str(tmp_path)) is not None
    with pytest.raises(Exception, match="foundry sources lock"):
        config.get_profile("full", tmp_path)
