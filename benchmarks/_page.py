"""The benchmarks page: each script rewrites its own section of it."""

from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(name, text, heading):
    """Put ``text`` between the ``name`` markers of ``docs/benchmarks.md``,
    or append it under ``heading`` when the page has no such section yet.

    Returns
    -------
    path : Path
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    page = PAGE.read_text() if PAGE.exists() else "# Benchmarks\n"
    section = f"{start}\n{text}\n{end}"
    if start in page and end in page:
        before, rest = page.split(start, 1)
        page = before + section + rest.split(end, 1)[1]
    else:
        page = page.rstrip("\n") + f"\n\n## {heading}\n\n" + section + "\n"
    PAGE.parent.mkdir(exist_ok=True)
    PAGE.write_text(page)
    return PAGE
