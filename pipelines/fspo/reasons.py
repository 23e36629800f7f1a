"""Stable rejection codes of the FSPO family. Never rename one: users filter on them."""

SCORER_MISMATCH = "scorer_mismatch"                # the scorer's level is neither response's level (anchor's scorer_match)
MISSING_RESPONSE = "missing_response"              # a pair needs a response the responses stage could not make
POSITION_SWAP_INCONSISTENT = "position_swap_inconsistent"  # the scorer picked different responses when the order was swapped
LENGTH_RULE_DISAGREES = "length_rule_disagrees"    # concise/verbose user, lengths clearly differ, label prefers the wrong length
SCORER_FAILED = "scorer_failed"                    # the scorer call failed or its reply was unusable (detail has the llm_* code)
EPISODE_TOO_LONG = "episode_too_long"              # the episode's GPT-2 token count is over the configured limit
DUPLICATE_EPISODE = "duplicate_episode"            # a reshuffled pass built an episode identical to an earlier one
PERSONA_INCONSISTENT = "persona_inconsistent"      # a sampled persona broke a consistency constraint (drawn again)

ALL = (SCORER_MISMATCH, MISSING_RESPONSE, POSITION_SWAP_INCONSISTENT, LENGTH_RULE_DISAGREES, SCORER_FAILED,
       EPISODE_TOO_LONG, DUPLICATE_EPISODE, PERSONA_INCONSISTENT)
