"""Render one page from the report's templates (chaos/report/templates/): <stem>.md and <stem>.html.

The run report, the comparison and the drills' summaries all go through here, so they share the
style, the verdict colours and the Markdown escaping (the ``md`` filter)."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"


def render(stem: str, ctx: dict, out: Path) -> tuple[Path, Path]:
    """Write ``out/<stem>.md`` and ``out/<stem>.html`` from ``<stem>.md.j2`` and ``<stem>.html.j2``."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True,
                      autoescape=lambda name: bool(name) and name.endswith(".html.j2"))
    env.filters["md"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    paths = []
    for ext in ("md", "html"):
        path = Path(out) / f"{stem}.{ext}"
        path.write_text(env.get_template(f"{stem}.{ext}.j2").render(**ctx), encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def summary(out: Path, title: str, columns, rows, links, *, intro=(), after=(), bullets=(), figures=(),
            links_label: str = "Runs") -> str:
    """summary.md and summary.html: one table over several runs, with links to their reports.

    ``rows`` are lists of cells (``**bold**`` in Markdown, plain in HTML); ``links`` are dicts with
    ``label``, ``md`` and ``html`` (paths relative to ``out``); ``figures`` dicts with ``title``,
    ``caption``, ``link``, ``alt``, ``uri`` (a data URI, or None) and ``missing``. Returns the Markdown."""
    ctx = {"title": title, "intro": list(intro), "columns": list(columns), "rows": [list(r) for r in rows],
           "after": list(after), "bullets": list(bullets), "links": list(links), "links_label": links_label,
           "figures": list(figures)}
    md, _html = render("summary", ctx, out)
    return md.read_text(encoding="utf-8")
