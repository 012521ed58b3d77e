"""docs/interop.md runs: every ```python block, in order, in one namespace, from the repository's root."""

from __future__ import annotations

import re

from tests.conftest import ROOT

DOC = ROOT / "docs" / "interop.md"


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_doc_has_the_worked_examples():
    blocks = python_blocks(DOC.read_text())
    text = "\n".join(blocks)
    assert len(blocks) >= 5
    for needle in ("api.evaluate(", "model_from_experiment(", "perform_experiments(", "prim.Prim(", "to_salib(",
                   "sobol.analyze("):
        assert needle in text, needle


def test_doc_examples_run(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": "interop_doc"}
    for i, block in enumerate(python_blocks(DOC.read_text())):
        code = compile(block, f"{DOC.name} block {i + 1}", "exec")
        exec(code, namespace)  # noqa: S102 - the documentation's own examples, asserts included
    # the examples' own asserts passed; check what they left behind too
    side = namespace["side"]
    assert list(side["factor"]) == [f.path for f in namespace["exp"].factors]
    assert namespace["stats"]["density"] > namespace["y"].mean()
