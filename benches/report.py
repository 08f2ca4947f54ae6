"""Summarise a pytest-benchmark JSON as medians and ratios per group (no timing assertions).

    python benches/report.py benches/results/latest.json [--update benches/RESULTS.md]
        [--criterion target/criterion]

With --update, the tables between the `<!-- bench:start/end -->` (and, with --criterion,
`<!-- criterion:start/end -->`) markers of RESULTS.md are replaced by this run's figures; when the
run has the journal benches, so is the table between `<!-- journal:start/end -->`, and when it has
the order submit benches (`test_order_bench.py`), the table between `<!-- order-bench:start/end -->`
(the percentiles between `<!-- orders:start/end -->` come from `benches/order_path.py --update`).
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
SUBJECTS = {
    "binance-order-sign": "test_venuegate",
    "price-parse-20": "test_fixed_parse",
    "binance-depth-20": "test_venuegate",
    "binance-depth-20-framed": "test_venuegate_fused",
    "journal-intent-write": "test_journal_none",
    "order-submit-sim": "test_venuegate_sim_10_orders",
    "order-submit-nonet": "test_venuegate_nonet_10_orders",
    "fix-parse-execution-report": "test_venuegate_parse",
    "fix-build-new-order-single": "test_venuegate_build",
}
# Groups that also get their own table between `<!-- journal:start/end -->` in RESULTS.md.
JOURNAL_GROUPS = {"journal-intent-write"}
# Groups that also get their own table between `<!-- order-bench:start/end -->`.
ORDER_GROUPS = {"order-submit-sim", "order-submit-nonet"}


def table(data: dict[str, object], only: set[str] | None = None) -> str:
    groups: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for bench in data["benchmarks"]:  # type: ignore[attr-defined]
        if only is None or bench["group"] in only:
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


def criterion_table(root: Path) -> str:
    """Medians of every criterion benchmark under `root` (target/criterion)."""
    lines = ["| benchmark | median | 95% CI |", "|---|---|---|"]
    for est in sorted(root.rglob("new/estimates.json")):
        if "report" in est.parts:
            continue
        median = json.loads(est.read_text())["median"]
        ci = median["confidence_interval"]
        name = "/".join(est.parent.parent.relative_to(root).parts)
        lines.append(
            f"| {name} | {median['point_estimate']:.1f} ns | "
            f"{ci['lower_bound']:.1f} to {ci['upper_bound']:.1f} ns |"
        )
    return "\n".join(lines)


def replace_between(path: Path, name: str, text: str) -> None:
    doc = path.read_text()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, _, rest = doc.partition(start)
    _, _, tail = rest.partition(end)
    path.write_text(f"{head}{start}\n{text}\n{end}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("json", type=Path)
    parser.add_argument("--update", type=Path, help="RESULTS.md to rewrite between markers")
    parser.add_argument("--criterion", type=Path, help="target/criterion, for the Rust table")
    args = parser.parse_args()
    text = table(json.loads(args.json.read_text()))
    print(text)
    crit = criterion_table(args.criterion) if args.criterion else None
    if crit:
        print(crit)
    if args.update:
        replace_between(args.update, "bench", text)
        data = json.loads(args.json.read_text())
        has_journal = any(b["group"] in JOURNAL_GROUPS for b in data["benchmarks"])
        if has_journal and "<!-- journal:start -->" in args.update.read_text():
            replace_between(args.update, "journal", table(data, JOURNAL_GROUPS))
        has_orders = any(b["group"] in ORDER_GROUPS for b in data["benchmarks"])
        if has_orders and "<!-- order-bench:start -->" in args.update.read_text():
            replace_between(args.update, "order-bench", table(data, ORDER_GROUPS))
        if crit:
            replace_between(args.update, "criterion", crit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
