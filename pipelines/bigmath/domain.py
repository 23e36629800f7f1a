"""The ``domain`` column: which branch of mathematics a problem needs.

Big-Math labels every row with a domain path ("Mathematics -> Algebra -> ..."; a list of strings
in the published set). Ours: one label from :data:`DOMAINS` per row, in a one-element list (the
anchor's type), asked of the LLM layer with ``prompts/bigmath/domain.md`` when a model is
configured; keyword rules over the problem text otherwise, and for every item the model did not
answer usably. ``domain_method`` says which (``llm`` or ``rule``). The rules are deterministic:
the same text always gets the same label.
"""

from __future__ import annotations

import re
from typing import Literal

import polars as pl
from pydantic import BaseModel

PROMPT = "bigmath/domain"

ALGEBRA = "Mathematics -> Algebra"
GEOMETRY = "Mathematics -> Geometry"
NUMBER_THEORY = "Mathematics -> Number Theory"
COMBINATORICS = "Mathematics -> Discrete Mathematics -> Combinatorics"
PROBABILITY = "Mathematics -> Applied Mathematics -> Statistics and Probability"
CALCULUS = "Mathematics -> Calculus"
TRIGONOMETRY = "Mathematics -> Precalculus -> Trigonometry"
SEQUENCES = "Mathematics -> Algebra -> Sequences and Series"
WORD_PROBLEMS = "Mathematics -> Applied Mathematics -> Math Word Problems"

# the order breaks ties: a more specific branch before a broader one
DOMAINS: tuple[str, ...] = (CALCULUS, PROBABILITY, COMBINATORICS, NUMBER_THEORY, TRIGONOMETRY, GEOMETRY, SEQUENCES,
                            ALGEBRA, WORD_PROBLEMS)

_RULES: dict[str, tuple[str, ...]] = {
    CALCULUS: (r"\\int(?![A-Za-z])", r"\bintegral", r"\bderivative", r"\\lim(?![A-Za-z])", r"\blimit\b", r"\bdifferentiab", r"f'\(",
               r"\bmaximum value of the function", r"\bmonoton", r"\btangent line"),
    PROBABILITY: (r"\bprobabilit", r"\bexpected value", r"\brandom(ly)?\b", r"\bdice?\b", r"\bcoins?\b", r"\bmean\b",
                  r"\bmedian\b", r"\bvariance", r"\bstandard deviation", r"\bsample\b"),
    COMBINATORICS: (r"\bhow many ways", r"\barrange", r"\bpermutation", r"\bcombination", r"\\binom", r"\bchoose\b",
                    r"\bcommittee", r"\bsubsets?\b", r"\bpigeonhole", r"\bgraph\b"),
    NUMBER_THEORY: (r"\bprime", r"\bdivisi", r"\bdivides\b", r"\bremainder", r"\bmodulo\b", r"\\pmod", r"\bgcd\b",
                    r"\blcm\b", r"\bgreatest common divisor", r"\bleast common multiple", r"\bintegers?\b", r"\bdigits?\b"),
    TRIGONOMETRY: (r"\\sin(?![A-Za-z])", r"\\cos(?![A-Za-z])", r"\\tan(?![A-Za-z])", r"\bsine\b", r"\bcosine\b", r"\btrigonometr", r"\\cot(?![A-Za-z])"),
    GEOMETRY: (r"\btriangle", r"\bcircle", r"\bradius", r"\bangle", r"\bpolygon", r"\bsquare\b", r"\brectangle",
               r"\barea\b", r"\bperimeter", r"\bvolume\b", r"\bsphere", r"\bcone\b", r"\bcylinder", r"\bparallel",
               r"\\angle", r"\\triangle", r"\bellipse", r"\bparabola", r"\bhyperbola", r"\bcoordinates?\b"),
    SEQUENCES: (r"\bsequence", r"\bseries\b", r"\barithmetic progression", r"\bgeometric progression", r"\ba_\{?n",
                r"\bterms?\b of the", r"\\sum(?![A-Za-z])"),
    ALGEBRA: (r"\bequation", r"\bpolynomial", r"\broots?\b", r"\bsolve for", r"\binequalit", r"\bfunction", r"\bx\^",
              r"\bquadratic", r"\blogarithm", r"\\log(?![A-Za-z])", r"\bsystem of", r"\bvariables?\b", r"\bexpression"),
}
# LaTeX commands end at a non-letter ("\\int_0", "\\sin^2"): \b would miss them before "_" or digits
_COMPILED = {d: [re.compile(p, re.I) for p in pats] for d, pats in _RULES.items()}
_MATH_MARKUP = re.compile(r"[$\\^=]")


def rule_domain(problem: str) -> str:
    """The label with the most keyword hits (ties: :data:`DOMAINS` order); none: word problem or algebra."""
    text = problem or ""
    best, best_hits = None, 0
    for domain in DOMAINS:
        hits = sum(1 for rx in _COMPILED.get(domain, ()) if rx.search(text))
        if hits > best_hits:
            best, best_hits = domain, hits
    if best is not None:
        return best
    return ALGEBRA if _MATH_MARKUP.search(text) else WORD_PROBLEMS


class DomainLabel(BaseModel):
    domain: Literal[DOMAINS]  # type: ignore[valid-type] - a reply outside the list is a schema mismatch


def label_domains(problems: list[str], client=None) -> tuple[list[str], list[str], dict]:
    """(domain per problem, method per problem, metadata). ``client``: an LLMClient or None."""
    rules = [rule_domain(p) for p in problems]
    if client is None:
        return rules, ["rule"] * len(problems), {"method": "rule"}
    from pipelines.llm import load_prompt

    prompt = load_prompt(PROMPT)
    results = client.structured(prompt, [{"problem": p, "labels": list(DOMAINS)} for p in problems], DomainLabel)
    domains, methods = [], []
    for rule, r in zip(rules, results):
        if r.ok:
            domains.append(r.parsed.domain)
            methods.append("llm")
        else:  # a missing model opinion falls back to the rules, never to null
            domains.append(rule)
            methods.append("rule")
    meta = {"method": "llm", "model": client.model, "prompt": f"{prompt.name}@{prompt.version}/{prompt.short_hash}",
            "llm_labelled": methods.count("llm"), "rule_fallback": methods.count("rule")}
    return domains, methods, meta


def with_domain(frame: pl.DataFrame, client=None) -> tuple[pl.DataFrame, dict]:
    """``frame`` with ``domain`` (list of one label, the anchor's type) and ``domain_method``."""
    domains, methods, meta = label_domains(frame.get_column("problem").to_list(), client)
    out = frame.with_columns(pl.Series("domain", [[d] for d in domains], dtype=pl.List(pl.Utf8)),
                             pl.Series("domain_method", methods, dtype=pl.Utf8))
    meta["counts"] = {d: domains.count(d) for d in sorted(set(domains))}
    return out, meta
