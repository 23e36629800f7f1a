"""Rewards for RL validation: Countdown (project or TinyZero-compatible) and Big-Math (math-verify).

``tinyzero_score`` re-implements the behaviour of TinyZero's ``verl/utils/reward_score/countdown.py``
from its description: drop everything up to the first ``Assistant:`` / ``<|im_start|>assistant``,
keep the **last line**, take the last ``<answer>…</answer>`` on it; the integers in it (``\\d+``)
must be the given numbers exactly; the expression must match the character whitelist
``[0-9+\\-*/().\\s]`` and is then evaluated; 1.0 when within 1e-5 of the target, 0.1 (format) for
any other answer, 0 when there is none. Departures: ``eval`` is replaced by an AST walk over the
same grammar the whitelist lets through (so ``**`` and ``//`` still work as in Python, but a power
with an exponent over 64 or an input over 2,000 characters scores as a failed evaluation instead of
hanging); TRL hands the reward the completion only, so a text with no ``Assistant:`` marker is
read whole instead of scoring 0.

The project reward (``pipelines.countdown.reward``) reads the last answer block anywhere in the
assistant's turn, requires its whole content to be one expression of the project's grammar (no
power, no words, an optional ``= value``) and gives 0.0, not the format score, to anything
ungrammatical. The two disagree on purpose and ``tests/pipelines/training/test_rewards.py`` pins
where.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from pipelines.behaviors.detector import BEHAVIORS, detect_behaviors
from pipelines.countdown.reward import FORMAT_SCORE, FULL_SCORE, score_completion

REWARD_MODES = ("project", "tinyzero")

_TZ_ANSWER = re.compile(r"<answer>(.*?)</answer>")
_TZ_ALLOWED = re.compile(r"^[\d+\-*/().\s]+$")
_MAX_EXPONENT = 64
_MAX_EXPR_CHARS = 2000
_BINOPS: dict[type, Callable] = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
                                 ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow}
_UNARY: dict[type, Callable] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


class UnsafeExpression(ValueError):
    """The expression is outside the whitelisted arithmetic grammar or too large to evaluate."""


def tinyzero_extract(text: str) -> str | None:
    if "Assistant:" in text:
        text = text.split("Assistant:", 1)[1]
    elif "<|im_start|>assistant" in text:
        text = text.split("<|im_start|>assistant", 1)[1]
    last_line = text.split("\n")[-1]
    matches = _TZ_ANSWER.findall(last_line)
    return matches[-1].strip() if matches else None


def _walk(node: ast.AST):
    if isinstance(node, ast.Expression):
        return _walk(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_walk(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _walk(node.left), _walk(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > _MAX_EXPONENT or abs(left) > 10 ** 6):
            raise UnsafeExpression("power too large to evaluate safely")
        return _BINOPS[type(node.op)](left, right)
    raise UnsafeExpression(f"{type(node).__name__} is not arithmetic")


def safe_eval(expression: str) -> float:
    """Evaluate whitelisted arithmetic like Python's ``eval`` would, without ``eval``.

    Raises ``ValueError`` (or ``ZeroDivisionError``/``SyntaxError``) where ``eval`` would fail.
    """
    if len(expression) > _MAX_EXPR_CHARS or not _TZ_ALLOWED.match(expression):
        raise UnsafeExpression("characters outside the whitelist or too long")
    return _walk(ast.parse(expression.strip(), mode="eval"))


def tinyzero_score(text: str, numbers: Sequence[int], target, format_score: float = FORMAT_SCORE,
                   score: float = FULL_SCORE) -> float:
    equation = tinyzero_extract(text or "")
    if equation is None:
        return 0.0
    if sorted(int(n) for n in re.findall(r"\d+", equation)) != sorted(int(n) for n in numbers):
        return format_score
    try:
        value = safe_eval(equation)
    except (ValueError, ArithmeticError, SyntaxError, TypeError, RecursionError, MemoryError):
        return format_score
    return score if abs(value - float(target)) < 1e-5 else format_score


def countdown_score(text: str, numbers: Sequence[int], target, mode: str = "project") -> tuple[float, bool]:
    """(reward, correct) of one completion under ``mode``."""
    if mode == "project":
        s = score_completion(text, list(numbers), target)
        return s.score, s.correct
    if mode == "tinyzero":
        r = tinyzero_score(text, numbers, target)
        return r, r == FULL_SCORE
    raise ValueError(f"reward mode {mode!r}: use one of {REWARD_MODES}")


@dataclass
class RewardLog:
    """What the reward functions saw per training step: real completions, their rewards and behaviors."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, stage: str, step: int, completions: Sequence[str], rewards: Sequence[float], correct: Sequence[bool]):
        counts = [detect_behaviors(c).as_dict() for c in completions]
        n = max(len(completions), 1)
        self.rows.append({
            "stage": stage, "step": step, "n_completions": len(completions),
            "reward": sum(rewards) / n, "accuracy": sum(bool(c) for c in correct) / n,
            **{b: sum(c[b] for c in counts) for b in BEHAVIORS},
            "sample_completion": (completions[0] if completions else "")[:200],
        })


def _completion_text(completion) -> str:
    # TRL passes strings for plain prompts and [{"role": "assistant", "content": ...}] for chat prompts
    if isinstance(completion, list):
        return "".join(m.get("content", "") for m in completion if isinstance(m, dict))
    return completion or ""


def _step(kwargs: dict) -> int:
    state = kwargs.get("trainer_state")
    return int(getattr(state, "global_step", 0)) + 1


class CountdownReward:
    """A TRL reward function: ``(prompts, completions, target=[…], numbers=[…]) -> [float]``."""

    def __init__(self, mode: str = "project", log: RewardLog | None = None, stage: str = "grpo_countdown"):
        if mode not in REWARD_MODES:
            raise ValueError(f"reward mode {mode!r}: use one of {REWARD_MODES}")
        self.mode, self.log, self.stage = mode, log, stage
        self.__name__ = f"countdown_{mode}"  # TRL names the logged reward column after it

    def __call__(self, prompts=None, completions=None, target=None, numbers=None, **kwargs) -> list[float]:
        texts = [_completion_text(c) for c in completions]
        scored = [countdown_score(t, n, g, self.mode) for t, n, g in zip(texts, numbers, target)]
        rewards = [s for s, _ in scored]
        if self.log is not None:
            self.log.add(self.stage, _step(kwargs), texts, rewards, [c for _, c in scored])
        return rewards


class BigMathReward:
    """A TRL reward function scoring 1.0 when the completion's final answer (last box, ``####`` line
    or "The answer is") equals ``answer`` by math-verify, in the project's worker processes
    (math-verify's SIGALRM timeouts need a main thread; a hanging item costs one deadline)."""

    def __init__(self, workers: int = 1, item_timeout_s: int = 5, log: RewardLog | None = None,
                 stage: str = "grpo_bigmath"):
        self.workers, self.item_timeout_s, self.log, self.stage = workers, item_timeout_s, log, stage
        self.__name__ = "bigmath_verify"

    def __call__(self, prompts=None, completions=None, answer=None, **kwargs) -> list[float]:
        from pipelines.bigmath.verify import VerifyItem, verify_answers

        texts = [_completion_text(c) for c in completions]
        outcomes = verify_answers([VerifyItem(a, t) for a, t in zip(answer, texts)], workers=self.workers,
                                  item_timeout_s=self.item_timeout_s)
        correct = [o.agrees is True for o in outcomes]
        rewards = [1.0 if c else 0.0 for c in correct]
        if self.log is not None:
            self.log.add(self.stage, _step(kwargs), texts, rewards, correct)
        return rewards
