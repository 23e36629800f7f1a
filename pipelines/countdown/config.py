"""Countdown sizes and seeds per profile: the ``countdown`` section of a profile (pipelines/config.py).

:func:`for_profile` builds it from :data:`CONFIG_BY_PROFILE`, read when the profile is built: tests
and users may replace an entry of it or pass a :class:`CountdownConfig` directly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# strategy name -> (algorithm, heuristic, beam width); beam width 0 = not a beam search.
# sos_*: Stream of Search's own searches (countdown_dfs.py: sum heuristic, threshold = target;
# countdown_bfs.py: beam 5, its mult heuristic), same solved problems and same text as the reference.
# The others are ours, named for what they are: dfs_eager_* lists all of a node's children before it
# descends and stops at a node budget; bfs_level_* keeps the best ``beam`` children of a whole level.
# Heuristics: "sum" is the reference's; "mult" is ours (the smallest distance of any number to a
# divisor of the target, 1 included); "sos_mult" is the reference's (distances to the nearest factor
# 2 ... target, summed over the numbers).
STRATEGIES: dict[str, tuple[str, str | None, int]] = {
    "sos_dfs_sum": ("sos_dfs", "sum", 0),
    "sos_bfs_mult_b5": ("sos_bfs", "sos_mult", 5),
    "dfs_eager_sum": ("dfs", "sum", 0),
    "dfs_eager_mult": ("dfs", "mult", 0),
    "bfs_level_sum_b1": ("bfs", "sum", 1),
    "bfs_level_sum_b3": ("bfs", "sum", 3),
    "bfs_level_sum_b5": ("bfs", "sum", 5),
    "bfs_level_mult_b1": ("bfs", "mult", 1),
    "bfs_level_mult_b3": ("bfs", "mult", 3),
    "bfs_level_mult_b5": ("bfs", "mult", 5),
    "astar_sum": ("astar", "sum", 0),
    "astar_mult": ("astar", "mult", 0),
    "mcts": ("mcts", None, 0),
}

# strategies whose solved problems and text are the reference's (tests and the benchmark hold them to it)
SOS_COMPATIBLE: tuple[str, ...] = tuple(name for name, (algorithm, _, _) in STRATEGIES.items()
                                        if algorithm.startswith("sos_"))


@dataclass(frozen=True)
class CountdownConfig:
    n_problems: int = 4000            # candidate problems generated before dedup/solvability
    numbers: int = 4                  # how many numbers a problem gives
    number_min: int = 1
    number_max: int = 50
    target_min: int = 10
    target_max: int = 100
    target_from_reachable: bool = True  # draw the target among reachable values (else uniform: many unsolvable)
    seed: int = 0
    heldout_target_fraction: float = 0.1  # share of the target range held out for test_heldout
    val_fraction: float = 0.05
    traces_per_strategy: int = 300    # problems (train split, sorted by id) searched by every strategy
    strategies: tuple[str, ...] = tuple(STRATEGIES)
    node_budget: int = 400            # nodes a DFS/BFS/A* run may generate
    sos_node_budget: int | None = None  # the same for the sos_* strategies; None = unbounded, as the reference
    mcts_iterations: int = 300
    mcts_exploration: float = 1.4
    priming_rows: int = 200           # rows per priming set
    max_backtracks: int = 4           # failed attempts a priming trace may show

    def with_(self, **changes) -> "CountdownConfig":
        return replace(self, **changes)


CONFIG_BY_PROFILE: dict[str, CountdownConfig] = {
    "sample": CountdownConfig(),
    "full": CountdownConfig(n_problems=200_000, number_max=99, traces_per_strategy=20_000,
                            node_budget=1_000, mcts_iterations=1_000, priming_rows=5_000),
}


def for_profile(name: str, seed: int | None = None) -> CountdownConfig:
    if name not in CONFIG_BY_PROFILE:
        raise ValueError(f"no Countdown config for profile {name!r}; known: {sorted(CONFIG_BY_PROFILE)}")
    cfg = CONFIG_BY_PROFILE[name]
    return cfg if seed is None else cfg.with_(seed=seed)


config_for_profile = for_profile  # the name the CLI and release registry call
