#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Plots for docs/BENCHMARKS.md from the CSV kh_bench writes.

usage: plots.py RESULTS_DIR DOCS_DIR   (python3-matplotlib from Debian)
Every plot is skipped quietly when its CSV is missing.
"""
import csv
import os
import sys
from collections import defaultdict

try:
    import matplotlib
except ImportError:
    print("plots.py: python3-matplotlib not installed (make bench-deps): no plots")
    sys.exit(0)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

RES, DOCS = sys.argv[1], sys.argv[2]
COLORS = {
    "kheap": "#d62728", "glibc": "#1f77b4", "jemalloc": "#2ca02c",
    "mimalloc": "#9467bd", "tcmalloc": "#ff7f0e", "llist": "#8c564b", "fixed/kheap": "#e377c2",
    "kmem/kheap": "#bcbd22", "kheap+mutex": "#d62728", "kheap+spin": "#ff9896",
}
SPARE = ["#17becf", "#7f7f7f", "#aec7e8", "#98df8a", "#ffbb78"]


def rows(name):
    path = os.path.join(RES, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def color(a):
    if a not in COLORS:
        COLORS[a] = SPARE[len(COLORS) % len(SPARE)]
    return COLORS[a]


def save(fig, name):
    fig.tight_layout()
    fig.savefig(os.path.join(DOCS, name), dpi=110)
    plt.close(fig)
    print("wrote", os.path.join(DOCS, name))


def order(names):
    seen = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen


def plot_random():
    r = rows("random.csv")
    if not r:
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
    allocs = order(x["allocator"] for x in r)
    maxes = order(int(x["max_size"]) for x in r)
    w = 0.8 / len(allocs)
    for k, re_ in enumerate(("0", "1")):
        ax = axes[k]
        for i, a in enumerate(allocs):
            ys = [next((float(x["ops_per_sec"]) / 1e6 for x in r if x["allocator"] == a
                        and int(x["max_size"]) == m and x["realloc"] == re_), 0) for m in maxes]
            ax.bar(np.arange(len(maxes)) + i * w, ys, w, label=a, color=color(a))
        ax.set_xticks(np.arange(len(maxes)) + w * (len(allocs) - 1) / 2)
        ax.set_xticklabels([f"max {m}" for m in maxes])
        ax.set_title("random actions " + ("with realloc" if re_ == "1" else "without realloc"))
        ax.set_ylabel("Mops per CPU second")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    save(fig, "bench-random.png")


def plot_threads():
    r = rows("threads.csv")
    if not r:
        return
    maxes = order(int(x["max_size"]) for x in r)
    fig, axes = plt.subplots(1, len(maxes), figsize=(4 * len(maxes), 3.8))
    for k, m in enumerate(maxes):
        ax = axes[k]
        for a in order(x["allocator"] for x in r):
            pts = [(int(x["threads"]), float(x["ops_per_sec"]) / 1e6) for x in r
                   if x["allocator"] == a and int(x["max_size"]) == m]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=a, color=color(a))
        ax.set_title(f"max {m}, with realloc")
        ax.set_xlabel("threads (2 cores)")
        ax.set_ylabel("total Mops/s")
        ax.set_xticks([1, 2, 4])
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    save(fig, "bench-threads.png")


def plot_latency():
    r = rows("latency_hist.csv")
    if not r:
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
    for k, op in enumerate(("alloc", "free")):
        ax = axes[k]
        for a in order(x["allocator"] for x in r):
            h = [(int(x["bin_lo_cycles"]), int(x["count"])) for x in r
                 if x["allocator"] == a and x["op"] == op and x.get("mode", "min") == "min"]
            if not h:
                continue
            h.sort()
            total = sum(c for _, c in h)
            xs, ys, acc = [], [], 0
            for lo, c in h:
                acc += c
                xs.append(lo)
                ys.append(max(1.0 - acc / total, 0.5 / total))
            ax.step(xs, ys, where="post", label=a, color=color(a))
        ax.set_yscale("log")
        ax.set_xlim(0, 2000)
        ax.set_xlabel("cycles (per-call min of the passes; last bin = 2000+)")
        ax.set_ylabel("fraction of calls slower")
        ax.set_title(op + " latency, random actions max 1000")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    save(fig, "bench-latency.png")


def plot_traces():
    r = rows("traces.csv")
    if not r:
        return
    traces = order(x["trace"] for x in r)
    allocs = order(x["allocator"] for x in r)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    w = 0.8 / len(allocs)
    for i, a in enumerate(allocs):
        t = [next((float(x["seconds"]) * 1e3 for x in r if x["trace"] == tr and x["allocator"] == a), 0)
             for tr in traces]
        f = [next((float(x["footprint_over_peak_live"]) for x in r
                   if x["trace"] == tr and x["allocator"] == a), 0) for tr in traces]
        axes[0].bar(np.arange(len(traces)) + i * w, t, w, label=a, color=color(a))
        axes[1].bar(np.arange(len(traces)) + i * w, f, w, label=a, color=color(a))
    for ax, title, yl in ((axes[0], "replay time", "ms (CPU)"),
                          (axes[1], "peak footprint / peak live bytes", "ratio")):
        ax.set_xticks(np.arange(len(traces)) + w * (len(allocs) - 1) / 2)
        ax.set_xticklabels(traces)
        ax.set_title(title)
        ax.set_ylabel(yl)
        ax.grid(axis="y", alpha=0.3)
    axes[1].axhline(1.0, color="black", lw=0.8)
    axes[0].legend(fontsize=8)
    save(fig, "bench-traces.png")


def plot_frag():
    r = rows("fragmentation.csv")
    if not r:
        return
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for a in order(x["allocator"] for x in r):
        pts = [(int(x["ops"]), int(x["largest_free"]) / max(int(x["free_bytes"]), 1),
                int(x["free_bytes"])) for x in r if x["allocator"] == a]
        ax.plot([p[0] / 1e6 for p in pts], [p[1] for p in pts], label=a + ": largest free / free",
                color=color(a))
    ax.set_xlabel("operations (millions)")
    ax.set_ylabel("largest free block / free bytes")
    ax.set_ylim(0, 1.05)
    ax.set_title("long-run fragmentation, 32 MiB arena at ~70% live")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, "bench-frag.png")


def heap_map(path, out):
    with open(path) as f:
        first = f.readline()
    total = int(first.split("=")[1])
    r = rows(os.path.basename(path))
    state = np.zeros(total, dtype=np.int8)  # 0 overhead/unmanaged, 1 free, 2 used
    for x in r:
        o, s = int(x["offset"]), int(x["size"])
        state[o:o + s] = 2 if x["used"] == "1" else 1
    cols = 512
    per = max(1, total // (cols * 256))
    while total // per // cols > 256:
        per *= 2
    npx = total // per
    rows_ = npx // cols
    st = state[: rows_ * cols * per].reshape(rows_ * cols, per)
    used = (st == 2).mean(axis=1)
    free = (st == 1).mean(axis=1)
    img = np.zeros((rows_ * cols, 3))
    img += used[:, None] * np.array([0.84, 0.15, 0.16])  # used: red
    img += free[:, None] * np.array([0.93, 0.93, 0.93])  # free: light grey
    img = img.reshape(rows_, cols, 3)
    nfree = sum(1 for x in r if x["used"] == "0")
    nused = len(r) - nfree
    what = "used" if "llist" not in path else "used runs"
    fig, ax = plt.subplots(figsize=(10, max(2.0, 10 * rows_ / cols + 0.8)))
    ax.imshow(img, aspect="auto", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    name = os.path.basename(path)[len("heapmap-"):-4]
    ax.set_title(f"heap map {name}: {total // 1024} KiB, {nused} {what} (red) / {nfree} free (grey) "
                 f"blocks, black = headers/control; {per} B per pixel, address runs left to right, "
                 "top to bottom", fontsize=8)
    save(fig, out)


def plot_efficiency():
    r = rows("efficiency.csv")
    if not r:
        return
    cfgs = order(x["config"] for x in r)
    fig, axes = plt.subplots(1, len(cfgs), figsize=(5 * len(cfgs), 3.5))
    for k, c in enumerate(cfgs):
        ax = axes[k] if len(cfgs) > 1 else axes
        pts = [(x["allocator"], float(x["efficiency_pct"])) for x in r if x["config"] == c]
        ax.bar([p[0] for p in pts], [p[1] for p in pts], color=[color(p[0]) for p in pts])
        for i, p in enumerate(pts):
            ax.text(i, p[1] + 0.5, f"{p[1]:.1f}%", ha="center", fontsize=8)
        ax.set_ylim(0, 105)
        ax.set_title("heap efficiency " + c, fontsize=9)
        ax.set_ylabel("live bytes / arena at first failure, %")
    save(fig, "bench-efficiency.png")


if __name__ == "__main__":
    os.makedirs(DOCS, exist_ok=True)
    plot_random()
    plot_threads()
    plot_latency()
    plot_traces()
    plot_frag()
    plot_efficiency()
    for f in sorted(os.listdir(RES)):
        if f.startswith("heapmap-") and f.endswith(".csv"):
            heap_map(os.path.join(RES, f), f[:-4] + ".png")
