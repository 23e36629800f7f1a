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

# --- Big-Math-Reformulated (pipelines/bigmath/reformulate.py): why a multiple-choice row was not
# made open-ended. MALFORMED, UNPARSEABLE_ANSWER, ANSWER_MISMATCH, DUPLICATE and VERIFY_TIMEOUT above
# are shared.
NO_CORRECT_OPTION = "no_correct_option"          # the answer names no option / no options found
ANSWER_NOT_A_VALUE = "answer_not_a_value"        # "None of these", words, "III only", ambiguous notation
STEM_REFERS_TO_OPTIONS = "stem_refers_to_options"  # "which of the following", "could be", "none of"
STEM_INCOMPLETE = "stem_incomplete"              # not a question on its own ("The marked price is:")
APPROXIMATE = "approximate_answer"               # "closest to", "approximately": options are estimates
OPTION_RESIDUE = "option_residue"                # the output still mentions options or letters
HINT_ADDED = "hint_added"                        # the output reveals the answer or says "hint"
NUMBERS_CHANGED = "numbers_changed"              # a number of the original stem is missing
JUDGE_FAIL = "judge_fail"                        # the LLM judge said FAIL
VERIFY_FAIL = "verify_fail"                      # the verifier's own answer disagrees / ill-posed
UNHANDLED = "unhandled"                          # no step took or rejected the row (a bug; never expected)
# LLM failures reuse the LLM layer's codes: llm_error, llm_malformed_output, llm_schema_mismatch

REFORMULATION_ALL = (
    MALFORMED, NO_CORRECT_OPTION, ANSWER_NOT_A_VALUE, STEM_REFERS_TO_OPTIONS, STEM_INCOMPLETE, APPROXIMATE,
    OPTION_RESIDUE, ANSWER_MISMATCH, UNPARSEABLE_ANSWER, HINT_ADDED, NUMBERS_CHANGED, JUDGE_FAIL, VERIFY_FAIL,
    DUPLICATE, VERIFY_TIMEOUT, UNHANDLED,
)
