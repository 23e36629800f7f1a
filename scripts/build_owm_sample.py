"""Build the OpenWebMath-shaped sample shards in data/sample/owm/ from ../shared/data/owm/.

    python scripts/build_owm_sample.py [--shared ../shared/data] [--out data/sample/owm]

Deterministic: the same inputs give byte-identical Parquet files. Run once by a maintainer; the
pipeline reads only the committed shards, never ../shared.

- stackexchange-00000.parquet: every StackMathQA row (MathOverflow, Cross Validated, Physics SE).
  ``text`` = question + blank line + answer (OpenWebMath keeps a Stack Exchange page's question
  and answers in one document), ``url`` = meta.url, ``date`` = meta.timestamp, ``metadata`` = the
  rest of ``meta`` as a JSON string plus the license.
- wikitext-00000.parquet: WikiText-2 (validation) paragraphs of at least MIN_WORDS words, real
  non-math prose as negatives. WikiText's tokenization artifacts (`` @-@ ``, `` , ``) are undone
  so a classifier cannot separate math from prose by spacing alone; ``<unk>`` stays.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
MIN_WORDS = 40
MAX_WIKI_PARAGRAPHS = 1000
SCHEMA = pa.schema([("text", pa.string()), ("url", pa.string()), ("date", pa.string()), ("metadata", pa.string())])
SE_LICENSE = "CC BY-SA (Stack Exchange content; attribute by url); collection CC BY 4.0 (StackMathQA)"
WIKI_LICENSE = "CC BY-SA 3.0 (Wikipedia, via WikiText-2)"


def stackexchange_rows(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            meta = dict(r["meta"])
            url, date = meta.pop("url"), meta.pop("timestamp", None)
            meta["license"] = SE_LICENSE
            meta["collection"] = "yifanzhang-pro/StackMathQA (stackmathqa100k)"
            rows.append({"text": f"{r['Q'].strip()}\n\n{r['A'].strip()}", "url": url, "date": date,
                         "metadata": json.dumps(meta, sort_keys=True, ensure_ascii=False)})
    return rows


_DETOK = [(re.compile(r" @(\S)@ "), r"\1"), (re.compile(r" ([,.;:!?)\]'])"), r"\1"), (re.compile(r"([(\[]) "), r"\1"),
          (re.compile(r" 's\b"), "'s")]
_HEADING = re.compile(r"^\s*(=+)\s*(.*?)\s*\1\s*$")


def detokenize(line: str) -> str:
    line = line.strip()
    for pattern, repl in _DETOK:
        line = pattern.sub(repl, line)
    return line


def wikitext_rows(path: Path) -> list[dict]:
    rows, title, para = [], None, 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            m = _HEADING.match(line)
            if m and len(m.group(1)) == 1:
                title, para = m.group(2), 0
                continue
            if m or not line.strip() or title is None:
                continue
            para += 1
            text = detokenize(line)
            if len(text.split()) < MIN_WORDS:
                continue
            meta = {"source": "wikitext-2", "article": title, "paragraph": para, "license": WIKI_LICENSE}
            rows.append({"text": text, "url": "https://en.wikipedia.org/wiki/" + title.replace(" ", "_"), "date": None,
                         "metadata": json.dumps(meta, sort_keys=True, ensure_ascii=False)})
            if len(rows) >= MAX_WIKI_PARAGRAPHS:
                break
    return rows


def write_shard(rows: list[dict], path: Path) -> None:
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    path.parent.mkdir(parents=True, exist_ok=True)
    # small row groups: the reader's record batches stream within a shard, like a Hub shard's
    pq.write_table(table, path, compression="zstd", row_group_size=128, write_statistics=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(REPO / "data" / "sample" / "owm"))
    args = ap.parse_args()
    shared, out = Path(args.shared), Path(args.out)
    se = stackexchange_rows(shared / "owm" / "stackmathqa_sample.jsonl")
    wiki = wikitext_rows(shared / "owm" / "wikitext2_valid.txt")
    write_shard(se, out / "stackexchange-00000.parquet")
    write_shard(wiki, out / "wikitext-00000.parquet")
    print(f"{len(se)} Stack Exchange rows, {len(wiki)} WikiText-2 paragraphs -> {out}")


if __name__ == "__main__":
    main()
