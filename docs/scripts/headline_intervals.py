"""The README's headline: the default recipe against dense, from the 3-seed rows of
docs/results/csv/kitml-cmu-1.csv, with a Welch 95% interval of the difference of seed means.

This interval treats seeds as the only noise; it is wider than a paired interval over queries and
seeds (`lexmotion eval compare`, issue 33), which needs the checkpoints themselves.
Run from the repository root: python docs/scripts/headline_intervals.py
"""
import csv
from math import sqrt
from pathlib import Path

from scipy import stats

TABLE = Path(__file__).resolve().parents[1] / "results" / "csv" / "kitml-cmu-1.csv"
ROWS = {"lexical": "grounded lexical (default), mean ± std", "dense 0.02": "dense, τ = 0.02, mean ± std",
        "dense 0.05": "dense, τ = 0.05, mean ± std"}
COLUMNS = {"t2m R@1": 7, "t2m R@5": 8, "t2m R@10": 9, "m2t R@1": 10, "m2t R@10": 12}
SEEDS = 3


def mean_std(cell: str) -> tuple[float, float]:
    mean, std = cell.split("±")
    return float(mean), float(std) * sqrt(SEEDS / (SEEDS - 1))        # the tables give std with ddof 0


def welch(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float, float]:
    va, vb = a[1] ** 2 / SEEDS, b[1] ** 2 / SEEDS
    df = (va + vb) ** 2 / (va ** 2 / (SEEDS - 1) + vb ** 2 / (SEEDS - 1))
    half = stats.t.ppf(0.975, df) * sqrt(va + vb)
    return a[0] - b[0], a[0] - b[0] - half, a[0] - b[0] + half


def main() -> None:
    rows = {r[0]: r for r in csv.reader(open(TABLE))}
    cells = {name: rows[label] for name, label in ROWS.items()}
    print("| measure | lexical | dense τ 0.02 | dense τ 0.05 | lexical − dense 0.02 [95%] | lexical − dense 0.05 [95%] |")
    print("|---|---|---|---|---|---|")
    for measure, col in COLUMNS.items():
        values = {name: cells[name][col].strip() for name in ROWS}
        diffs = []
        for other in ("dense 0.02", "dense 0.05"):
            if "±" not in values[other] or "±" not in values["lexical"]:
                diffs.append("–")
                continue
            d, lo, hi = welch(mean_std(values["lexical"]), mean_std(values[other]))
            diffs.append(f"{d:+.2f} [{lo:+.1f}, {hi:+.1f}]" + ("" if lo > 0 or hi < 0 else " none measurable"))
        print(f"| {measure} | {values['lexical']} | {values['dense 0.02']} | {values['dense 0.05']} | "
              f"{diffs[0]} | {diffs[1]} |")


if __name__ == "__main__":
    main()
