#!/usr/bin/env python3
"""Prints a markdown table of the last criterion run: for every group with a `tokio` and an
`aioloop` side, the two medians and the ratio tokio / aioloop (> 1 means aioloop is faster).

Usage: cargo bench --bench core --bench time; python3 scripts/bench-table.py
"""
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def median(path):
    with open(path / "new" / "estimates.json") as f:
        return json.load(f)["median"]["point_estimate"]


def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


print("| workload | tokio current_thread (median) | aioloop (median) | ratio tokio/aioloop |")
print("|---|---|---|---|")
for group in sorted(p for p in root.iterdir() if (p / "aioloop").is_dir() and (p / "tokio").is_dir()):
    sides = {}
    for side in ("tokio", "aioloop"):
        base = group / side
        if (base / "new").is_dir():
            sides.setdefault("", {})[side] = median(base)
        else:
            for param in sorted(base.iterdir()):
                if (param / "new").is_dir():
                    sides.setdefault(param.name, {})[side] = median(param)
    for param, values in sides.items():
        if len(values) != 2:
            continue
        name = group.name + (f"/{param}" if param else "")
        ratio = values["tokio"] / values["aioloop"]
        print(f"| {name} | {fmt(values['tokio'])} | {fmt(values['aioloop'])} | {ratio:.2f}× |")
