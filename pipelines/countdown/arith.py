"""The strict arithmetic grammar of a Countdown answer, parsed by hand (no ``eval``, no regex).

Grammar (EBNF; ``ws`` is ASCII space, tab, CR or LF; nothing else may appear)::

    answer     = ws expression ws [ "=" ws integer ws ] ;
    expression = term { ws ( "+" | "-" ) ws term } ;
    term       = factor { ws ( "*" | "/" ) ws factor } ;
    factor     = integer | "(" ws expression ws ")" ;
    integer    = "0" | ( "1" … "9" ) { "0" … "9" } ;      (ASCII digits, at most 12)

No unary sign, no decimals, no ``^``/``**``/``!``/``%``, no names or calls, no unicode digits or
operators (``×``, ``÷``, ``−``, full-width ``３``): the prompt asks for ``+ - * /`` and a reward must
not guess. The optional ``= N`` must equal the expression's value; ``N`` is not a used number.

Caps are checked before the parse (length, then parenthesis depth by one linear scan) so hostile
text costs at most one pass over :data:`MAX_CHARS` characters; values are exact
:class:`fractions.Fraction` and every intermediate value is bounded by :data:`MAX_MAGNITUDE`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from pipelines.countdown.limits import MAX_CHARS, MAX_DEPTH, MAX_LITERAL_DIGITS, MAX_MAGNITUDE
# stable parse-error codes (the prefix of ``Parsed.error``) live with the family's other reasons
from pipelines.countdown.reasons import (
    DIVISION_BY_ZERO,
    EMPTY,
    GRAMMAR_CODES as CODES,
    NUMBER_TOO_LARGE,
    SYNTAX,
    TOO_DEEP,
    TOO_LONG,
    UNBALANCED,
    UNSUPPORTED_CHARACTER,
    UNSUPPORTED_OPERATOR,
    VALUE_TOO_LARGE,
    WRONG_RESULT,
)

_WS = frozenset(" \t\r\n")
_DIGITS = frozenset("0123456789")
_OPS = frozenset("+-*/()=")
# operators a model might try; named so the reason says "operator", not just "character"
_FOREIGN_OPS = frozenset("^!%×÷−·⋅∗√") | frozenset("xX")


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

    @property
    def code(self) -> str | None:
        return None if self.error is None else self.error.split(":", 1)[0]


def _show(ch: str) -> str:
    """A character as ASCII (lone surrogates and control characters included) for an error message."""
    return f"{ascii(ch)} (U+{ord(ch):04X})" if not (" " < ch < "\x7f") else repr(ch)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) tokens; one pass, no backtracking."""
    tokens: list[tuple[str, str, int]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _WS:
            i += 1
        elif ch in _DIGITS:
            j = i
            while j < n and text[j] in _DIGITS:
                j += 1
            literal = text[i:j]
            if j - i > MAX_LITERAL_DIGITS:
                raise ArithmeticError_(NUMBER_TOO_LARGE, f"literal {literal[:16]}… has more than {MAX_LITERAL_DIGITS} digits")
            if len(literal) > 1 and literal[0] == "0":
                raise ArithmeticError_(SYNTAX, f"literal {literal!r} at {i} has a leading zero")
            if j < n and text[j] == ".":
                raise ArithmeticError_(UNSUPPORTED_CHARACTER, f"'.' at {j}: only integer literals are allowed")
            tokens.append(("num", literal, i))
            i = j
        elif ch in _OPS:
            if ch == "*" and i + 1 < n and text[i + 1] == "*":
                raise ArithmeticError_(UNSUPPORTED_OPERATOR, f"'**' at {i}: exponentiation is not allowed")
            tokens.append(("op", ch, i))
            i += 1
        elif ch in _FOREIGN_OPS:
            raise ArithmeticError_(UNSUPPORTED_OPERATOR, f"{_show(ch)} at {i}: only + - * / and parentheses are allowed")
        else:
            raise ArithmeticError_(UNSUPPORTED_CHARACTER, f"{_show(ch)} at {i}: not part of the answer grammar")
    return tokens


def _check_depth(tokens: list[tuple[str, str, int]]) -> None:
    depth = 0
    for _, tok, pos in tokens:
        if tok == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise ArithmeticError_(TOO_DEEP, f"more than {MAX_DEPTH} nested parentheses")
        elif tok == ")":
            depth -= 1
            if depth < 0:
                raise ArithmeticError_(UNBALANCED, f"')' at {pos} without a matching '('")
    if depth:
        raise ArithmeticError_(UNBALANCED, "'(' is never closed")


class _Parser:
    """Recursive descent over the grammar above; depth is bounded by :func:`_check_depth` first."""

    def __init__(self, tokens: list[tuple[str, str, int]]):
        self.tokens = tokens
        self.i = 0
        self.numbers: list[Fraction] = []

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expr(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            rhs = self.term()
            value = _bounded(value + rhs if op == "+" else value - rhs)
        return value

    def term(self) -> Fraction:
        value = self.factor()
        while self.peek() in ("*", "/"):
            op = self.take()[1]
            rhs = self.factor()
            if op == "*":
                value = _bounded(value * rhs)
            else:
                if rhs == 0:
                    raise ArithmeticError_(DIVISION_BY_ZERO, "division by zero")
                value = _bounded(value / rhs)
        return value

    def factor(self) -> Fraction:
        if self.i >= len(self.tokens):
            raise ArithmeticError_(SYNTAX, "the expression ends where a number was expected")
        kind, text, pos = self.take()
        if kind == "num":
            value = Fraction(int(text))
            self.numbers.append(value)
            return value
        if text == "(":
            value = self.expr()
            if self.peek() != ")":
                raise ArithmeticError_(SYNTAX, f"'(' at {pos} is not closed where expected")
            self.take()
            return value
        raise ArithmeticError_(SYNTAX, f"{text!r} at {pos} where a number was expected (no unary signs)")


def _bounded(value: Fraction) -> Fraction:
    if abs(value.numerator) > MAX_MAGNITUDE or value.denominator > MAX_MAGNITUDE:
        raise ArithmeticError_(VALUE_TOO_LARGE, f"an intermediate value exceeds 10^40")
    return value


def evaluate(expression: str) -> tuple[Fraction, tuple[Fraction, ...]]:
    """Value of a whole answer (grammar above) and the literals it uses; raises :class:`ArithmeticError_`."""
    if not isinstance(expression, str) or not expression.strip(" \t\r\n"):
        raise ArithmeticError_(EMPTY, "no expression")
    if len(expression) > MAX_CHARS:  # before any scan: the cost of a hostile answer is bounded
        raise ArithmeticError_(TOO_LONG, f"answer is {len(expression)} characters (limit {MAX_CHARS})")
    tokens = _tokenize(expression)
    if not tokens:
        raise ArithmeticError_(EMPTY, "no expression")
    result = None
    eq = [k for k, (_, tok, _) in enumerate(tokens) if tok == "="]
    if eq:
        k = eq[0]
        rest = tokens[k + 1:]
        if len(eq) > 1 or len(rest) != 1 or rest[0][0] != "num":
            raise ArithmeticError_(SYNTAX, "'=' may only be followed by one integer (the result)")
        result = Fraction(int(rest[0][1]))
        tokens = tokens[:k]
        if not tokens:
            raise ArithmeticError_(EMPTY, "no expression before '='")
    _check_depth(tokens)
    parser = _Parser(tokens)
    value = parser.expr()
    if parser.i != len(tokens):
        _, nxt, pos = tokens[parser.i]
        raise ArithmeticError_(SYNTAX, f"unexpected {nxt!r} at {pos} after a complete expression")
    if result is not None and result != value:
        raise ArithmeticError_(WRONG_RESULT, f"the expression is {value}, not the stated {result}")
    return value, tuple(parser.numbers)


def parse_expression(expression: str) -> Parsed:
    """Like :func:`evaluate`, but never raises: errors come back as ``Parsed.error`` (``code: detail``)."""
    try:
        value, numbers = evaluate(expression)
    except ArithmeticError_ as exc:
        return Parsed(expression if isinstance(expression, str) else "", None, (), f"{exc.code}: {exc.detail}")
    return Parsed(expression, value, numbers, None)
