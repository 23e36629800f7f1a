"""Optional QA rewrite of selected documents into ``<think>…</think><answer>…</answer>`` completions.

Two LLM passes through ``pipelines.llm``: the gate prompt (``owm/problem_solution_domain``) writes
the ``contain_problem``, ``contain_solution`` and ``domain`` columns the anchor's QA step expects
but no anchor script writes; documents with both a problem and a solution go to the rewrite
prompt (``owm/qa_rewrite``), whose ``<question>``, ``<think>`` and ``<answer>`` sections become
``query`` and ``completion``. Every input document ends as a QA row or a rejected row with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import polars as pl

from pipelines.llm import LLM_ERROR, LLMClient, load_prompt
from pipelines.owm import reasons
from pipelines.owm.parse import parse_yes_no, tagged

GATE_PROMPT = "owm/problem_solution_domain"
REWRITE_PROMPT = "owm/qa_rewrite"


@dataclass(frozen=True)
class Gate:
    contain_problem: bool | None
    contain_solution: bool | None
    domain: str | None


def parse_gate(reply: str | None) -> Gate:
    domain = tagged(reply, "domain")
    return Gate(parse_yes_no(tagged(reply, "problem")), parse_yes_no(tagged(reply, "solution")),
                domain[:80] if domain else None)


def completion_text(think: str, answer: str) -> str:
    return f"<think>{think}</think><answer>{answer}</answer>"


@dataclass
class QAResult:
    qa: pl.DataFrame
    rejected: pl.DataFrame
    gates: pl.DataFrame


def rewrite_qa(llm: LLMClient, docs: Sequence[dict[str, Any]], label_chars: int = 12_000) -> QAResult:
    """``docs`` need ``doc_id`` and ``text``; every other key is carried to the outputs."""
    gate_prompt, rewrite_prompt = load_prompt(GATE_PROMPT), load_prompt(REWRITE_PROMPT)
    replies = llm.complete_many([gate_prompt.render(text=d["text"][:label_chars]) for d in docs],
                                dict(gate_prompt.params), desc="owm gate")
    gates, passed, rejected = [], [], []
    for doc, reply in zip(docs, replies):
        if isinstance(reply, Exception):
            rejected.append({**doc, "reason": LLM_ERROR, "detail": f"gate: {type(reply).__name__}: {reply}"[:500]})
            continue
        g = parse_gate(reply.text)
        gates.append({"doc_id": doc["doc_id"], "contain_problem": g.contain_problem,
                      "contain_solution": g.contain_solution, "domain": g.domain})
        if g.contain_problem is None or g.contain_solution is None:
            rejected.append({**doc, "reason": reasons.GATE_UNPARSED, "detail": f"gate reply without yes/no: {(reply.text or '')[:200]!r}"})
        elif not (g.contain_problem and g.contain_solution):
            rejected.append({**doc, "reason": reasons.NO_PROBLEM,
                             "detail": f"contain_problem={g.contain_problem} contain_solution={g.contain_solution}"})
        else:
            passed.append({**doc, "contain_problem": True, "contain_solution": True, "domain": g.domain})
    qa = []
    if passed:
        rewrites = llm.complete_many([rewrite_prompt.render(text=d["text"][:label_chars]) for d in passed],
                                     dict(rewrite_prompt.params), desc="owm qa rewrite")
        for doc, reply in zip(passed, rewrites):
            if isinstance(reply, Exception):
                rejected.append({**doc, "reason": LLM_ERROR, "detail": f"rewrite: {type(reply).__name__}: {reply}"[:500]})
                continue
            q, think, ans = (tagged(reply.text, t) for t in ("question", "think", "answer"))
            if not (q and think and ans):
                missing = [t for t, v in (("question", q), ("think", think), ("answer", ans)) if not v]
                rejected.append({**doc, "reason": reasons.REWRITE_UNPARSED, "detail": f"rewrite lacks <{'>, <'.join(missing)}>"})
                continue
            qa.append({**doc, "query": q, "completion": completion_text(think, ans), "qa_model": llm.model,
                       "qa_prompt_hash": rewrite_prompt.short_hash})
    qa_frame = pl.DataFrame(qa, infer_schema_length=None) if qa else pl.DataFrame(
        schema={"doc_id": pl.Utf8, "query": pl.Utf8, "completion": pl.Utf8, "qa_model": pl.Utf8, "qa_prompt_hash": pl.Utf8})
    rej_frame = pl.DataFrame(rejected, infer_schema_length=None) if rejected else pl.DataFrame(
        schema={"doc_id": pl.Utf8, "reason": pl.Utf8, "detail": pl.Utf8})
    return QAResult(qa_frame, rej_frame,
                    pl.DataFrame(gates, schema={"doc_id": pl.Utf8, "contain_problem": pl.Boolean,
                                                "contain_solution": pl.Boolean, "domain": pl.Utf8}))
