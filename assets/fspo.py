"""FSPO: synthetic users, their preferences, and few-shot episodes per user (Singh et al.).

Users and question banks build with no LLM. Persona text, responses and labels need the `llm`
resource; those assets (and what depends on them) carry the tag ``requires=llm`` and are kept out
of the default ``foundry_all`` job, so ``make run`` on the sample profile never needs an endpoint.
Run them with ``dagster asset materialize -m assets.definitions --select 'tag:family=fspo'``
once ``FOUNDRY_LLM_BASE_URL`` / ``FOUNDRY_LLM_MODEL`` are set.
"""

import json
from contextlib import contextmanager

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetOut,
    Failure,
    MetadataValue,
    Output,
    asset_check,
    multi_asset,
)

from assets.engine_resource import EngineResource
from assets.llm_resource import LLMResource
from assets.metadata import asset_surface, frame_metadata, markdown_table
from assets.resources import FoundryResource
from pipelines.core.steps import check_funnel_conservation
from pipelines.fspo.config import FspoConfig, config_for_profile
from pipelines.fspo.episodes import build_episodes
from pipelines.fspo.generate import generate_responses, label_pairs, plan_pairs, write_profiles
from pipelines.fspo.pairs import roleplay_pairs, scored_pairs, shots_view
from pipelines.fspo.questions import load_questions
from pipelines.fspo.users import build_users
from pipelines.llm import load_prompt
from validators import fspo as rules
from validators.common import gx_check, to_check_result, unique_values

FAMILY = "fspo"
GROUP = "fspo"
TABLE = {"polars", "parquet"}
LLM_TAG = {"requires": "llm"}  # definitions.py keeps these and their downstream out of foundry_all
PARTITION_BY = {"partition_by": "domain"}  # the IO manager's Hive layout, one directory per domain

USERS = AssetKey("fspo_users")
QUESTIONS = AssetKey("fspo_questions")
PROFILES = AssetKey("fspo_user_profiles")
PROFILES_REJECTED = AssetKey("fspo_user_profiles_rejected")
RESPONSES = AssetKey("fspo_responses")
RESPONSES_REJECTED = AssetKey("fspo_responses_rejected")
LABELS = AssetKey("fspo_labels")
QUARANTINE = AssetKey("fspo_quarantine")
FUNNEL = AssetKey("fspo_funnel")
PAIRS_SCORED = AssetKey("fspo_pairs_scored")
PAIRS_ROLEPLAY = AssetKey("fspo_pairs_roleplay")
EPISODES = AssetKey("fspo_episodes")
EPISODES_REJECTED = AssetKey("fspo_episodes_rejected")

CHECK_PERSONAS = "personas_consistent"
CHECK_USERS_UNIQUE = "unique_user_id"
CHECK_QUESTIONS_UNIQUE = "unique_question_id"
CHECK_UNSEEN = "no_unseen_in_train"
CHECK_ENOUGH = "every_user_has_n_plus_1_preferences"
CHECK_BALANCE = "label_balance"
CHECK_CONSISTENCY = "consistency_rate_reported"
CHECK_CONSERVATION = "row_conservation_over_written_files"
CHECK_GX_PAIRS = "gx_fspo_pairs_suite"
CHECK_GX_ROLEPLAY = "gx_fspo_roleplay_suite"
CHECK_LAYOUT = "episode_layout"
CHECK_LIMIT = "episodes_within_token_limit"
CHECK_GX_EPISODES = "gx_fspo_episodes_suite"


def _out(key: AssetKey, stage: str, description: str, llm: bool = False, partitioned: bool = True) -> AssetOut:
    # the shared surface, without an automation condition (LLM stages are launched on purpose)
    surface = asset_surface(FAMILY, stage, kinds=TABLE, automate=False)
    surface["tags"].update(LLM_TAG if llm else {})
    return AssetOut(key=key, group_name=GROUP, description=description,
                    metadata=PARTITION_BY if partitioned else None, **surface)


def fspo_config(foundry: FoundryResource) -> FspoConfig:
    profile = foundry.profile()
    return config_for_profile(profile.name, seed=profile.seed)


@contextmanager
def _client(llm: LLMResource, foundry: FoundryResource, engine: EngineResource, asset: str):
    """(client, config) for the asset body, or a Failure that names the resource to configure (fail
    fast, before any work or any cluster). On a ``ray`` engine the calls go out as engine batches."""
    cfg = llm.config()
    why = cfg.why_not_configured()
    if why:
        raise Failure(f"{asset} needs the `llm` resource (assets/llm_resource.py: LLMResource): {why}",
                      metadata={"resource": "llm", "why": why})
    with engine.open() as eng, llm.client(foundry.root(), engine=eng) as client:
        yield client, cfg


