"""Stable reason codes of the Countdown steps."""

MALFORMED = "malformed"          # wrong count of numbers, a number or target out of range
DUPLICATE = "duplicate"          # same multiset of numbers and target as an earlier problem
UNSOLVABLE = "unsolvable"        # exhaustive search finds no expression reaching the target
DUPLICATE_ROW = "duplicate_row"  # a priming row whose text repeats an earlier row verbatim
NO_TRACE = "no_usable_trace"     # the search gave no trace fit for the set (e.g. no dead end to backtrack from)

ALL = (MALFORMED, DUPLICATE, UNSOLVABLE, DUPLICATE_ROW, NO_TRACE)
