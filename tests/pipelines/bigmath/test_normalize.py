import json

from pipelines.bigmath import reasons
from pipelines.bigmath.answers import last_boxed, option_value, parse_options, split_gsm8k
from pipelines.bigmath.normalize import normalize_source
from pipelines.bigmath.sources import SourceSpec, load_source


def test_answer_extractors():
    assert split_gsm8k("She has 3 + 4 = <<3+4=7>>7 eggs.\n#### 1,007") == ("She has 3 + 4 = 7 eggs.", "1007")
    assert last_boxed("so $\\boxed{\\frac{1}{2}}$ and finally \\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.") == \
        "\\left( 3, \\frac{\\pi}{2} \\right)"
    assert last_boxed("no box here") is None
    assert last_boxed("\\boxed{unclosed") is None
    assert last_boxed("so $m = \\boxed 5$.") == "5"  # a box without braces
    assert last_boxed("\\boxed 7 first, then $\\boxed{\\dfrac{1}{2}}$") == "\\dfrac{1}{2}"
    opts = parse_options("A) $f(-6)=0$ B) $f(6)=-6$ C) 3")
    assert opts == ["A) $f(-6)=0$", "B) $f(6)=-6$", "C) 3"] and option_value(opts, "B") == "$f(6)=-6$"
    assert option_value(parse_options(["A)5(√3 + 1)", "B)6"]), "A") == "5(√3 + 1)"
    assert option_value(parse_options("a ) 12 , b ) 16 , c ) 20"), "c") == "20"


def write(tmp_path, lines: list[bytes]):
    p = tmp_path / "src.jsonl"
    p.write_bytes(b"\n".join(lines) + b"\n")
    return p


def test_bad_input_becomes_quarantine_rows_and_counts_add_up(tmp_path):
    lines = [
        json.dumps({"q": "What is 2+2?", "a": 4}).encode(),
        b'{"q": "broken',                                              # malformed JSON
        b"\xff\xfe\xfd",                                               # not UTF-8
        json.dumps({"a": "3"}).encode(),                               # missing field
        json.dumps({"q": ["a", "list"], "a": "1"}).encode(),           # wrong type
        json.dumps({"q": 12, "a": "1"}).encode(),                      # number as problem
        json.dumps({"q": "   ", "a": "1"}).encode(),                   # empty string
        json.dumps({"q": "x" * 1_000_000, "a": "1"}).encode(),         # a 1 MB problem
        json.dumps({"q": "$" + "{" * 200 + "x" + "}" * 200 + "$", "a": "1"}).encode(),  # deep LaTeX
        json.dumps({"q": "Find y.", "a": {"nested": 1}}).encode(),     # answer of wrong type
        json.dumps({"q": "Find z.", "a": None}).encode(),              # null answer: kept here, missing_answer later
    ]
    spec = SourceSpec("user", files=(str(write(tmp_path, lines)),), fields={"problem": "q", "answer": "a"})
    rows, bad = normalize_source(load_source(spec))
    assert rows.height + bad.height == len(lines)
    assert rows["problem"].to_list() == ["What is 2+2?", "Find z."]
    assert rows["answer"].to_list() == ["4", None]
    assert set(bad["reason"]) == {reasons.MALFORMED}
    details = dict(zip(bad["source_id"], bad["detail"]))
    assert "invalid JSON" in details["2"] and "not UTF-8" in details["3"]
    assert "missing field 'q'" in details["4"] and "list" in details["5"] and "number" in details["6"]
    assert "empty" in details["7"] and "characters" in details["8"] and "nested" in details["9"]
    assert "dict" in details["10"]
    assert bad["problem_id"].null_count() == 0


def test_problem_id_is_stable_and_ignores_whitespace_and_case(tmp_path):
    a = tmp_path / "a.jsonl"
    a.write_text(json.dumps({"p": "Find  X.", "a": "1"}) + "\n" + json.dumps({"p": "find x.", "a": "1"}) + "\n")
    spec = SourceSpec("s", files=(str(a),), fields={"problem": "p", "answer": "a"})
    rows, _ = normalize_source(load_source(spec))
    ids = rows["problem_id"].to_list()
    assert ids[0] == ids[1] and len(ids[0]) == 16
    assert rows["source_revision"][0].startswith("sha256:")


def test_hugging_face_source_reads_a_local_dataset_dir(tmp_path):
    """The Hub path is real `datasets` code; here it loads a local dataset directory."""
    d = tmp_path / "hf_ds"
    d.mkdir()
    (d / "train.jsonl").write_text("\n".join(json.dumps({"question": f"What is {i}+1?", "answer": f"#### {i + 1}"})
                                             for i in range(5)) + "\n")
    spec = SourceSpec("local_hub", hf_id=str(d), hf_split="train", hf_revision="v0",
                      fields={"problem": "question", "answer": "answer"}, answer_from="gsm8k")
    src = load_source(spec)
    rows, bad = normalize_source(src)
    assert bad.height == 0 and rows["answer"].to_list() == ["1", "2", "3", "4", "5"]
    assert set(rows["source_revision"]) == {"v0"}