@multi_asset(
    outs={USERS.path[-1]: _out(USERS, "users", (
        "FSPO users per domain: review's 8 fixed levels (positive/negative x concise/verbose and their combinations), "
        "ELIX's 5 education levels, and role-play personas sampled from structured attributes (age, education, "
        "occupation, interest, style) under consistency constraints. `level` is what episodes group by; `unseen` "
        "users are held out entirely (split test_personas). Built with no LLM; population diversity in metadata."))},
    check_specs=[AssetCheckSpec(CHECK_PERSONAS, asset=USERS, blocking=True,
                                description="no persona breaks a consistency constraint (no 8-year-old with a doctorate)"),
                 AssetCheckSpec(CHECK_USERS_UNIQUE, asset=USERS, blocking=True, description="user_id unique")],
)
def fspo_users(context: AssetExecutionContext, foundry: FoundryResource):
    cfg = fspo_config(foundry)
    users, report = build_users(cfg)
    yield Output(users, output_name=USERS.path[-1], metadata={
        **frame_metadata(users, ["domain", "user_id", "description", "unseen"], rows=10),
        "users_per_domain": MetadataValue.json(dict(sorted(users.group_by("domain").len().iter_rows()))),
        "persona_draws_refused": MetadataValue.int(report["persona_draws_refused"]),
        "diversity": MetadataValue.json(report["diversity"]),
        "seed": MetadataValue.int(cfg.seed)})
    yield to_check_result(CHECK_PERSONAS, rules.personas_consistent(users), asset_key=USERS)
    yield to_check_result(CHECK_USERS_UNIQUE, unique_values(users, "user_id"), asset_key=USERS)


@multi_asset(
    outs={QUESTIONS.path[-1]: _out(QUESTIONS, "questions", (
        "FSPO question banks (data/sample/fspo/questions_<domain>.jsonl, de-duplicated on normalized text): review = "
        "public-domain silent films, ELIX = MATH-500 problems to explain, role-play = open-ended everyday questions. "
        "`unseen` questions form split test_questions and never reach train."))},
    check_specs=[AssetCheckSpec(CHECK_QUESTIONS_UNIQUE, asset=QUESTIONS, blocking=True,
                                description="question_id (hash of domain + normalized text) unique")],
)
def fspo_questions(context: AssetExecutionContext, foundry: FoundryResource):
    questions = load_questions(fspo_config(foundry))
    yield Output(questions, output_name=QUESTIONS.path[-1], metadata={
        **frame_metadata(questions, ["domain", "question_id", "question", "unseen"], rows=10),
        "questions_per_domain": MetadataValue.json(dict(sorted(questions.group_by("domain").len().iter_rows())))})
    yield to_check_result(CHECK_QUESTIONS_UNIQUE, unique_values(questions, "question_id"), asset_key=QUESTIONS)


@multi_asset(
    outs={PROFILES.path[-1]: _out(PROFILES, "users", (
        "Users with the description the scorer sees: fixed levels keep their fixed sentence; role-play personas get "
        "free text written by the LLM from their attributes (prompt fspo/persona; model and prompt hash per row)."),
        llm=True),
        PROFILES_REJECTED.path[-1]: _out(PROFILES_REJECTED, "users", (
            "Personas whose description the LLM could not write, with `reason` (llm_*) and `detail`."), llm=True)},
    ins={"fspo_users": AssetIn(USERS)}, pool="llm",
)
def fspo_user_profiles(context: AssetExecutionContext, foundry: FoundryResource, llm: LLMResource,
                       engine: EngineResource, fspo_users: pl.DataFrame):
    with _client(llm, foundry, engine, "fspo_user_profiles") as (client, cfg):
        kept, rejected = write_profiles(fspo_users, client, load_prompt("fspo/persona"))
        stats = client.stats.as_dict()
    yield Output(kept, output_name=PROFILES.path[-1], metadata={
        **frame_metadata(kept, ["user_id", "description_source", "description"]),
        "llm_config": MetadataValue.json(cfg.public()), "llm_stats": MetadataValue.json(stats)})
    yield Output(rejected, output_name=PROFILES_REJECTED.path[-1], metadata=frame_metadata(rejected))


