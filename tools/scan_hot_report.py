#!/usr/bin/env python3
"""Reads one hot_<kernel>.csv(.gz) of `tools/scan_profile.sh hot` (Nsight Compute's source page printed as
SASS: one row per instruction with its executed count and stall samples by reason) and prints where the
kernel waits: the stall reasons over the whole kernel, executed and sampled shares per opcode, the
instructions with the most samples, and the code regions (runs of instructions executed equally often:
per chunk, per run, per window) with their share of instructions and of samples.

  python3 tools/scan_hot_report.py hot_bwd_sliced_kernel0.csv.gz [--top 30]
"""
import argparse
import collections
import csv
import gzip
import re
import sys


def read_rows(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        rows = list(csv.reader(f))
    header_at = next((i for i, r in enumerate(rows) if "Address" in r and "Source" in r), None)
    if header_at is None:
        sys.exit(f"{path}: no 'Address' / 'Source' header: not an ncu source page printed as CSV")
    header = rows[header_at]
    col = {h: i for i, h in enumerate(header)}
    stall_cols = [h for h in header if h.startswith("stall_") and "(Not Issued)" not in h]
    out = []
    for r in rows[header_at + 1:]:
        if len(r) < len(header):
            continue
        num = lambda name: int(r[col[name]] or 0)
        out.append({
            "addr": int(r[col["Address"]], 16),
            "src": r[col["Source"]].strip(),
            "samples": num("Warp Stall Sampling (All Samples)"),
            "executed": num("Instructions Executed"),
            "stalls": {c[len("stall_"):]: num(c) for c in stall_cols},
        })
    if not out:
        sys.exit(f"{path}: no instruction rows")
    return out


def opcode(src):
    return re.sub(r"^@!?U?P\w+\s+", "", src).split()[0].split(".")[0] if src else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv")
    ap.add_argument("--top", type=int, default=25, help="instructions with the most samples to list")
    ap.add_argument("--min-share", type=float, default=0.004, help="smallest region share to list")
    a = ap.parse_args()
    rows = read_rows(a.csv)
    base = rows[0]["addr"]
    samples = sum(r["samples"] for r in rows) or 1
    executed = sum(r["executed"] for r in rows) or 1
    print(f"{a.csv}: {executed} warp instructions executed, {samples} stall samples")
    reasons = collections.Counter()
    for r in rows:
        reasons.update(r["stalls"])
    print("stall reasons (share of samples):")
    for k, v in reasons.most_common(12):
        print(f"  {k:22s} {100 * v / samples:5.1f}%")
    by_op_exec, by_op_samp = collections.Counter(), collections.Counter()
    for r in rows:
        by_op_exec[opcode(r["src"])] += r["executed"]
        by_op_samp[opcode(r["src"])] += r["samples"]
    print("opcodes (share of executed, share of samples):")
    for op, n in by_op_exec.most_common(20):
        print(f"  {op:9s} {100 * n / executed:5.1f}%  {100 * by_op_samp[op] / samples:5.1f}%")
    print(f"top {a.top} instructions by samples (offset, samples, executed, instruction, main reasons):")
    for r in sorted(rows, key=lambda r: -r["samples"])[:a.top]:
        main_reasons = sorted(r["stalls"].items(), key=lambda kv: -kv[1])[:3]
        why = " ".join(f"{k}={v}" for k, v in main_reasons if v)
        print(f"  {r['addr'] - base:6x} {r['samples']:8d} {r['executed']:11d}  {r['src'][:58]:58s} {why}")
    print("regions (instructions executed equally often, in address order):")
    regions = []
    for r in rows:
        if regions and regions[-1]["executed"] == r["executed"]:
            g = regions[-1]
            g["end"], g["samples"], g["count"] = r["addr"], g["samples"] + r["samples"], g["count"] + 1
            g["ops"][opcode(r["src"])] += 1
        else:
            regions.append({"start": r["addr"], "end": r["addr"], "samples": r["samples"], "count": 1,
                            "executed": r["executed"], "ops": collections.Counter([opcode(r["src"])])})
    for g in regions:
        ex_share = g["executed"] * g["count"] / executed
        samp_share = g["samples"] / samples
        if ex_share < a.min_share and samp_share < a.min_share:
            continue
        ops = " ".join(f"{k}:{v}" for k, v in g["ops"].most_common(6))
        print(f"  {g['start'] - base:6x}-{g['end'] - base:6x} x{g['executed']:<10d} {g['count']:4d} instr"
              f"  exec {100 * ex_share:5.1f}%  samples {100 * samp_share:5.1f}%  {ops}")


if __name__ == "__main__":
    main()
