"""Every size cap of the Countdown parsers of user text, in one place (README: "Untrusted input").

Each is checked before the work it bounds runs; past it the row or answer scores 0 with the stable
reason named beside it.
"""

# --- the reward (pipelines/countdown/reward.py) ---
MAX_COMPLETION_CHARS = 1_000_000  # a completion; every scan is linear anyway: bounds memory (oversized)

# --- the answer grammar (pipelines/countdown/arith.py) ---
MAX_CHARS = 256                   # an answer over 6 numbers is < 60 characters (too_long)
MAX_DEPTH = 32                    # parenthesis nesting, by a pre-scan: recursion stays shallow (too_deep)
MAX_LITERAL_DIGITS = 12           # one integer literal; Countdown numbers have 1-3 digits (number_too_large)
MAX_MAGNITUDE = 10**40            # numerator/denominator of any intermediate value (value_too_large)

# --- one row of `countdown score` (pipelines/countdown/scoring.py), reason oversized ---
MAX_NUMBERS = 16                  # Countdown uses 3-6 numbers
MAX_NUMBER_DIGITS = 12            # per number; fits Int64 and the literal cap
MAX_NUMBERS_TEXT_CHARS = 1_000    # a numbers field written as text ("[1, 2, 3]")
MAX_TARGET_DIGITS = 15            # exact in a Float64; int()/float() never see a longer string
