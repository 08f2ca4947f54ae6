"""Summarise a pytest-benchmark JSON as medians and ratios per group (no timing assertions).

    python benches/report.py benches/results/latest.json [--update benches/RESULTS.md]

With --update, the table between the `<!-- bench:start -->` and `<!-- bench:end -->` markers of
RESULTS.md is replaced by this run's figures.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections import defaultdict
from pathlib import Path

# The subject of each group: ratios are "how many times faster venuegate is than X".
SUBJECT = "venuegate"
SUBJECTS = {"binance-order-sign": "test_venuegate", "price-parse-20": "test_fixed_parse"}


def table(data: dict[str, object]) -> str:
    groups: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for bench in data["benchmarks"]:  # type: ignore[attr-defined]
        groups[bench["group"] or "-"].append((bench["name"], bench["stats"]["median"]))
    machine = data.get("machine_info", {})  # type: ignore[attr-defined]
    lines = [
        f"Machine: {machine.get('cpu', {}).get('brand_raw', platform.processor())}, "  # type: ignore[union-attr]
        f"Python {machine.get('python_version', platform.python_version())}, "  # type: ignore[union-attr]
        f"{data.get('datetime', '')}",
        "",
        "| group | benchmark | median | ratio (x / subject) |",
        "|---|---|---|---|",
    ]
    for group, rows in sorted(groups.items()):
        subject = dict(rows).get(SUBJECTS.get(group, ""), None)
        for name, median in sorted(rows, key=lambda r: r[1]):
            ratio = f"{median / subject:.1f}x" if subject else "-"
            lines.append(f"| {group} | {name} | {median * 1e6:.2f} µs | {ratio} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("json", type=Path)
    parser.add_argument("--update", type=Path, help="RESULTS.md to rewrite between markers")
    args = parser.parse_args()
    text = table(json.loads(args.json.read_text()))
    print(text)
    if args.update:
        doc = args.update.read_text()
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        head, _, rest = doc.partition(start)
        _, _, tail = rest.partition(end)
        args.update.write_text(f"{head}{start}\n{text}\n{end}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
