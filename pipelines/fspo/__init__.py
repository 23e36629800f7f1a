"""FSPO (Few-Shot Preference Optimization) data: synthetic users, question banks, view-conditioned
responses, position-swap-checked preference labels, the anchor's two pair schemas, and few-shot
episodes per user. Pure code; the Dagster wiring is ``assets/fspo.py``, the rules ``validators/fspo.py``."""
