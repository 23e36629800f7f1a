"""FSPO sizes, seeds and limits per profile. Everything a run depends on lives here (no env reads)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BANK_DIR = REPO_ROOT / "data" / "sample" / "fspo"
GPT2_TOKENIZER = REPO_ROOT / "data" / "tokenizers" / "gpt2.json"

REVIEW, ELIX, ROLEPLAY = "review", "elix", "roleplay"
DOMAINS = (REVIEW, ELIX, ROLEPLAY)

# the anchor's split names: test_questions = unseen questions, test_personas = unseen users
TRAIN, TEST, TEST_QUESTIONS, TEST_PERSONAS = "train", "test", "test_questions", "test_personas"
SPLITS = (TRAIN, TEST, TEST_QUESTIONS, TEST_PERSONAS)


@dataclass(frozen=True)
class FspoConfig:
    seed: int = 0
    personas: int = 8                      # role-play users sampled from structured attributes
    questions: dict = field(default_factory=lambda: {REVIEW: 16, ELIX: 12, ROLEPLAY: 20})
    shots: dict = field(default_factory=lambda: {REVIEW: 8, ELIX: 4, ROLEPLAY: 8})  # the anchor's N per domain
    unseen_users: dict = field(default_factory=lambda: {REVIEW: 0, ELIX: 0, ROLEPLAY: 2})
    unseen_questions: dict = field(default_factory=lambda: {REVIEW: 2, ELIX: 1, ROLEPLAY: 2})
    test_share: float = 0.1                # share of seen-user, seen-question pairs held out as `test`
    unmatched_pairs_per_user: int = 1      # pairs of two other levels: the scorer_match filter drops them
    passes: int = 2                        # reshuffled passes over each user's pairs when building episodes
    max_episode_tokens: int = 8192
    user_description: bool = False         # the optional `## User Description` block
    length_ratio: float = 1.5              # the length rule judges only when one response is this much longer
    tokenizer_path: str = str(GPT2_TOKENIZER)
    bank_dir: str = str(BANK_DIR)

    def with_(self, **changes) -> "FspoConfig":
        return replace(self, **changes)


def config_for_profile(name: str, seed: int = 0) -> FspoConfig:
    if name == "sample":
        return FspoConfig(seed=seed)
    if name == "full":
        # the paper's scale is ~1,500 personas; the banks in the repo bound the question counts
        return FspoConfig(seed=seed, personas=1500, questions={REVIEW: 36, ELIX: 60, ROLEPLAY: 32},
                          unseen_users={REVIEW: 0, ELIX: 0, ROLEPLAY: 150},
                          unseen_questions={REVIEW: 4, ELIX: 6, ROLEPLAY: 4}, test_share=0.05, passes=18)
    raise ValueError(f"unknown profile {name!r}; FOUNDRY_PROFILE must be 'sample' or 'full'")
