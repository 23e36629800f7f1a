"""annotate -> train -> score -> select -> QA rewrite against the scripted local LLM server
(real socket, real ``openai`` client), with spaced, unclosed and unparseable counts, a 500,
an unreadable gate and a rewrite without <think>; then a resume from the cache."""

import re

import polars as pl
import pytest

from pipelines.llm import LLMClient, LLMConfig
from pipelines.owm import reasons
from pipelines.owm.config import OwmConfig, SelectionRule
from pipelines.owm.parse import OK, UNPARSED
from pipelines.owm.pipeline import annotate_and_train, build_corpora, read_scored
from pipelines.owm.qa import rewrite_qa
from pipelines.owm.scorers import BaselineScorer, load_scorer
from tests.pipelines.llm.server import Reply, ScriptedServer, first_user
from tests.pipelines.owm.conftest import write_parquet
from validators.owm import check_corpora

CUES = {"verification": ("verify", "double-check"), "backtracking": ("doesn't work",),
        "subgoal_setting": ("First, we need",), "backward_chaining": ("Working backwards",)}
ASKS = {"**verifies**": "verification", "**backtracks**": "backtracking", "**sets subgoals**": "subgoal_setting",
        "**backward chaining**": "backward_chaining"}


@pytest.fixture(autouse=True)
def _loopback(loopback_only):
    yield


def _doc(user: str) -> tuple[str, int]:
    text = user.split("<text>", 1)[1].split("</text>", 1)[0]
    return text, int(re.search(r"(?:Case|Item) (\d+)", text).group(1))


def responder(body: dict, n: int) -> Reply:
    user = first_user(body)
    text, i = _doc(user)
    if "Answer three questions" in user:  # the gate
        if i == 6:
            return Reply("<problem>perhaps</problem><solution>perhaps</solution>")
        yes = "yes" if "Case" in text else "no"
        return Reply(f"<problem>{yes}</problem>\n<solution>{yes}</solution>\n<domain>algebra</domain>")
    if "Rewrite it as" in user:
        if i == 8:
            return Reply("<question>Q</question><answer>4</answer>")
        return Reply(f"<question>Question {i}</question>\n<think>I check it.</think>\n<answer>{i}</answer>")
    behavior = next(b for k, b in ASKS.items() if k in user)
    if behavior == "verification" and i == 10 and n == 0:
        return Reply(status=500)  # retried by the LLM layer
    count = sum(text.count(c) for c in CUES[behavior])
    label = behavior.replace("_", " ").capitalize()
    head = f"{label}: {'yes' if count else 'no'}\n"
    if i % 10 == 4:
        return Reply("It is hard to say from this text.")  # unparseable: kept apart from 0
    if i % 5 == 1:
        return Reply(head + f"<count> {count} </count>")    # spaces: strict misses it
    if i % 5 == 2:
        return Reply(head + f"<count>{count}")              # no closing tag
    return Reply(head + f"<count>{count}</count>")


def llm_config(server, tmp_path) -> LLMConfig:
    return LLMConfig(backend="openai", base_url=server.url, model="test-model", api_key="k",
                     cache_path=str(tmp_path / "cache.sqlite"), max_retries=2, timeout_s=10, backoff_base_s=0.01,
                     progress=False)


