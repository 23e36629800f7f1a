"""Stable rejection codes of the OpenWebMath behaviors family. Never rename one: users filter on them."""

# reading (pipelines/owm/reader.py)
MALFORMED = "malformed"              # a JSONL line that is not UTF-8/JSON/an object, or a row the reader cannot convert
MISSING_TEXT = "missing_text"        # no `text` column value, or an empty/whitespace-only one
WRONG_TYPE = "wrong_type"            # `text`/`url`/`date` present but not a string
BAD_METADATA = "bad_metadata"        # `metadata` present but neither a JSON-object string nor an object

# selection (pipelines/owm/select.py)
MIDDLE_BAND = "middle_band"          # scores neither clear the enriched rule nor fall under the control rule
OVER_BUDGET = "over_budget"          # eligible, but the set's token budget was full when its turn came
TOO_LONG = "too_long"                # over max_tokens and the config says reject (the default truncates)
DUPLICATE = "duplicate"              # same normalized text as an earlier document

# QA rewrite (pipelines/owm/qa.py)
NO_PROBLEM = "no_problem"            # the gate prompt says the document holds no problem, or no solution
GATE_UNPARSED = "gate_unparsed"      # the gate reply has no readable yes/no for problem or solution
REWRITE_UNPARSED = "rewrite_unparsed"  # the rewrite lacks <question>, <think> or <answer>

READ_REASONS = (MALFORMED, MISSING_TEXT, WRONG_TYPE, BAD_METADATA)
SELECT_REASONS = (DUPLICATE, TOO_LONG, MIDDLE_BAND, OVER_BUDGET)
QA_REASONS = (NO_PROBLEM, GATE_UNPARSED, REWRITE_UNPARSED)
ALL = READ_REASONS + SELECT_REASONS + QA_REASONS
