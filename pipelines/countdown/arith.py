"""A small, safe arithmetic parser for model-written Countdown expressions.

Model text is never handed to ``eval``. The grammar is integers/decimals, ``+ - * /``, unary
sign and parentheses; everything else (names, ``**``, ``^``, calls) is a parse error. Values are
exact :class:`fractions.Fraction`; input length, nesting depth, literal size and intermediate
magnitude are bounded so hostile input cannot hang or exhaust memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

MAX_CHARS = 256
MAX_DEPTH = 32
MAX_LITERAL_DIGITS = 12
MAX_MAGNITUDE = 10**40

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|(\*\*|[-+*/()^])|(\S))")


class ArithmeticError_(ValueError):
    """A parse or evaluation error; ``code`` is a stable reason."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Parsed:
    """The value of an expression and the literals it used (or why it could not be read)."""

    expression: str
    value: Fraction | None
    numbers: tuple = field(default_factory=tuple)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # only trailing whitespace can fail to match
            break
        num, op, other = m.groups()
        if num is not None:
            if len(num.replace(".", "")) > MAX_LITERAL_DIGITS:
                raise ArithmeticError_("number_too_large", f"literal {num[:20]}… has more than {MAX_LITERAL_DIGITS} digits")
            tokens.append(("num", num))
        elif op is not None:
            if op in ("**", "^"):
                raise ArithmeticError_("unsupported_operator", f"exponentiation {op!r} is not allowed in Countdown")
            tokens.append(("op", op))
        else:
            raise ArithmeticError_("unsupported_token", f"unexpected character {other!r} at position {m.start(3)}")
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.i = 0
        self.numbers: list[Fraction] = []

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expr(self, depth: int) -> Fraction:
        value = self.term(depth)
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            rhs = self.term(depth)
            value = _bounded(value + rhs if op == "+" else value - rhs)
        return value

    def term(self, depth: int) -> Fraction:
        value = self.unary(depth)
        while self.peek() in ("*", "/"):
            op = self.take()[1]
            rhs = self.unary(depth)
            if op == "*":
                value = _bounded(value * rhs)
            else:
                if rhs == 0:
                    raise ArithmeticError_("division_by_zero", "division by zero")
                value = _bounded(value / rhs)
        return value

    def unary(self, depth: int) -> Fraction:
        if self.peek() in ("-", "+"):
            if depth > MAX_DEPTH:
                raise ArithmeticError_("too_deep", f"more than {MAX_DEPTH} nested signs or parentheses")
            op = self.take()[1]
            value = self.unary(depth + 1)
            return -value if op == "-" else value
        return self.primary(depth)

    def primary(self, depth: int) -> Fraction:
        if self.i >= len(self.tokens):
            raise ArithmeticError_("syntax", "expression ends where a number was expected")
        kind, text = self.take()
        if kind == "num":
            value = Fraction(text)
            self.numbers.append(value)
            return value
        if text == "(":
            if depth >= MAX_DEPTH:
                raise ArithmeticError_("too_deep", f"more than {MAX_DEPTH} nested parentheses")
            value = self.expr(depth + 1)
            if self.peek() != ")":
                raise ArithmeticError_("unbalanced_parentheses", "'(' is never closed")
            self.take()
            return value
        if text == ")":
            raise ArithmeticError_("unbalanced_parentheses", "')' without a matching '('")
        raise ArithmeticError_("syntax", f"operator {text!r} where a number was expected")


def _bounded(value: Fraction) -> Fraction:
    if abs(value.numerator) > MAX_MAGNITUDE or value.denominator > MAX_MAGNITUDE:
        raise ArithmeticError_("value_too_large", "an intermediate value exceeds the allowed magnitude")
    return value


def evaluate(expression: str) -> tuple[Fraction, tuple[Fraction, ...]]:
    """Value of ``expression`` and the literals it uses, in order; raises :class:`ArithmeticError_`."""
    if expression is None or not expression.strip():
        raise ArithmeticError_("empty", "no expression")
    if len(expression) > MAX_CHARS:
        raise ArithmeticError_("too_long", f"expression longer than {MAX_CHARS} characters")
    tokens = _tokenize(expression)
    if not tokens:
        raise ArithmeticError_("empty", "no expression")
    parser = _Parser(tokens)
    value = parser.expr(0)
    if parser.i != len(tokens):
        nxt = tokens[parser.i][1]
        if nxt == ")":
            raise ArithmeticError_("unbalanced_parentheses", "')' without a matching '('")
        raise ArithmeticError_("syntax", f"unexpected {nxt!r} after a complete expression")
    return value, tuple(parser.numbers)


def parse_expression(expression: str) -> Parsed:
    """Like :func:`evaluate`, but never raises: errors come back as ``Parsed.error`` (``code: detail``)."""
    try:
        value, numbers = evaluate(expression)
    except ArithmeticError_ as exc:
        return Parsed(expression or "", None, (), f"{exc.code}: {exc.detail}")
    except RecursionError:  # defensive: depth is bounded above, this should not happen
        return Parsed(expression or "", None, (), "too_deep: recursion limit")
    return Parsed(expression, value, numbers, None)
