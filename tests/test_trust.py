"""Fail-closed validation, measured: a model that writes correct tests and wrong code, served over real HTTP.

Wrong solutions, wrong translations into every language we can run, and "bugs" that behave like the fix must
never reach the output; right ones must, where their language can be validated here; the rest must land in the
unvalidated file with a reason, and the failures in the rejected file with the concrete failing test.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from planted import TEMPLATES, LoopbackOpenAI, Planted, audit, planted_run

from codecurate.generate.validate import cannot_validate

LANGS = sorted(set(TEMPLATES) - {"python"})  # the seeds are Python: generate and fix cover Python answers


@pytest.fixture
def planted():
    model = Planted()
    server = LoopbackOpenAI(model.reply)
    yield model, server.url
    server.close()


def _count(where: dict[str, Counter], key_part: str) -> int:
    return sum(n for c in where.values() for k, n in c.items() if key_part in k)


def test_generate_and_fix_keep_only_what_passes(tmp_path, planted):
    model, url = planted
    summary = planted_run(tmp_path, "generate=1,fix=1", ["javascript"], model, url, tasks_per_seed=2)
    where = audit(tmp_path, model)
    assert where["output"] == Counter({"generate:python:right": 1, "fix:python:real": 1})
    rejected = Counter({"generate:python:wrong": 1, "fix:python:equivalent": 1})
    assert where["rejected:validation"] == rejected
    rej = [json.loads(x) for x in (tmp_path / "out.rejected.jsonl").read_text().splitlines()]
    fails = {r["task"]: r["validation"]["detail"] for r in rej}
    assert fails["generate"].startswith("fails `assert warp(")  # the concrete failing test, not "validation:fail"
    assert fails["fix"] == "the buggy input passes all tests"
    bad = [json.loads(x) for x in (tmp_path / "out.memory" / "generate.bad.jsonl").read_text().splitlines()]
    assert any("fails `assert warp(" in r for e in bad for r in e["reasons"])  # what the model is shown
    good = (tmp_path / "out.memory" / "generate.good.jsonl").read_text()
    assert "x * 2 + k" not in good  # the wrong solution never became a good example
    report = json.loads((tmp_path / "out.report.json").read_text())
    assert report["trust"]["validated_share"] == 1.0 and report["trust"]["seeds_with_tests"] == 2
    assert summary["validated_share"] == 1.0


@pytest.mark.parametrize("language", LANGS)
def test_translations_fail_closed_in_every_language(tmp_path, planted, language):
    model, url = planted
    planted_run(tmp_path, "translate=1", [language], model, url)
    where = audit(tmp_path, model)
    assert _count({"o": where.get("output", Counter())}, ":wrong") == 0  # never a wrong translation in the output
    why = cannot_validate(language)
    if why is None:  # runtime, harness and test translator are here: right in, wrong rejected with the failure
        assert where["output"] == Counter({f"translate:{language}:right": 1})
        assert where["rejected:validation"] == Counter({f"translate:{language}:wrong": 1})
        rej = json.loads((tmp_path / "out.rejected.jsonl").read_text().splitlines()[0])
        assert rej["validation"]["detail"] and rej["reasons"] == [f"validation:{rej['validation']['status']}"]
    else:  # nothing could be checked: both held back, with the reason, and none in the output
        assert "output" not in where
        assert where["unvalidated"] == Counter({f"translate:{language}:right": 1, f"translate:{language}:wrong": 1})
        unv = [json.loads(x) for x in (tmp_path / "out.unvalidated.jsonl").read_text().splitlines()]
        assert {(r["validation"]["status"], r["validation"]["reason"]) for r in unv} == {("unvalidated", why)}
        report = json.loads((tmp_path / "out.report.json").read_text())
        assert report["counts"]["unvalidated"] == 2 and report["unvalidated_reasons"] == {why: 2}
        assert report["counts"]["written"] == 0


def test_keep_unvalidated_merges_them_marked(tmp_path, planted):
    model, url = planted
    planted_run(tmp_path, "translate=1", ["julia"], model, url)  # julia: no runtime here, no test translator
    assert not (tmp_path / "out.jsonl").read_text().strip()
    planted_run(tmp_path, "translate=1", ["julia"], model, url, keep_unvalidated=True)  # the opt-in, on a rerun
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(out) == 2 and {r["validation"]["status"] for r in out} == {"unvalidated"}
    assert all(r["validation"]["reason"] and "stage" not in r for r in out)
    report = json.loads((tmp_path / "out.report.json").read_text())
    assert report["counts"]["written"] == 2 and report["unvalidated_written"] == 2
    assert report["trust"]["validated_share"] == 0.0
    planted_run(tmp_path, "translate=1", ["julia"], model, url, overwrite=True)  # starts over, this file too
    assert not (tmp_path / "out.jsonl").read_text().strip()
    assert len((tmp_path / "out.unvalidated.jsonl").read_text().splitlines()) == 2


def test_a_check_that_did_not_run_on_code_is_held_back(tmp_path, planted, monkeypatch):
    """Defence in depth: should validation ever answer "skipped" for a code task, the judge holds it back."""
    import codecurate.generate.validate as validate

    real = validate.validate_examples

    def skipping(pairs, *args, **kwargs):
        return [{**v, "status": "skipped"} for v in real(pairs, *args, **kwargs)]

    monkeypatch.setattr(validate, "validate_examples", skipping)
    model, url = planted
    planted_run(tmp_path, "generate=1", ["javascript"], model, url)
    where = audit(tmp_path, model)
    assert not where.get("output")  # nothing whose check did not run reaches the output
    held = [json.loads(x) for x in (tmp_path / "out.unvalidated.jsonl").read_text().splitlines()]
    assert held and all(r["validation"]["status"] == "unvalidated" for r in held)
    assert {r["validation"]["reason"] for r in held} == {"not_checked"}
