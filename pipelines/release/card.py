"""The dataset card: YAML front matter the Hub reads, and a body rendered from ``dataset_cards/``.

The front matter is ``huggingface_hub.DatasetCardData`` filled here (``dataset_info`` by ``datasets``'
own writer), so it is always metadata the Hub and ``datasets`` accept; the template places it and
writes the prose around the data's real figures; ``huggingface_hub.DatasetCard`` parses it back.
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


def card_data(*, pretty_name: str, licenses: list[str], language: list[str], task_categories: list[str],
              tags: list[str], total_rows: int, configs: list[dict]):
    """The card's metadata as ``huggingface_hub.DatasetCardData``, with ``dataset_info`` written by
    ``datasets`` itself (``DatasetInfosDict.to_dataset_card_data``, what ``push_to_hub`` uses), so the
    Hub and ``load_dataset`` read back exactly the features and splits of the shards.

    ``configs``: [{name, default, features (``Features.to_dict()``), download_size,
    splits: [{name, pattern, rows, num_bytes}]}].
    """
    import datasets
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    data = DatasetCardData(
        license=licenses[0] if len(licenses) == 1 else list(licenses),
        pretty_name=pretty_name,
        language=list(language) or None,
        task_categories=list(task_categories),
        tags=list(tags) or None,
        size_categories=[size_category(total_rows)],
        configs=[{"config_name": c["name"], **({"default": True} if c["default"] else {}),
                  "data_files": [{"split": s["name"], "path": s["pattern"]} for s in c["splits"]]} for c in configs],
    )
    infos = {}
    for c in configs:
        splits = datasets.SplitDict()
        for s in c["splits"]:
            splits.add(datasets.SplitInfo(name=s["name"], num_bytes=s["num_bytes"], num_examples=s["rows"]))
        infos[c["name"]] = datasets.DatasetInfo(
            features=datasets.Features.from_dict(c["features"]), splits=splits, download_size=c["download_size"],
            dataset_size=sum(s["num_bytes"] for s in c["splits"]))
    DatasetInfosDict(infos).to_dataset_card_data(data)
    return data


def front_matter(**fields) -> str:
    """The YAML between the card's ``---`` lines (:func:`card_data` dumped by huggingface_hub)."""
    return card_data(**fields).to_yaml() + "\n"


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
    """The card's metadata as huggingface_hub parses it; fails naming the card and the missing field."""
    from huggingface_hub import DatasetCard

    if not text.startswith("---\n"):
        raise ValueError(f"{name}: a dataset card must start with '---' YAML front matter")
    try:
        data = DatasetCard(text).data.to_dict()
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"{name}: the YAML front matter does not parse: {exc}") from None
    for key in ("license", "pretty_name", "task_categories", "size_categories", "configs", "dataset_info"):
        if key not in data:
            raise ValueError(f"{name}: front matter lacks {key!r}")
    return data