def test_annotate_train_score_select_rewrite(tmp_path, owm_rows):
    shard = write_parquet(tmp_path / "shard-00000.parquet", owm_rows)
    cfg = OwmConfig(shards=(str(shard),), token_budget=400, n_features=2 ** 12, epochs=10, heldout_fraction=0.3,
                    rule=SelectionRule(enriched_min=0.5, control_max=0.3))
    docs, _ = read_scored(cfg, BaselineScorer())
    with ScriptedServer(responder) as server:
        with LLMClient(llm_config(server, tmp_path)) as llm:
            result = annotate_and_train(cfg, llm, docs, sample_size=60, plot_path=tmp_path / "pr.png")

            labels = result.labels
            assert labels.height == 60 * 4
            assert labels.filter(pl.col("status") == UNPARSED).height == 6 * 4  # docs 4, 14, ..., 54
            assert labels.filter(pl.col("status") == OK).height == 54 * 4
            assert set(labels.get_column("labelling_model")) == {"test-model"}
            assert labels.filter(pl.col("status") == OK).get_column("said_yes").null_count() == 0
            ok = labels.filter(pl.col("status") == OK)
            assert ok.filter(pl.col("said_yes") != (pl.col("count_lenient") > 0)).height == 0
            pf = result.parse_failures["verification"]
            assert pf["lenient_unparsed_rate"] == 0.1 and pf["strict_unparsed_rate"] > 0.4 and pf["llm_failures"] == 0
            assert result.train_docs + result.heldout_docs == 54
            for scorer in ("classifier", "baseline"):
                for m in result.metrics[scorer].values():
                    assert set(m) >= {"precision", "recall", "pr_auc"}
            assert result.metrics["classifier"]["verification"]["recall"] > 0.5
            assert (tmp_path / "pr.png").read_bytes().startswith(b"\x89PNG")

            model_path = result.scorer.save(tmp_path / "owm_clf.npz")
            clf = load_scorer(str(model_path))
            build = build_corpora(cfg, clf)
            assert all(not problems for problems in check_corpora(build, cfg).values()), check_corpora(build, cfg)
            assert set(build.enriched.get_column("scorer_version")) == {clf.version}
            assert set(build.enriched.get_column("labelling_model")) == {"test-model"}
            assert build.enriched.get_column("text").str.contains("Case").all()
            assert build.control.get_column("text").str.contains("Item").all()

            selected = build.enriched.select("doc_id", "text").to_dicts()
            qa = rewrite_qa(llm, selected)
            assert qa.qa.height + qa.rejected.height == len(selected)
            assert qa.qa.get_column("completion").str.contains(r"^<think>.*</think><answer>.*</answer>$").all()
            assert set(qa.rejected.get_column("reason")) <= {reasons.GATE_UNPARSED, reasons.REWRITE_UNPARSED}
            assert set(qa.gates.columns) == {"doc_id", "contain_problem", "contain_solution", "domain"}

        # resume: a new client on the same cache asks the server nothing again
        calls = len(server.requests)
        with LLMClient(llm_config(server, tmp_path)) as llm:
            again = annotate_and_train(cfg, llm, docs, sample_size=60)
            assert len(server.requests) == calls
            assert llm.stats.calls == 0 and llm.stats.cache_hits == 240
            assert again.scorer.version == result.scorer.version  # same labels, same seed: same model


def test_prose_docs_are_rejected_by_the_gate(tmp_path, owm_rows):
    docs = [{"doc_id": f"d{i}", "text": r["text"]} for i, r in enumerate(owm_rows[:12])]
    with ScriptedServer(responder) as server, LLMClient(llm_config(server, tmp_path)) as llm:
        qa = rewrite_qa(llm, docs)
    reasons_by_doc = dict(zip(qa.rejected.get_column("doc_id"), qa.rejected.get_column("reason")))
    assert reasons_by_doc["d1"] == reasons.NO_PROBLEM      # "Item 1": prose
    assert reasons_by_doc["d6"] == reasons.GATE_UNPARSED
    assert reasons_by_doc["d8"] == reasons.REWRITE_UNPARSED
    assert qa.qa.height + qa.rejected.height == 12


@pytest.mark.slow
def test_annotation_as_engine_batches_gives_the_same_labels(tmp_path, owm_rows, ray_inprocess):
    """The annotation requests as engine batches (pipelines.llm.distributed.complete_on_engine): on the
    in-process Ray cluster and on the local engine, the labels equal those asked from this process."""
    from pipelines.engine.local import LocalEngine
    from pipelines.owm.annotate import annotate, engine_ask

    docs = [{"doc_id": f"d{i:02d}", "text": r["text"]} for i, r in enumerate(owm_rows[:24])]
    with ScriptedServer(responder) as server:
        base = llm_config(server, tmp_path)
        with LLMClient(base) as llm:
            want = annotate(llm, docs)
            for name, engine in (("ray", ray_inprocess), ("local", LocalEngine())):
                asked = len(server.requests)
                cfg = base.with_(cache_path=str(tmp_path / f"{name}.sqlite"))  # its own cache: it asks the server
                got = annotate(llm, docs, ask=engine_ask(engine, cfg, tmp_path, batch_rows=7))
                assert got.equals(want), name
                assert len(server.requests) - asked >= 24 * 4
    assert set(want.get_column("status")) == {OK, UNPARSED}
