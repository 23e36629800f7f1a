"""Every size cap of the Big-Math parsers of user text, in one place (README: "Untrusted input").

The parsers are linear by design; these caps bound memory and the constant factors, and say what
becomes of a row past them. A row over a field cap is quarantined at the normalize step with reason
``malformed`` and a detail naming the field, its length and the cap.
"""

# --- fields of a row (normalize step, reason ``malformed``) ---
MAX_PROBLEM_CHARS = 20_000    # longer "problems" are scraped pages, not problems
MAX_ANSWER_CHARS = 2_000      # a final answer; real ones are < 200 characters
MAX_SOLUTION_CHARS = 200_000  # a worked solution (long chain-of-thought included)
MAX_LATEX_DEPTH = 48          # deeper brace nesting breaks parsers and is never a real problem

# --- bounded windows inside detectors (a longer gap is simply not a match) ---
LINK_TARGET_CHARS = 2_000     # characters of a Markdown link target "[text](/target)"

# --- reformulation (reason ``answer_not_a_value`` / the stem keeps its options) ---
MAX_OPTION_CHARS = 500        # an option text read as a math value
MAX_OPTION_LIST_TRIES = 8     # candidate "A)" markers confirmed by a full option parse, per marker kind
