"""The experiments a trainee can start from the page: each one's question and what to predict.

The question, title and schedule come from the catalogue's YAML files (the runner's own loader);
what to predict comes from docs/experiments.md, the guide trainees work through, so the page asks
exactly what the guide asks.
"""
from __future__ import annotations

import re
from pathlib import Path

from chaos.experiment.files import ExperimentError, catalogue, load_experiment

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "experiments.md"
_SECTION = re.compile(r"^## \d+\. `([a-z0-9_-]+)`", re.M)
_PREDICT = re.compile(r"\*\*Predict[^*]*\*\*(.*?)(?=\n\*\*|\n## |\Z)", re.S)


def predictions(guide: Path = GUIDE) -> dict[str, str]:
    """experiment name -> the guide's "Predict" paragraph, as plain text."""
    try:
        text = guide.read_text(encoding="utf-8")
    except OSError:
        return {}
    out = {}
    marks = list(_SECTION.finditer(text))
    for i, m in enumerate(marks):
        section = text[m.end(): marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        found = _PREDICT.search(section)
        if found:
            out[m.group(1)] = " ".join(found.group(1).split())
    return out


def experiments() -> list[dict]:
    """Every valid catalogue experiment: name, title, question, prediction, duration, faults."""
    guide = predictions()
    out = []
    for path in catalogue():
        try:
            e = load_experiment(path)
        except ExperimentError:
            continue  # `python -m chaos list` names invalid files; the page offers only what can run
        out.append({"name": e.name, "title": e.title, "question": e.question, "hypothesis": e.hypothesis,
                    "prediction": guide.get(e.name, ""), "duration_s": e.workload.duration_s,
                    "nodes": e.nodes, "services": list(e.services),
                    "faults": [f"{s.name} ({s.fault}) at {s.at:g} s for {s.duration:g} s" for s in e.schedule]})
    return out