@multi_asset(
    outs={RESPONSES.path[-1]: _out(RESPONSES, "responses", (
        "View-conditioned responses: one per (question, view) of a domain, where a view is a review level, an ELIX "
        "level or a role-play persona's description (prompt fspo/respond; model and prompt hash per row)."), llm=True),
        RESPONSES_REJECTED.path[-1]: _out(RESPONSES_REJECTED, "responses", (
            "Responses the LLM could not produce, with `reason` (llm_*) and `detail`."), llm=True)},
    ins={"fspo_user_profiles": AssetIn(PROFILES), "fspo_questions": AssetIn(QUESTIONS)}, pool="llm",
)
def fspo_responses(context: AssetExecutionContext, foundry: FoundryResource, llm: LLMResource,
                   engine: EngineResource, fspo_user_profiles: pl.DataFrame, fspo_questions: pl.DataFrame):
    with _client(llm, foundry, engine, "fspo_responses") as (client, cfg):
        kept, rejected = generate_responses(fspo_user_profiles, fspo_questions, client, load_prompt("fspo/respond"))
        stats = client.stats.as_dict()
    yield Output(kept, output_name=RESPONSES.path[-1], metadata={
        **frame_metadata(kept, ["domain", "view", "question", "response"]),
        "llm_config": MetadataValue.json(cfg.public()), "llm_stats": MetadataValue.json(stats)})
    yield Output(rejected, output_name=RESPONSES_REJECTED.path[-1], metadata=frame_metadata(rejected))


@multi_asset(
    outs={LABELS.path[-1]: _out(LABELS, "labels", (
        "Labelled pairs of every domain in one table: the user's own-view response against another view's, order "
        "by a seeded coin, `label` 0 = response_x preferred, 1 = response_y. Kept only when the scorer (who sees "
        "the user's description) picked the same response with the order swapped, and, for concise/verbose users "
        "whose responses clearly differ in length, when a word-count rule agrees."), llm=True),
        QUARANTINE.path[-1]: _out(QUARANTINE, "labels", (
            "Pairs not labelled, with every input column plus `reason` (scorer_mismatch, missing_response, "
            "position_swap_inconsistent, length_rule_disagrees, scorer_failed), `step` and `detail`."), llm=True),
        FUNNEL.path[-1]: _out(FUNNEL, "labels", (
            "The labelling funnel: step, rows in, kept, rejected, count per reason (pipelines/core/steps.py)."),
            llm=True, partitioned=False)},
    ins={"fspo_user_profiles": AssetIn(PROFILES), "fspo_questions": AssetIn(QUESTIONS),
         "fspo_responses": AssetIn(RESPONSES)},
    check_specs=[AssetCheckSpec(CHECK_BALANCE, asset=LABELS, blocking=True,
                                description="x preferred about half the time in every domain"),
                 AssetCheckSpec(CHECK_CONSISTENCY, asset=LABELS,
                                description="share of scored pairs consistent under the position swap (reported)")],
    pool="llm",
)
def fspo_labels(context: AssetExecutionContext, foundry: FoundryResource, llm: LLMResource, engine: EngineResource,
                fspo_user_profiles: pl.DataFrame, fspo_questions: pl.DataFrame, fspo_responses: pl.DataFrame):
    fcfg = fspo_config(foundry)
    with _client(llm, foundry, engine, "fspo_labels") as (client, cfg):
        pairs = plan_pairs(fspo_user_profiles, fspo_questions, fspo_responses, fcfg)
        kept, rejected, funnel = label_pairs(pairs, client, load_prompt("fspo/score"), fcfg)
        stats = client.stats.as_dict()
    funnel_frame = funnel.to_frame()
    yield Output(kept, output_name=LABELS.path[-1], metadata={
        **frame_metadata(kept, ["domain", "scorer_level", "level_x", "level_y", "label", "split"]),
        "pairs_planned": MetadataValue.int(pairs.height),
        "llm_config": MetadataValue.json(cfg.public()), "llm_stats": MetadataValue.json(stats)})
    yield Output(rejected, output_name=QUARANTINE.path[-1], metadata={
        **frame_metadata(rejected, ["domain", "user_id", "reason", "detail"]),
        "rejected_by_reason": MetadataValue.json(funnel.rejected_by_reason())})
    yield Output(funnel_frame, output_name=FUNNEL.path[-1], metadata={
        "dagster/row_count": MetadataValue.int(funnel_frame.height),
        "funnel": MetadataValue.md(markdown_table(funnel_frame, rows=50, width=40))})
    yield to_check_result(CHECK_BALANCE, rules.label_balance(kept), asset_key=LABELS)
    yield to_check_result(CHECK_CONSISTENCY, rules.consistency_rate(kept, rejected), asset_key=LABELS)


