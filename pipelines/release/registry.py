"""Every published dataset, declared. Adding a family is one ``DatasetSpec`` and one ``register``.

A spec names the family's asset tables by warehouse name, so this module never imports Dagster;
family code is imported lazily (inside ``sources``/``produce``), so a family that is not installed
yet does not break the others.
"""

from __future__ import annotations

from dataclasses import replace

from pipelines.release.spec import ConfigSpec, DatasetSpec, SourceInfo, SplitSpec

REGISTRY: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    if spec.name in REGISTRY and REGISTRY[spec.name] != spec:
        raise ValueError(f"dataset {spec.name!r} is registered twice with different specs")
    REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> DatasetSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no release spec named {name!r}; known: {', '.join(sorted(REGISTRY)) or 'none'} "
                       f"(declare one in pipelines/release/registry.py)") from None


# ------------------------------------------------------------------ citations (BibTeX)

CITATIONS: dict[str, str] = {
    "bigmath": """@article{albalak2025bigmath,
  title   = {Big-Math: A Large-Scale, High-Quality Math Dataset for Reinforcement Learning in Language Models},
  author  = {Albalak, Alon and Phung, Duy and Lile, Nathan and Rafailov, Rafael and Gandhi, Kanishk and Castricato, Louis and Singh, Anikait and Blagden, Chase and Xiang, Violet and Mahan, Dakota and Haber, Nick},
  journal = {arXiv preprint arXiv:2502.17387},
  year    = {2025}
}""",
    "gsm8k": """@article{cobbe2021gsm8k,
  title   = {Training Verifiers to Solve Math Word Problems},
  author  = {Cobbe, Karl and Kosaraju, Vineet and Bavarian, Mohammad and Chen, Mark and Jun, Heewoo and Kaiser, Lukasz and Plappert, Matthias and Tworek, Jerry and Hilton, Jacob and Nakano, Reiichiro and Hesse, Christopher and Schulman, John},
  journal = {arXiv preprint arXiv:2110.14168},
  year    = {2021}
}""",
    "math": """@article{hendrycks2021math,
  title   = {Measuring Mathematical Problem Solving With the MATH Dataset},
  author  = {Hendrycks, Dan and Burns, Collin and Kadavath, Saurav and Arora, Akul and Basart, Steven and Tang, Eric and Song, Dawn and Steinhardt, Jacob},
  journal = {arXiv preprint arXiv:2103.03874},
  year    = {2021}
}""",
    "prm800k": """@article{lightman2023verify,
  title   = {Let's Verify Step by Step},
  author  = {Lightman, Hunter and Kosaraju, Vineet and Burda, Yura and Edwards, Harri and Baker, Bowen and Lee, Teddy and Leike, Jan and Schulman, John and Sutskever, Ilya and Cobbe, Karl},
  journal = {arXiv preprint arXiv:2305.20050},
  year    = {2023}
}""",
    "aqua": """@inproceedings{ling2017aqua,
  title     = {Program Induction by Rationale Generation: Learning to Solve and Explain Algebraic Word Problems},
  author    = {Ling, Wang and Yogatama, Dani and Dyer, Chris and Blunsom, Phil},
  booktitle = {Proceedings of the 55th Annual Meeting of the Association for Computational Linguistics},
  year      = {2017}
}""",
    "mawps": """@inproceedings{koncel2016mawps,
  title     = {MAWPS: A Math Word Problem Repository},
  author    = {Koncel-Kedziorski, Rik and Roy, Subhro and Amini, Aida and Kushman, Nate and Hajishirzi, Hannaneh},
  booktitle = {Proceedings of NAACL-HLT 2016},
  year      = {2016}
}""",
    "minerva": """@article{lewkowycz2022minerva,
  title   = {Solving Quantitative Reasoning Problems with Language Models},
  author  = {Lewkowycz, Aitor and Andreassen, Anders and Dohan, David and Dyer, Ethan and Michalewski, Henryk and Ramasesh, Vinay and Slone, Ambrose and Anil, Cem and Schlag, Imanol and Gutman-Solo, Theo and Wu, Yuhuai and Neyshabur, Behnam and Gur-Ari, Guy and Misra, Vedant},
  journal = {arXiv preprint arXiv:2206.14858},
  year    = {2022}
}""",
    "tora": """@article{gou2023tora,
  title   = {ToRA: A Tool-Integrated Reasoning Agent for Mathematical Problem Solving},
  author  = {Gou, Zhibin and Shao, Zhihong and Gong, Yeyun and Shen, Yelong and Yang, Yujiu and Huang, Minlie and Duan, Nan and Chen, Weizhu},
  journal = {arXiv preprint arXiv:2309.17452},
  year    = {2023}
}""",
    "harp": """@article{yue2024harp,
  title   = {HARP: A challenging human-annotated math reasoning benchmark},
  author  = {Yue, Albert S. and Madaan, Lovish and Moskovitz, Ted and Strouse, DJ and Singh, Aaditya K.},
  journal = {arXiv preprint arXiv:2412.08819},
  year    = {2024}
}""",
    "omni_math": """@article{gao2024omnimath,
  title   = {Omni-MATH: A Universal Olympiad Level Mathematic Benchmark For Large Language Models},
  author  = {Gao, Bofei and others},
  journal = {arXiv preprint arXiv:2410.07985},
  year    = {2024}
}""",
}

