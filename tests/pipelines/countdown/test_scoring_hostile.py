"""``countdown score`` on hostile rows: one row scored 0 with a reason, never a traceback; counts add up."""

import json

from click.testing import CliRunner

from pipelines.cli import main


def _run(tmp_path, lines):
    src = tmp_path / "c.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    res = CliRunner().invoke(main, ["countdown", "score", str(src), "--out", str(out)])
    assert res.exception is None and res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["rows"] == len(rows) == len(lines)
    assert sum(summary["errors"].values()) == sum(r["parse_error"] is not None for r in rows)
    return rows, summary


def test_oversized_numbers_and_targets_are_rows_with_a_reason(tmp_path):
    ok = {"completion": "<answer>3 + 4</answer>", "numbers": [3, 4], "target": 7}
    lines = [
        json.dumps({**ok, "numbers": "9" * 5000}),                 # issue 15: a 5,000-character string
        json.dumps({**ok, "numbers": "1, " * 1700}),
        json.dumps({**ok, "target": int("9" * 400)}),              # issue 15: a 400-digit target
        json.dumps({**ok, "target": "9" * 400}),
        json.dumps({**ok, "numbers": [3, int("9" * 30)]}),
        json.dumps({**ok, "numbers": list(range(100))}),
        json.dumps({**ok, "numbers": [3, 4.5]}),
        json.dumps({**ok, "target": "NaN"}),
        json.dumps(ok),
    ]
    rows, summary = _run(tmp_path, lines)
    codes = [(r["parse_error"] or "").split(":")[0] for r in rows]
    assert codes == ["oversized"] * 6 + ["malformed_row"] * 2 + [""]
    assert [r["score"] for r in rows] == [0.0] * 8 + [1.0]
    assert "row 3" in rows[2]["parse_error"] and "'target'" in rows[2]["parse_error"]


def test_lone_surrogate_completion_is_a_row_not_a_crash(tmp_path):
    lines = ['{"completion": "<answer>3+4</answer>\\ud800", "numbers": [3, 4], "target": 7}',
             '{"completion": "<answer>3+4</answer>", "numbers": [3, 4], "target": 7}']
    rows, _ = _run(tmp_path, lines)
    assert rows[0]["score"] == 0.0 and rows[0]["parse_error"].startswith("malformed_row")
    assert rows[1]["score"] == 1.0


def test_reward_hacks_score_zero_in_the_command(tmp_path):
    lines = [json.dumps({"completion": f"<answer>{a}</answer>", "numbers": [3, 4], "target": 7})
             for a in ("3+4^2", "(3+4)^5", "3+4!")]
    lines.append(json.dumps({"completion": "<answer>" * 40_000, "numbers": [3, 4], "target": 7}))
    rows, summary = _run(tmp_path, lines)
    assert [r["score"] for r in rows] == [0.0] * 4
    assert summary["errors"] == {"no_answer_tag": 1, "unsupported_operator": 3}
