"""Stable rejection codes of the Big-Math funnel. Never rename one: users filter on them."""

MALFORMED = "malformed"            # unreadable line, missing/mistyped field, empty or oversized problem
CONTAMINATED = "contaminated"      # n-gram overlap with a configured evaluation set
HYPERLINK = "hyperlink"            # the problem links out (URL, markdown link, <a href>)
MULTIPLE_CHOICE = "multiple_choice"  # options in the problem or an options field
PROOF = "proof"                    # asks for a proof, not a value
YES_NO = "yes_no"                  # the answer is yes or no
TRUE_FALSE = "true_false"          # the answer is true or false
MULTI_PART = "multi_part"          # several sub-questions, (a)/(b), (i)/(ii), Part 1/2
FIGURE = "figure"                  # depends on a figure or diagram ([asy], "shown in the figure")
NON_ENGLISH = "non_english"        # the prose is not English
MISSING_ANSWER = "missing_answer"  # no answer, or an empty one
UNPARSEABLE_ANSWER = "unparseable_answer"  # math-verify cannot parse the answer
ANSWER_MISMATCH = "answer_mismatch"  # the solution's final answer disagrees with the answer
DUPLICATE = "duplicate"            # same normalized problem text as an earlier row
NEAR_DUPLICATE = "near_duplicate"  # MinHash-LSH Jaccard above the threshold with an earlier row
VERIFY_TIMEOUT = "verify_timeout"  # verification ran out of its CPU budget twice: a fact about the machine, not the row

ALL = (
    MULTIPLE_CHOICE, YES_NO, TRUE_FALSE, MULTI_PART, PROOF, HYPERLINK, FIGURE, NON_ENGLISH,
    DUPLICATE, NEAR_DUPLICATE, CONTAMINATED, MISSING_ANSWER, UNPARSEABLE_ANSWER, ANSWER_MISMATCH,
    MALFORMED, VERIFY_TIMEOUT,
)