# ------------------------------------------------------------------ Big-Math

# source name -> citation keys (the harness sources cite the harness and the original work)
BIGMATH_SOURCE_CITATIONS: dict[str, tuple[str, ...]] = {
    "gsm8k": ("gsm8k",), "math500": ("math", "prm800k"), "aqua": ("aqua",), "aqua_rat": ("aqua",),
    "sat_math": ("tora",), "ocw": ("minerva", "tora"), "mawps": ("mawps", "tora"), "harp_proofs": ("harp",),
    "omni_math": ("omni_math",),
}


def _bigmath_sources(profile) -> list[SourceInfo]:
    return [SourceInfo(s.name, s.license, s.origin or s.hf_id or "", BIGMATH_SOURCE_CITATIONS.get(s.name, ()))
            for s in profile.bigmath.sources]


def _bigmath_produce(profile) -> dict:
    from pipelines.bigmath.funnel import run_funnel

    result = run_funnel(profile.bigmath)
    return {"bigmath_kept": result.kept, "bigmath_funnel": result.funnel_frame, "bigmath_rejected": result.rejected}


def _bigmath_columns() -> tuple[str, ...]:
    from pipelines.bigmath.schema import SCHEMA

    return tuple(SCHEMA)


BIGMATH = register(DatasetSpec(
    name="bigmath",
    pretty_name="Big-Math (foundry rebuild)",
    description="Math problems with one verifiable, closed-form answer, rebuilt with the Big-Math funnel: "
                "decontamination, rule (and optional model) signals against multiple choice, proofs, yes/no, "
                "true/false, multi-part and figure problems, language id, answer parsing with math-verify, "
                "exact and MinHash near dedup.",
    configs=(ConfigSpec("default", "bigmath_kept", (SplitSpec("train"),), _bigmath_columns(), default=True),),
    id_column="problem_id",
    version="1.0.0",
    source_column="source",
    revision_column="source_revision",
    sources=_bigmath_sources,
    citations=CITATIONS,
    cite_as=("bigmath",),
    task_categories=("question-answering", "text-generation"),
    tags=("math", "reasoning", "rlvr", "verifiable-answers"),
    stats={"funnel": "bigmath_funnel", "rejected": "bigmath_rejected"},
    produce=_bigmath_produce,
))


# ------------------------------------------------------------------ Countdown (issue 4)

def _countdown_produce(profile) -> dict:
    from pipelines.countdown.config import config_for_profile
    from pipelines.countdown.priming import build_priming_sets
    from pipelines.countdown.problems import build_problems, generate_candidates
    from pipelines.countdown.traces import build_traces

    cfg = config_for_profile(profile.name, seed=profile.seed)
    problems, rejected, funnel = build_problems(generate_candidates(cfg), cfg)
    priming, _ = build_priming_sets(problems, cfg)
    return {"countdown_problems": problems, "countdown_funnel": funnel.to_frame(), "countdown_rejected": rejected,
            "countdown_search_traces": build_traces(problems, cfg), "countdown_priming_sets": priming}