@asset_check(asset=FUNNEL, name=CHECK_CONSERVATION, blocking=True,
             additional_ins={"fspo_labels": AssetIn(LABELS), "fspo_quarantine": AssetIn(QUARANTINE)},
             description="Read back from the written files: every planned pair is labelled or quarantined exactly "
                         "once, and the funnel's steps chain (each step's input is the previous step's kept).")
def fspo_row_conservation(fspo_funnel: pl.DataFrame, fspo_labels: pl.DataFrame,
                          fspo_quarantine: pl.DataFrame) -> AssetCheckResult:
    problems = check_funnel_conservation(fspo_funnel)
    planned = int(fspo_funnel.get_column("rows_in")[0]) if fspo_funnel.height else 0
    if fspo_labels.height + fspo_quarantine.height != planned:
        problems.append(f"files: {fspo_labels.height} labelled + {fspo_quarantine.height} quarantined != {planned} planned")
    ids = pl.concat([fspo_labels.select("pair_id"), fspo_quarantine.select("pair_id")])
    if ids.height != ids.get_column("pair_id").n_unique():
        problems.append("a pair_id is both labelled and quarantined, or written twice")
    return AssetCheckResult(passed=not problems, metadata={
        "planned": planned, "labelled": fspo_labels.height, "quarantined": fspo_quarantine.height,
        "problems": MetadataValue.text("\n".join(problems) or "none")})


@multi_asset(
    outs={PAIRS_SCORED.path[-1]: _out(PAIRS_SCORED, "pairs", (
        "ELIX and review preferences in the anchor's schema: prompt, response_x, response_y, level_x, level_y, "
        "scorer_level, label (0 = the user scorer_level prefers response_x, 1 = response_y), then domain, split "
        "(train / test / test_questions / test_personas), ids and model/prompt provenance."), llm=True),
        PAIRS_ROLEPLAY.path[-1]: _out(PAIRS_ROLEPLAY, "pairs", (
            "Role-play preferences in the anchor's schema: x (question), yw (preferred), yl (dispreferred), level "
            "(the persona id), score_persona (the persona description the scorer saw), then split, ids, "
            "provenance."), llm=True)},
    ins={"fspo_labels": AssetIn(LABELS), "fspo_user_profiles": AssetIn(PROFILES), "fspo_questions": AssetIn(QUESTIONS)},
    check_specs=[AssetCheckSpec(CHECK_UNSEEN, asset=PAIRS_SCORED, blocking=True,
                                description="no unseen user or unseen question in train"),
                 AssetCheckSpec(CHECK_ENOUGH, asset=PAIRS_SCORED, blocking=True,
                                description="every user has at least N+1 preferences in its home split"),
                 AssetCheckSpec(CHECK_GX_PAIRS, asset=PAIRS_SCORED, blocking=True,
                                description="GX suite on the ELIX/review schema"),
                 AssetCheckSpec(CHECK_GX_ROLEPLAY, asset=PAIRS_ROLEPLAY, blocking=True,
                                description="GX suite on the role-play schema")],
)
def fspo_pairs(context: AssetExecutionContext, foundry: FoundryResource, fspo_labels: pl.DataFrame,
               fspo_user_profiles: pl.DataFrame, fspo_questions: pl.DataFrame):
    cfg = fspo_config(foundry)
    scored, roleplay = scored_pairs(fspo_labels), roleplay_pairs(fspo_labels)
    yield Output(scored, output_name=PAIRS_SCORED.path[-1], metadata={
        **frame_metadata(scored, ["prompt", "level_x", "level_y", "scorer_level", "label"]),
        "rows_per_split": MetadataValue.json(dict(sorted(scored.group_by("split").len().iter_rows())))})
    yield Output(roleplay, output_name=PAIRS_ROLEPLAY.path[-1], metadata={
        **frame_metadata(roleplay, ["x", "yw", "yl", "level"]),
        "rows_per_split": MetadataValue.json(dict(sorted(roleplay.group_by("split").len().iter_rows())))})
    keys = ["domain", "split", "user_id", "question_id"]
    both = pl.concat([scored.select(keys), roleplay.select(keys)])
    yield to_check_result(CHECK_UNSEEN, rules.no_unseen_in_train(both, fspo_user_profiles, fspo_questions),
                          asset_key=PAIRS_SCORED)
    yield to_check_result(CHECK_ENOUGH, rules.enough_preferences(both, fspo_user_profiles, cfg), asset_key=PAIRS_SCORED)
    result = gx_check(scored, "fspo_pairs_scored", rules.pairs_expectations(), asset_key=PAIRS_SCORED)
    yield AssetCheckResult(check_name=CHECK_GX_PAIRS, asset_key=PAIRS_SCORED, passed=result.passed, metadata=result.metadata)
    result = gx_check(roleplay, "fspo_pairs_roleplay", rules.roleplay_expectations(), asset_key=PAIRS_ROLEPLAY)
    yield AssetCheckResult(check_name=CHECK_GX_ROLEPLAY, asset_key=PAIRS_ROLEPLAY, passed=result.passed,
                           metadata=result.metadata)


