"""Build the FSPO question banks in data/sample/fspo/ from text the repo already ships.

- ELIX: MATH-500 problems (data/sample/math/math500_test.jsonl, MIT) that are short, have no
  figure and no hyperlink, asked as "Explain how to solve this problem: ...".
- review: the public-domain film list data/sample/fspo/movies.tsv (see data/sample/SOURCES.md).
- roleplay: data/sample/fspo/roleplay_questions.txt (written for this project).

Each bank is de-duplicated on normalized text and written as JSONL sorted by question_id.
Run: .venv/bin/python scripts/build_fspo_banks.py
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.fspo.questions import bank_rows, write_bank  # noqa: E402

OUT = ROOT / "data" / "sample" / "fspo"
MAX_ELIX = 60


def elix_rows() -> list[dict]:
    rows = []
    path = ROOT / "data" / "sample" / "math" / "math500_test.jsonl"
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        problem = json.loads(line)["problem"].strip()
        if len(problem) > 220 or "[asy]" in problem or "http" in problem or "\n" in problem:
            continue
        rows.append({"question": f"Explain how to solve this problem: {problem}",
                     "source": "math500", "source_id": f"math500_test.jsonl:{i + 1}"})
        if len(rows) >= MAX_ELIX:
            break
    return rows


def review_rows() -> list[dict]:
    with (OUT / "movies.tsv").open(encoding="utf-8") as fh:
        return [{"question": f"Write a review of the movie {r['title']} ({r['year']}), a {r['genre']} film.",
                 "source": "public_domain_films", "source_id": f"movies.tsv:{i + 2}"}
                for i, r in enumerate(csv.DictReader(fh, delimiter="\t"))]


def roleplay_rows() -> list[dict]:
    lines = (OUT / "roleplay_questions.txt").read_text(encoding="utf-8").splitlines()
    return [{"question": q.strip(), "source": "fspo_roleplay_questions", "source_id": f"roleplay_questions.txt:{i + 1}"}
            for i, q in enumerate(lines) if q.strip()]


def main() -> None:
    for domain, rows in (("elix", elix_rows()), ("review", review_rows()), ("roleplay", roleplay_rows())):
        kept, dropped = bank_rows(domain, rows)
        write_bank(kept, OUT / f"questions_{domain}.jsonl")
        print(f"{domain}: {len(kept)} questions ({dropped} duplicates dropped)")


if __name__ == "__main__":
    main()
