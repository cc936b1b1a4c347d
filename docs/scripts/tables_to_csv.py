"""Write every table of docs/results/*.md as CSV beside it, in docs/results/csv/PAGE-N.csv.

Run from the repository root after a results page changes: python docs/scripts/tables_to_csv.py
The CSV holds the cells as the page shows them (bold marks removed); the page keeps the command behind each row.
"""
import csv
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"


def tables(text: str) -> list[list[list[str]]]:
    """The markdown tables of TEXT, each as rows of cells, without the |---| line."""
    found, rows = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            if not re.fullmatch(r"\|[-:| ]+\|", line.strip()):
                rows.append([re.sub(r"\*\*|`", "", c).strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            found.append(rows)
            rows = []
    return found


def main() -> None:
    out = RESULTS / "csv"
    out.mkdir(exist_ok=True)
    for stale in out.glob("*.csv"):
        stale.unlink()
    for page in sorted(RESULTS.glob("*.md")):
        for n, rows in enumerate(tables(page.read_text()), 1):
            with open(out / f"{page.stem}-{n}.csv", "w", newline="") as f:
                csv.writer(f).writerows(rows)
    print(f"wrote {len(list(out.glob('*.csv')))} tables to {out}")


if __name__ == "__main__":
    main()
