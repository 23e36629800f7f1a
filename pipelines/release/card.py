"""The dataset card: YAML front matter the Hub reads, and a body rendered from ``dataset_cards/``.

The front matter is built here (so it is always valid YAML the Hub and ``datasets`` accept); the
template places it and writes the prose around the data's real figures.
"""

from __future__ import annotations

from pathlib import Path

import yaml

CARDS_DIR = Path(__file__).resolve().parents[2] / "dataset_cards"
FALLBACK_TEMPLATE = "default.md.jinja"

_SIZE_BINS = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]


def size_category(rows: int) -> str:
    for bound, label in _SIZE_BINS:
        if rows < bound:
            return label
    return "n>1B"


def hub_license(spdx: str) -> str:
    """The Hub's license id for an SPDX id (the Hub uses lower case: mit, apache-2.0, cc-by-4.0)."""
    text = (spdx or "unknown").strip().lower()
    return text if text else "unknown"


def front_matter(*, pretty_name: str, licenses: list[str], language: list[str], task_categories: list[str],
                 tags: list[str], total_rows: int, configs: list[dict]) -> str:
    """``configs``: [{name, default, splits: [{name, pattern, rows, bytes}], features (yaml list), download_size}]."""
    data = {
        "license": licenses[0] if len(licenses) == 1 else licenses,
        "pretty_name": pretty_name,
    }
    if language:
        data["language"] = list(language)
    data["task_categories"] = list(task_categories)
    if tags:
        data["tags"] = list(tags)
    data["size_categories"] = [size_category(total_rows)]
    data["configs"] = [{
        "config_name": c["name"], **({"default": True} if c["default"] else {}),
        "data_files": [{"split": s["name"], "path": s["pattern"]} for s in c["splits"]],
    } for c in configs]
    data["dataset_info"] = [{
        "config_name": c["name"], "features": c["features_yaml"],
        "splits": [{"name": s["name"], "num_bytes": s["num_bytes"], "num_examples": s["rows"]} for s in c["splits"]],
        "download_size": c["download_size"], "dataset_size": sum(s["num_bytes"] for s in c["splits"]),
    } for c in configs]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def render_card(template: str, context: dict, cards_dir: str | Path | None = None) -> str:
    import jinja2

    directory = Path(cards_dir or CARDS_DIR)
    name = template if (directory / template).exists() else FALLBACK_TEMPLATE
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(directory)), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)
    text = env.get_template(name).render(**context)
    check_front_matter(text, name)
    return text


def check_front_matter(text: str, name: str = "card") -> dict:
    if not text.startswith("---\n"):
        raise ValueError(f"{name}: a dataset card must start with '---' YAML front matter")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise ValueError(f"{name}: the YAML front matter is not closed with '---'")
    data = yaml.safe_load(text[4:end])
    for key in ("license", "pretty_name", "task_categories", "size_categories", "configs"):
        if key not in data:
            raise ValueError(f"{name}: front matter lacks {key!r}")
    return data
