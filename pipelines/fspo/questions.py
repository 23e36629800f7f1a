"""Question banks per domain: JSONL files in data/sample/fspo/, de-duplicated on normalized text.

``load_questions`` picks each domain's configured number of questions in a seeded hash order and
marks the first ``unseen_questions`` of them unseen (split ``test_questions``: never in train).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import polars as pl

from pipelines.fspo.config import DOMAINS, FspoConfig

QUESTION_SCHEMA = {"domain": pl.Utf8, "question_id": pl.Utf8, "question": pl.Utf8, "source": pl.Utf8,
                   "source_id": pl.Utf8, "unseen": pl.Boolean}
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def question_id(domain: str, question: str) -> str:
    return hashlib.sha256(f"{domain}\x1f{normalize(question)}".encode()).hexdigest()[:16]


def bank_rows(domain: str, rows: list[dict]) -> tuple[list[dict], int]:
    """Rows with ``question_id``; later rows whose normalized text repeats an earlier one are dropped."""
    seen: set[str] = set()
    kept = []
    for r in rows:
        qid = question_id(domain, r["question"])
        if qid in seen:
            continue
        seen.add(qid)
        kept.append({"question_id": qid, **r})
    return sorted(kept, key=lambda r: r["question_id"]), len(rows) - len(kept)


def write_bank(rows: list[dict], path: Path) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows), encoding="utf-8")


def read_bank(domain: str, bank_dir: str | Path) -> list[dict]:
    path = Path(bank_dir) / f"questions_{domain}.jsonl"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no question bank for {domain!r}; run scripts/build_fspo_banks.py")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
            if not isinstance(row.get("question"), str) or not row["question"].strip():
                raise ValueError("no question text")
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: {exc}; fix the line or rebuild with scripts/build_fspo_banks.py") from None
        rows.append(row)
    return rows


def load_questions(cfg: FspoConfig) -> pl.DataFrame:
    parts = []
    for domain in DOMAINS:
        rows, _ = bank_rows(domain, [{k: r[k] for k in ("question", "source", "source_id")}
                                     for r in read_bank(domain, cfg.bank_dir)])
        want = cfg.questions.get(domain, 0)
        if want > len(rows):
            raise ValueError(f"{cfg.bank_dir}/questions_{domain}.jsonl has {len(rows)} distinct questions, the config "
                             f"asks for {want}; lower `questions` for {domain} in pipelines/fspo/config.py")
        order = sorted(rows, key=lambda r: hashlib.sha256(f"{cfg.seed}:{r['question_id']}".encode()).hexdigest())
        chosen = order[:want]
        unseen = {r["question_id"] for r in chosen[: cfg.unseen_questions.get(domain, 0)]}
        parts.extend({"domain": domain, **r, "unseen": r["question_id"] in unseen} for r in chosen)
    return pl.DataFrame(parts, schema=QUESTION_SCHEMA).sort("domain", "question_id")
