"""Shared behavior detection: text -> counts of verification, backtracking, subgoal setting and
backward chaining (the four behaviors of the cognitive-behaviors paper). Families import it; it
imports no family."""

from pipelines.behaviors.detector import BEHAVIORS, BehaviorCounts, detect_behaviors, split_sentences

__all__ = ["BEHAVIORS", "BehaviorCounts", "detect_behaviors", "split_sentences"]