def _register_countdown() -> None:
    import importlib.util

    if importlib.util.find_spec("pipelines.countdown") is None:
        return
    from pipelines.countdown.priming import SCHEMA as PRIMING_SCHEMA
    from pipelines.countdown.traces import SCHEMA as TRACES_SCHEMA

    def split_is(name: str):
        import polars as pl

        return lambda: pl.col("split") == name

    register(DatasetSpec(
        name="countdown",
        pretty_name="Countdown: problems, search traces and behavior priming sets (foundry)",
        description="Countdown arithmetic problems (reach the target with + - * / over the given numbers) generated "
                    "from a seed and solved by exhaustive search, with held-out targets; symbolic search traces "
                    "(DFS, BFS beams, A*, MCTS) linearized as Stream of Search; and behavior-controlled priming "
                    "sets (backtracking, verification, subgoals, backward chaining). No model wrote any row.",
        configs=(
            ConfigSpec("problems", "countdown_problems",
                       tuple(SplitSpec(s, split_is(s)) for s in ("train", "val", "test_heldout")),
                       ("problem_id", "split", "numbers", "target", "solution_expression", "solution_ops",
                        "reachable_values", "query", "candidate"), default=True),
            ConfigSpec("search_traces", "countdown_search_traces", (SplitSpec("train"),), tuple(TRACES_SCHEMA),
                       id_column="trace_id"),
            ConfigSpec("priming", "countdown_priming_sets", (SplitSpec("train"),), tuple(PRIMING_SCHEMA),
                       id_column="row_id"),
        ),
        id_column="problem_id",
        version="1.0.0",
        source_column=None,
        sources=lambda profile: [SourceInfo("countdown_generator", "MIT",
                                            f"generated by pipelines/countdown (profile {profile.name}, "
                                            f"seed {profile.seed})", ("tinyzero", "sos", "cognitive_behaviors"))],
        citations=CITATIONS,
        cite_as=(),
        task_categories=("question-answering", "text-generation"),
        tags=("countdown", "arithmetic", "search", "reasoning", "stream-of-search"),
        stats={"funnel": "countdown_funnel"},
        produce=_countdown_produce,
    ))


CITATIONS.update({
    "sos": """@article{gandhi2024sos,
  title   = {Stream of Search (SoS): Learning to Search in Language},
  author  = {Gandhi, Kanishk and Lee, Denise and Grand, Gabriel and Liu, Muxin and Cheng, Winson and Sharma, Archit and Goodman, Noah D.},
  journal = {arXiv preprint arXiv:2404.03683},
  year    = {2024}
}""",
    "cognitive_behaviors": """@article{gandhi2025cognitive,
  title   = {Cognitive Behaviors that Enable Self-Improving Reasoners, or, Four Habits of Highly Effective STaRs},
  author  = {Gandhi, Kanishk and Chakravarthy, Ayush and Singh, Anikait and Lile, Nathan and Goodman, Noah D.},
  journal = {arXiv preprint arXiv:2503.01307},
  year    = {2025}
}""",
    "tinyzero": """@misc{tinyzero,
  title        = {TinyZero},
  author       = {Pan, Jiayi and Zhang, Junjie and Wang, Xingyao and Yuan, Lifan and Peng, Hao and Suhr, Alane},
  howpublished = {https://github.com/Jiayi-Pan/TinyZero},
  year         = {2025}
}""",
})

_register_countdown()


# ------------------------------------------------------------------ Big-Math published (issue 3)

# the columns of assets/bigmath_reformulated.py's PROVENANCE, in its order (that module is Dagster code)
_PUBLISHED_EXTRA = ("method", "original_problem_id", "original_problem", "model", "prompt_name", "prompt_version",
                    "prompt_hash", "llm_prompts")


