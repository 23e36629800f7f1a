"""OpenWebMath family settings per profile: sources, seeds, classifier, selection rules, budgets.

The ``owm`` section of a profile (pipelines/config.py), built by :func:`for_profile` from
:data:`CONFIG_BY_PROFILE`; tests and users may pass an :class:`OwmConfig` directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from pipelines.config import REPO_ROOT, SAMPLE_DIR

SAMPLE_SHARDS: tuple[str, ...] = (
    str(SAMPLE_DIR / "owm" / "stackexchange-00000.parquet"),
    str(SAMPLE_DIR / "owm" / "wikitext-00000.parquet"),
)
# GPT-2 byte-level BPE as a `tokenizers` JSON, in the repo so counting works offline. The anchor
# counted with Llama-3.1's tokenizer (gated on the Hub); every output records which one counted.
GPT2_TOKENIZER = str(REPO_ROOT / "data" / "tokenizers" / "gpt2.json")


@dataclass(frozen=True)
class SelectionRule:
    """Which documents go to which set, on the scorer's per-behavior scores.

    The anchor's exact rule is not published; this one is ours: a document is *enriched* when at
    least ``min_behaviors`` behaviors score at or above ``enriched_min``, *control* when every
    behavior scores at or below ``control_max``; the rest is the middle band (rejected).
    """

    enriched_min: float = 1.0     # baseline counts: one cue sentence; classifier: a probability
    min_behaviors: int = 1
    control_max: float = 0.0

    def with_(self, **changes) -> "SelectionRule":
        return replace(self, **changes)


@dataclass(frozen=True)
class OwmConfig:
    shards: tuple[str, ...] = SAMPLE_SHARDS
    batch_rows: int = 256                 # rows per Arrow record batch: bounds reader memory
    seed: int = 0                         # shuffle before the budgeted fill, held-out split, SGD
    tokenizer_path: str = GPT2_TOKENIZER
    tokenizer_name: str = "gpt2"          # recorded on every selected row
    max_tokens: int = 4096                # per document, as in the anchor
    too_long: str = "truncate"            # truncate | reject (the anchor clips lengths at 4,096)
    token_budget: int = 60_000            # per set (enriched and control each); the anchor used 83M
    budget_tolerance: float = 0.05        # a set may end this far under its budget (documents are whole)
    test_fraction: float = 0.05
    rule: SelectionRule = field(default_factory=SelectionRule)
    label_chars: int = 12_000             # text sent to the labelling LLM (~3k tokens, like the anchor)
    heldout_fraction: float = 0.25        # LLM-labelled docs held back to evaluate the classifier
    n_features: int = 2 ** 18             # hashed feature space per analyzer
    epochs: int = 5                       # partial_fit passes over the labelled batches
    classifier_threshold: float = 0.5     # probability -> yes, for precision/recall
    hub_dataset: str = ""                 # full profile: the Hub dataset whose locked shards are `shards`
    hub_revision: str | None = None       # its locked commit (None: unpinned, `shards` stays empty)

    def with_(self, **changes) -> "OwmConfig":
        return replace(self, **changes)


CONFIG_BY_PROFILE: dict[str, OwmConfig] = {
    "sample": OwmConfig(),
    # the Hub shards: https://huggingface.co/datasets/open-web-math/open-web-math (data/*.parquet), at
    # the revision and with the file list sources.lock.json pins (`foundry sources lock`)
    "full": OwmConfig(shards=(), batch_rows=2048, token_budget=83_000_000, hub_dataset="open-web-math/open-web-math"),
}


def for_profile(name: str) -> OwmConfig:
    """The profile's settings; a profile naming a Hub dataset gets its shard URIs from the lock file
    (read now, so a renewed lock counts without a restart). Unpinned: ``shards`` stays empty and
    :func:`pipelines.owm.hub.locked_shards` ``.require()`` says which command pins them."""
    if name not in CONFIG_BY_PROFILE:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(CONFIG_BY_PROFILE)}")
    cfg = CONFIG_BY_PROFILE[name]
    if cfg.hub_dataset and not cfg.shards:
        from pipelines.owm.hub import locked_shards

        hub = locked_shards()
        if hub.pinned:
            cfg = cfg.with_(shards=hub.uris(), hub_revision=hub.revision)
    return cfg


config_for_profile = for_profile  # the name the CLI calls
