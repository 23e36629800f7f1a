"""OpenWebMath documents scored for four reasoning behaviors (Gandhi et al. 2025), and corpora
selected from the scores: read -> (LLM-annotate a sample -> train a cheap classifier) -> score
every document -> select enriched and control sets under a token budget -> optional QA rewrite.

No Dagster here; the wiring lives in ``assets/owm.py``.
"""

from pipelines.behaviors.detector import BEHAVIORS

__all__ = ["BEHAVIORS"]
