import click
import pytest

from pipelines.core.fields import parse_field_mapping


def test_field_mapping():
    assert parse_field_mapping(("problem=q", "answer=a"), ("problem", "answer")) == {"problem": "q", "answer": "a"}
    with pytest.raises(click.BadParameter, match="NAME=COLUMN"):
        parse_field_mapping(("problem",), ("problem",))
    with pytest.raises(click.BadParameter, match="not one of"):
        parse_field_mapping(("question=q",), ("problem",))
    with pytest.raises(click.BadParameter, match="empty"):
        parse_field_mapping(("problem=",), ("problem",))
    with pytest.raises(click.BadParameter, match="map the answer column"):
        parse_field_mapping(("problem=q",), ("problem", "answer"), required=("answer",))
