"""Stable reason codes of the Countdown steps."""

MALFORMED = "malformed"          # wrong count of numbers, a number or target out of range
DUPLICATE = "duplicate"          # same multiset of numbers and target as an earlier problem
UNSOLVABLE = "unsolvable"        # exhaustive search finds no expression reaching the target
DUPLICATE_ROW = "duplicate_row"  # a priming row whose text repeats an earlier row verbatim
NO_TRACE = "no_usable_trace"     # the search gave no trace fit for the set (e.g. no dead end to backtrack from)

ALL = (MALFORMED, DUPLICATE, UNSOLVABLE, DUPLICATE_ROW, NO_TRACE)

# Reward / `countdown score` codes: the prefix of a scored row's ``parse_error`` ("code: detail").
# Grammar and evaluation (pipelines/countdown/arith.py); each scores 0.
EMPTY = "empty"
TOO_LONG = "too_long"
TOO_DEEP = "too_deep"
UNSUPPORTED_OPERATOR = "unsupported_operator"    # ^ ** ! % × ÷ − x √ …
UNSUPPORTED_CHARACTER = "unsupported_character"  # letters, unicode digits, $, \, tags, non-ASCII space …
NUMBER_TOO_LARGE = "number_too_large"
SYNTAX = "syntax"                                # a second expression, a unary sign, a leading zero …
UNBALANCED = "unbalanced_parentheses"
DIVISION_BY_ZERO = "division_by_zero"
VALUE_TOO_LARGE = "value_too_large"
WRONG_RESULT = "wrong_result"                    # "expr = N" where N is not the value of expr
GRAMMAR_CODES = (EMPTY, TOO_LONG, TOO_DEEP, UNSUPPORTED_OPERATOR, UNSUPPORTED_CHARACTER, NUMBER_TOO_LARGE, SYNTAX,
                 UNBALANCED, DIVISION_BY_ZERO, VALUE_TOO_LARGE, WRONG_RESULT)
# The reward (pipelines/countdown/reward.py) and one row of `countdown score` (scoring.py).
NO_ANSWER_TAG = "no_answer_tag"     # score 0
OVERSIZED = "oversized"             # score 0: a completion, numbers or target past pipelines/countdown/limits.py
BAD_TARGET = "bad_target"           # score 0
MALFORMED_ROW = "malformed_row"     # score 0: unreadable row, missing/mistyped field, lone surrogate
WRONG_NUMBERS = "wrong_numbers"     # the format score: grammatical, but not the given numbers
SCORE_CODES = GRAMMAR_CODES + (NO_ANSWER_TAG, OVERSIZED, BAD_TARGET, MALFORMED_ROW, WRONG_NUMBERS)