@multi_asset(
    outs={EPISODES.path[-1]: _out(EPISODES, "episodes", (
        "Few-shot episodes per user: N shots of one user's preferences (`# Example i` / `## Question` / "
        "`## Preferred Response` / `## Dispreferred Response`), then `# Task` with the query question; `chosen` / "
        "`rejected` are the query's preferred and dispreferred responses. N = 4 for ELIX, 8 for review and "
        "role-play; windows of exactly N+1 pairs within one split, reshuffled passes; `n_tokens` is the GPT-2 "
        "token count of prompt + the longer answer."), llm=True),
        EPISODES_REJECTED.path[-1]: _out(EPISODES_REJECTED, "episodes", (
            "Episodes dropped: episode_too_long (over max_episode_tokens, default 8,192) or duplicate_episode, "
            "with `detail`."), llm=True)},
    ins={"fspo_pairs_scored": AssetIn(PAIRS_SCORED), "fspo_pairs_roleplay": AssetIn(PAIRS_ROLEPLAY),
         "fspo_user_profiles": AssetIn(PROFILES)},
    check_specs=[AssetCheckSpec(CHECK_LAYOUT, asset=EPISODES, blocking=True,
                                description="N examples in order, one task, the anchor's headers"),
                 AssetCheckSpec(CHECK_LIMIT, asset=EPISODES, blocking=True,
                                description="no kept episode over the token limit"),
                 AssetCheckSpec(CHECK_GX_EPISODES, asset=EPISODES, blocking=True, description="GX suite on episodes")],
)
def fspo_episodes(context: AssetExecutionContext, foundry: FoundryResource, fspo_pairs_scored: pl.DataFrame,
                  fspo_pairs_roleplay: pl.DataFrame, fspo_user_profiles: pl.DataFrame):
    cfg = fspo_config(foundry)
    descriptions = dict(fspo_user_profiles.select("user_id", "description").iter_rows())
    kept, rejected, funnel, report = build_episodes(shots_view(fspo_pairs_scored, fspo_pairs_roleplay), cfg, descriptions)
    per = kept.group_by("domain", "split").len().sort("domain", "split")
    yield Output(kept, output_name=EPISODES.path[-1], metadata={
        **frame_metadata(kept, ["domain", "split", "user_id", "n_shots", "n_tokens"]),
        "episodes_per_domain_split": MetadataValue.md(markdown_table(per, rows=50)),
        "groups_too_small": MetadataValue.json(report["groups_too_small"]),
        "funnel": MetadataValue.md(markdown_table(funnel.to_frame(), rows=20)),
        "shots": MetadataValue.json(cfg.shots), "max_episode_tokens": MetadataValue.int(cfg.max_episode_tokens)})
    yield Output(rejected, output_name=EPISODES_REJECTED.path[-1], metadata={
        **frame_metadata(rejected, ["domain", "user_id", "reason", "detail"]),
        "rejected_by_reason": MetadataValue.json(funnel.rejected_by_reason())})
    yield to_check_result(CHECK_LAYOUT, rules.episode_layout(kept), asset_key=EPISODES)
    yield to_check_result(CHECK_LIMIT, rules.episodes_within_limit(kept, cfg.max_episode_tokens), asset_key=EPISODES)
    result = gx_check(kept, "fspo_episodes", rules.episode_expectations(cfg.max_episode_tokens), asset_key=EPISODES)
    yield AssetCheckResult(check_name=CHECK_GX_EPISODES, asset_key=EPISODES, passed=result.passed, metadata=result.metadata)


ALL_ASSETS = [fspo_users, fspo_questions, fspo_user_profiles, fspo_responses, fspo_labels, fspo_pairs, fspo_episodes,
              fspo_row_conservation]