def _register_bigmath_published() -> None:
    import importlib.util

    if importlib.util.find_spec("pipelines.bigmath.reformulate") is None:
        return

    def sources(profile) -> list[SourceInfo]:
        base = _bigmath_sources(profile)
        return base + [SourceInfo(f"{s.name}_reformulated", s.license, f"{s.origin} (multiple choice rewritten as "
                                  f"open-ended)", s.citations) for s in base]

    register(replace(  # Big-Math's spec, with the reformulated rows and their provenance added
        BIGMATH,
        name="bigmath_published",
        pretty_name="Big-Math with reformulated problems (foundry rebuild)",
        description="Every Big-Math problem kept by the funnel plus the multiple-choice rejects rewritten as "
                    "open-ended problems with one verifiable answer (Big-Math-Reformulated). `method` says how a row "
                    "was made (filtered, rule, llm); LLM-made rows carry model, prompt name, version and hash.",
        configs=(ConfigSpec("default", "bigmath_published", (SplitSpec("train"),),
                            _bigmath_columns() + _PUBLISHED_EXTRA, default=True),),
        sources=sources,
        tags=BIGMATH.tags + ("reformulated",),
        model_id_column="model",
        produce=None,  # built from the warehouse only: its assets own the LLM/rule reformulation run
    ))


_register_bigmath_published()


# ------------------------------------------------------------------ robot episodes (issue 5)


def _episode_sources(profile) -> list[SourceInfo]:
    from pipelines.episodes.collect import dataset_id
    from pipelines.episodes.config import episodes_config
    from pipelines.episodes.readers import minari_source_name

    cfg = episodes_config(profile.name, seed=profile.seed).collect
    return [SourceInfo(minari_source_name(dataset_id(task, ds)), "MIT",
                       f"recorded by pipelines/episodes from gymnasium's {task.name} (MuJoCo) with the {ds} "
                       f"controller (profile {profile.name}, seed {profile.seed})", ("gymnasium", "mujoco", "rlds"))
            for task in cfg.tasks for ds in cfg.data_sources]


def _register_episodes() -> None:
    import importlib.util

    if importlib.util.find_spec("pipelines.episodes") is None:
        return
    from pipelines.episodes.schema import EPISODE_SCHEMA, STEP_SCHEMA

    register(DatasetSpec(
        name="episodes",
        pretty_name="Robot episodes in one RLDS-style schema (foundry)",
        description="MuJoCo episodes recorded through Minari from three D5RL-like data sources (scripted, noisy, "
                    "random play) and standardized into one schema with RLDS semantics: an episodes table (one row "
                    "per episode) and a steps table (is_first/is_last/is_terminal, action, reward, discount).",
        configs=(
            ConfigSpec("episodes", "episodes_table", (SplitSpec("train"),), tuple(EPISODE_SCHEMA), default=True,
                       id_column="episode_id"),
            ConfigSpec("steps", "episodes_steps", (SplitSpec("train"),), tuple(STEP_SCHEMA),
                       key=("episode_id", "step_index")),
        ),
        id_column="episode_id",
        version="1.0.0",
        source_column="source",
        sources=_episode_sources,
        citations=CITATIONS,
        cite_as=("rlds",),
        task_categories=("robotics", "reinforcement-learning"),
        language=(),
        tags=("robotics", "offline-rl", "rlds", "mujoco", "minari"),
        stats={"funnel": "episodes_funnel"},
        produce=None,  # built from the warehouse only: collection runs MuJoCo inside the episodes assets
    ))


CITATIONS.update({
    "rlds": """@article{ramos2021rlds,
  title   = {RLDS: an Ecosystem to Generate, Share and Use Datasets in Reinforcement Learning},
  author  = {Ramos, Sabela and Girgin, Sertan and Hussenot, L{\\'e}onard and Vincent, Damien and Yakubovich, Hanna and Toyama, Daniel and Gergely, Anita and Stanczyk, Piotr and Marinier, Raphael and Harmsen, Jeremiah and Pietquin, Olivier and Momchev, Nikola},
  journal = {arXiv preprint arXiv:2111.02767},
  year    = {2021}
}""",
    "gymnasium": """@article{towers2024gymnasium,
  title   = {Gymnasium: A Standard Interface for Reinforcement Learning Environments},
  author  = {Towers, Mark and Kwiatkowski, Ariel and Terry, Jordan and Balis, John U. and De Cola, Gianluca and Deleu, Tristan and Goul{\\~a}o, Manuel and Kallinteris, Andreas and Krimmel, Markus and KG, Arjun and others},
  journal = {arXiv preprint arXiv:2407.17032},
  year    = {2024}
}""",
    "mujoco": """@inproceedings{todorov2012mujoco,
  title     = {MuJoCo: A physics engine for model-based control},
  author    = {Todorov, Emanuel and Erez, Tom and Tassa, Yuval},
  booktitle = {2012 IEEE/RSJ International Conference on Intelligent Robots and Systems},
  year      = {2012}
}""",
})

