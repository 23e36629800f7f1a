"""The one ``Definitions`` of the foundry.

Family modules are the modules of this package that set ``FAMILY``; each contributes its assets
and asset checks. Global policy is applied here once: resources (``foundry``, ``io_manager``,
``llm``), code references, one job per family (and per partitions definition inside a family),
``foundry_all``, the automation sensor (off by default) and the Hub refresh schedule (stopped).
"""

from __future__ import annotations

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    load_asset_checks_from_modules,
    load_assets_from_modules,
    schedule,
    with_source_code_references,
)

from assets.families import family_modules
from assets.resources import foundry_resources

MAIN_JOB = "foundry_all"
TRAINING_JOB = "training_job"  # family_jobs makes it: the training family's assets
TRAINING_GROUP = "training"  # minutes of torch even on cpu: its own job, never in foundry_all or `make run`
AUTOMATION_SENSOR = "foundry_automation"
HUB_REFRESH_SCHEDULE = "hub_sources_refresh"
HUB_SOURCES_JOB = "bigmath_source_job"  # the job family_jobs makes for bigmath's source partitions
_INFRA = ("definitions", "families", "resources", "io", "metadata", "llm_resource", "materialize", "engine_resource")


def family_jobs(assets: list, modules: list) -> list:
    """``<family>_job`` per family; a family whose assets span several partitions definitions gets
    one job per definition (a Dagster job runs one partitions definition): ``<family>_job`` for its
    unpartitioned assets, ``<family>_<dimension>_job`` for each partitioned group."""
    jobs = []
    for mod in modules:
        family = mod.FAMILY
        own = {k for a in load_assets_from_modules([mod]) for k in a.keys}
        keys_by_pd: dict[str, list] = {}
        dims: dict[str, str] = {}
        for a in assets:
            for key in a.keys:
                if key not in own:
                    continue
                pd = a.partitions_def
                pk = "" if pd is None else repr(sorted(pd.get_partition_keys()))
                keys_by_pd.setdefault(pk, []).append(key)
                if pd is not None:
                    by = a.specs_by_key[key].metadata.get("partition_by", "partition")
                    dims[pk] = str(getattr(by, "value", by))
        for pk, keys in sorted(keys_by_pd.items()):
            name = f"{family}_job" if not pk or len(keys_by_pd) == 1 else f"{family}_{dims[pk]}_job"
            jobs.append(define_asset_job(
                name, selection=AssetSelection.assets(*keys), tags={"family": family},
                description=f"Materialize the {family} family's "
                            f"{'assets' if not pk else dims[pk] + '-partitioned assets'} on the active profile."))
    return jobs


def default_exclusions() -> AssetSelection:
    """What `foundry_all` and `make run` leave out: the training stage and what needs an LLM endpoint."""
    return AssetSelection.groups(TRAINING_GROUP) | AssetSelection.tag("requires", "llm").downstream()


def build_definitions(profile_name: str | None = None, data_root: str | None = None) -> Definitions:
    modules = family_modules(exclude=_INFRA)
    assets = with_source_code_references(load_assets_from_modules(modules))
    unpartitioned = [k for a in assets if a.partitions_def is None for k in a.keys]
    # assets tagged requires=llm (and what reads them) need an endpoint, the training group minutes of
    # torch: both kept out of the default job and of `make run`
    jobs = family_jobs(assets, modules) + [define_asset_job(
        MAIN_JOB, selection=AssetSelection.assets(*unpartitioned) - default_exclusions(), tags={"family": "all"},
        description="Every unpartitioned asset of every family, in one run, except the training stage and what "
                    "needs an LLM endpoint. Partitioned assets run per partition (Materialize all in the UI "
                    "launches their backfills; `make run` does everything).")]

    @schedule(job_name=HUB_SOURCES_JOB, cron_schedule="0 3 * * 1", default_status=DefaultScheduleStatus.STOPPED,
              description="Weekly: re-read the Hub sources of the full profile (pinned by sources.lock.json). "
                          "Stopped by default: the sample profile reads files in the repository.")
    def hub_sources_refresh(context: ScheduleEvaluationContext):
        from pipelines.bigmath.recipe import BIGMATH_RECIPE

        # one run per Hub source of the full profile; downstream assets follow when automation is on
        return [RunRequest(run_key=f"{context.scheduled_execution_time:%Y%m%d}-{r.spec.name}", partition_key=r.spec.name,
                           tags={"family": "bigmath", "profile": "full"},
                           run_config={"resources": {"foundry": {"config": {"profile_name": "FULL"}}}})
                for r in BIGMATH_RECIPE]
    return Definitions(
        assets=assets,
        asset_checks=load_asset_checks_from_modules(modules),
        jobs=jobs,
        schedules=[hub_sources_refresh],
        sensors=[AutomationConditionSensorDefinition(
            AUTOMATION_SENSOR, target=AssetSelection.all(), default_status=DefaultSensorStatus.STOPPED,
            description="Evaluates the assets' automation conditions (downstream assets follow their upstreams). "
                        "Off by default: the sample data does not change; turn it on for live sources.")],
        resources=foundry_resources(profile_name, data_root),
    )


defs = build_definitions()
