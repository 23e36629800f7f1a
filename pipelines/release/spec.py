"""What a published dataset is, declared once: its configs, splits, sources, licenses, citations.

A family becomes releasable by adding one :class:`DatasetSpec` to :mod:`pipelines.release.registry`.
Specs name *asset* tables by their warehouse name (``bigmath_kept``); the release builder gets the
frames from the caller (a Dagster asset, the CLI reading the warehouse, or a CI script running the
family's pipeline functions directly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import polars as pl

Frames = Mapping[str, pl.DataFrame]


@dataclass(frozen=True)
class SplitSpec:
    """A split of a config: every row of the config's asset, or the rows where ``where`` holds."""

    name: str
    where: Callable[[], pl.Expr] | None = None  # a callable so specs stay picklable and lazy


@dataclass(frozen=True)
class ConfigSpec:
    """A Hub config: one asset table, its published columns and its splits."""

    name: str
    asset: str
    splits: tuple[SplitSpec, ...] = (SplitSpec("train"),)
    columns: tuple[str, ...] = ()  # published columns, in order; empty = every column of the asset
    default: bool = False
    id_column: str | None = None  # the row key of this config (default: the dataset's id_column)
    key: tuple[str, ...] = ()  # a compound row key instead (e.g. episode_id, step_index)


@dataclass(frozen=True)
class SourceInfo:
    """Where rows of one ``source`` value come from and under which terms."""

    name: str
    license: str  # SPDX id as the source states it (MIT, Apache-2.0, CC-BY-4.0, ...)
    origin: str = ""
    citations: tuple[str, ...] = ()  # keys into DatasetSpec.citations


@dataclass(frozen=True)
class DatasetSpec:
    """One published dataset.

    ``sources(profile)`` lists the sources of the active profile with their licenses; the card
    shows every one, and the card's ``license`` field is the set of licenses of the sources that
    actually have rows in the release. ``stats`` names extra asset tables the card may show
    (``funnel``: the family's funnel table; ``rejected``: its rejected rows, for per-source counts).
    ``produce(profile)`` runs the family's pipeline functions directly and returns every table the
    spec names (used by CI when no warehouse exists); it must not need network or an LLM on the
    sample profile.
    """

    name: str
    pretty_name: str
    description: str
    configs: tuple[ConfigSpec, ...]
    id_column: str
    version: str  # the version the default profile builds; bump it when the data changes
    source_column: str | None = "source"
    revision_column: str | None = None
    sort_by: tuple[str, ...] = ()  # default: (id_column,)
    sources: Callable[[object], list[SourceInfo]] = lambda profile: []
    citations: Mapping[str, str] = field(default_factory=dict)  # key -> BibTeX
    card_template: str = ""  # file name under dataset_cards/; default "<name>.md.jinja"
    cite_as: tuple[str, ...] = ()  # citation keys of the dataset itself (always cited)
    language: tuple[str, ...] = ("en",)
    task_categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    stats: Mapping[str, str] = field(default_factory=dict)  # role -> asset name
    produce: Callable[[object], dict[str, pl.DataFrame]] | None = None
    # what its assets need beyond the embedded defaults (e.g. "llm"): a release whose tables are not
    # materialized for lack of it is reported as skipped, naming it, never silently passed
    requires: tuple[str, ...] = ()
    max_shard_rows: int = 100_000
    max_shard_bytes: int = 256 * 1024 * 1024
    prompt_hash_column: str = "prompt_hash"
    model_id_column: str = "model_id"
    code_version_column: str = "code_version"

    def __post_init__(self):
        if not self.configs:
            raise ValueError(f"dataset {self.name!r}: give at least one config")
        names = [c.name for c in self.configs]
        if len(set(names)) != len(names):
            raise ValueError(f"dataset {self.name!r}: config names repeat: {names}")
        for c in self.configs:
            splits = [s.name for s in c.splits]
            if not splits or len(set(splits)) != len(splits):
                raise ValueError(f"dataset {self.name!r}, config {c.name!r}: splits must be non-empty and distinct")

    @property
    def template_name(self) -> str:
        return self.card_template or f"{self.name}.md.jinja"

    @property
    def order(self) -> tuple[str, ...]:
        return self.sort_by or (self.id_column,)

    def assets(self) -> list[str]:
        """Every asset table the release reads: configs first, then stats tables."""
        out: list[str] = []
        for name in [c.asset for c in self.configs] + list(self.stats.values()):
            if name not in out:
                out.append(name)
        return out

    def id_of(self, config: ConfigSpec) -> str | tuple[str, ...]:
        """The row key of ``config``: one column name, or a tuple of names for a compound key."""
        return config.key or config.id_column or self.id_column

    def order_of(self, config: ConfigSpec) -> tuple[str, ...]:
        if config.key:
            return config.key
        return (config.id_column,) if config.id_column else self.order

    def default_config(self) -> ConfigSpec:
        return next((c for c in self.configs if c.default), self.configs[0])