_register_episodes()


# ------------------------------------------------------------------ FSPO (issue 13)

def _fspo_sources(profile) -> list[SourceInfo]:
    return [
        SourceInfo("math500", "MIT", "ELIX questions: MATH-500 problems (data/sample/math/math500_test.jsonl)"),
        SourceInfo("public_domain_films", "MIT", "review questions: titles, years and genres of US public-domain "
                   "films (pre-1930), compiled for this project as facts (data/sample/fspo/movies.tsv)"),
        SourceInfo("fspo_generator", "MIT", f"role-play questions written for this project; personas, responses "
                   f"and labels generated by pipelines/fspo through the configured LLM (profile {profile.name}, seed "
                   f"{profile.seed}); the model provider's terms also apply to generated text", ("fspo",)),
    ]


def _register_fspo() -> None:
    import importlib.util

    if importlib.util.find_spec("pipelines.fspo") is None:
        return
    import polars as pl

    from pipelines.fspo.config import SPLITS, TEST_PERSONAS
    from pipelines.fspo.pairs import KEY_COLUMNS, PROVENANCE, ROLEPLAY_COLUMNS, SCORED_COLUMNS

    def where(domain: str | None, split: str):
        if domain is None:
            return lambda: pl.col("split") == split
        return lambda: (pl.col("domain") == domain) & (pl.col("split") == split)

    def splits(domain: str | None) -> tuple[SplitSpec, ...]:
        # review and ELIX users are fixed sets with no unseen users in either profile: no test_personas split
        # (an empty split cannot be loaded by `datasets`)
        return tuple(SplitSpec(s, where(domain, s)) for s in SPLITS if domain is None or s != TEST_PERSONAS)

    scored = SCORED_COLUMNS + KEY_COLUMNS + PROVENANCE
    register(DatasetSpec(
        name="fspo",
        pretty_name="FSPO: synthetic users, preferences and few-shot episodes (foundry)",
        description="Synthetic preference data for Few-Shot Preference Optimization in three domains: movie reviews "
                    "(8 users: positive/negative x concise/verbose), explanations for an education level (ELIX) and "
                    "open-ended role-play QA with sampled personas. ELIX/review rows: prompt, response_x, response_y, "
                    "level_x, level_y, scorer_level, label (0 = the user scorer_level prefers response_x). Role-play "
                    "rows: x, yw (preferred), yl, level (persona), score_persona. Labels survived a position-swap "
                    "consistency check. Episodes: N shots of one user then a query, in the FSPO markdown layout. "
                    "Splits: train, test, test_questions (unseen questions), test_personas (unseen users).",
        configs=(
            ConfigSpec("review", "fspo_pairs_scored", splits("review"), scored, id_column="pair_id"),
            ConfigSpec("elix", "fspo_pairs_scored", splits("elix"), scored, id_column="pair_id"),
            ConfigSpec("roleplay", "fspo_pairs_roleplay", splits(None), ROLEPLAY_COLUMNS + KEY_COLUMNS + PROVENANCE,
                       id_column="pair_id"),
            ConfigSpec("episodes", "fspo_episodes", splits(None), (), default=True, id_column="episode_id"),
        ),
        id_column="pair_id",
        version="1.0.0",
        source_column=None,
        sources=_fspo_sources,
        citations=CITATIONS,
        cite_as=("fspo",),
        task_categories=("text-generation",),
        tags=("preferences", "personalization", "fspo", "synthetic", "few-shot"),
        stats={"funnel": "fspo_funnel"},
        produce=None,  # needs an LLM: built from the warehouse after the fspo assets ran with an endpoint
    ))


CITATIONS.update({
    "fspo": """@article{singh2025fspo,
  title   = {FSPO: Few-Shot Preference Optimization of Synthetic Preference Data in LLMs Elicits Effective Personalization to Real Users},
  author  = {Singh, Anikait and Hsu, Sheryl and Hsu, Kyle and Mitchell, Eric and Ermon, Stefano and Hashimoto, Tatsunori and Sharma, Archit and Finn, Chelsea},
  journal = {arXiv preprint arXiv:2502.19312},
  year    = {2025}
}""",
})

_register_fspo()
