"""The series' speed and memory, case by case: the Keras release, the core
patches alone, and the whole series (core and speed patches).

Each variant runs in a process of its own, which also times NumPy on the
same arrays, so every figure is a ratio to NumPy in one process:
- release: the installed Keras, without this repository;
- core: this repository with `KERAS_OVERLAY_CORE_ONLY=1` (no speed patch);
- series: this repository as it is.

Memory is the process's resident memory held after the calls (results
dropped, garbage collected), against the same process before them.

Run from the repository's root:
`.venv/bin/python -m benchmarks.series_benchmark`; writes
`benchmarks/results/series.md`.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
RECORD = ROOT / "benchmarks" / "results" / "series.md"
CASES = [
    ("nan_to_num", "float32", 16),
    ("nan_to_num", "float32", 2**20),
    ("nan_to_num", "float32", 2**24),
    ("nan_to_num", "float64", 16),
    ("nan_to_num", "float64", 2**20),
    ("nan_to_num", "float64", 2**24),
    ("argmax", "float32", 16),
    ("argmax", "float32", 2**20),
    ("argmax", "float64", 2**20),
]

# Runs in the variant's process: prints one JSON line of results.
WORKER = r"""
import ctypes, gc, json, sys, time
import numpy as np, psutil
import keras
from keras import ops

cases, repeats = json.loads(sys.argv[1]), int(sys.argv[2])
process = psutil.Process()


def resident():
    gc.collect()
    return process.memory_info().rss


def median_time(function):
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


results = []
for op, dtype, size in cases:
    rng = np.random.default_rng(size)
    x = rng.standard_normal(size).astype(dtype)
    if op == "nan_to_num":
        x[rng.integers(0, size, max(1, size // 100))] = np.nan
    # NumPy's argmax stops at the first NaN: argmax gets none.
    x[rng.integers(0, size, max(1, size // 200))] = np.inf
    reference = {"nan_to_num": np.nan_to_num, "argmax": np.argmax}[op]
    keras_op = getattr(ops, op)
    before = resident()
    ours = median_time(lambda: ops.convert_to_numpy(keras_op(x)))
    held = resident() - before
    numpy_time = median_time(lambda: reference(x))
    results.append(
        {"case": [op, dtype, size], "time": ours, "numpy": numpy_time,
         "held": held}
    )
# Many models' worth of calls: 4 dtypes, 3 replacement sets, 4M values.
before = resident()
for dtype in ("float32", "float64", "float16", "bfloat16"):
    x = np.random.default_rng(0).standard_normal(2**22).astype(dtype)
    for nan in (0.0, 1.0, 2.0):
        for _ in range(2):
            ops.convert_to_numpy(ops.nan_to_num(x, nan=nan))
results.append({"mixed_held": resident() - before})
# argmax of a 122 MB float64 matrix along its rows, 8 calls.
x = np.random.default_rng(1).standard_normal((4000, 4000))
before = resident()
for _ in range(8):
    ops.convert_to_numpy(ops.argmax(x, axis=1))
results.append({"matrix_held": resident() - before})
# argmax and argmin of 64 MB of float32 in 16 forms, three rounds.
x = np.random.default_rng(2).standard_normal(2**24).astype("float32")
forms = [(shape, axis) for shape in ((4096, 4096), (256, 256, 256))
         for axis in (None, 0, 1, -1)]
before = resident()
rounds = []
for _ in range(3):
    for shape, axis in forms:
        for keras_op in (ops.argmax, ops.argmin):
            ops.convert_to_numpy(keras_op(x.reshape(shape), axis=axis))
    rounds.append(resident() - before)
# What is left once the C allocator returns its free pages (glibc).
ctypes.CDLL("libc.so.6").malloc_trim(0)
results.append({"forms_held": rounds, "forms_trimmed": resident() - before})
print(json.dumps(results))
"""


def run_variant(name, repeats):
    env = dict(os.environ, KERAS_BACKEND="openvino")
    env.pop("PYTHONPATH", None)
    cwd = ROOT
    if name == "release":
        cwd = pathlib.Path("/")  # keras resolves to the installed release
    elif name == "core":
        env["KERAS_OVERLAY_CORE_ONLY"] = "1"
    output = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(CASES), str(repeats)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, {platform.platform()}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repeats", nargs="?", type=int, default=7)
    repeats = parser.parse_args().repeats
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    variants = {
        name: run_variant(name, repeats)
        for name in ("release", "core", "series")
    }
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    now = datetime.datetime.now(datetime.timezone.utc)
    lines = [
        "# The series, case by case: release, core alone, whole series",
        "",
        f"- command: `python -m benchmarks.series_benchmark {repeats}`",
        f"- date: {now:%Y-%m-%d %H:%M} UTC",
        f"- commit: {commit}",
        f"- machine: {machine()}",
        f"- load average at start (1, 5, 15 min): {load}",
        "",
        "Median time of one eager call (converted to NumPy) as a ratio to "
        "NumPy's in the same process, and the process memory held after "
        f"{repeats + 1} calls; 0.5% inf, and 1% NaN for `nan_to_num`.",
        "",
        "| op | dtype | values | NumPy ms | release | core | series "
        "| held MB release / core / series |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for index, (op, dtype, size) in enumerate(CASES):
        row = [variants[name][index] for name in ("release", "core", "series")]
        numpy_ms = row[2]["numpy"] * 1e3
        ratios = [f"{r['time'] / r['numpy']:.2f}x" for r in row]
        held = " / ".join(f"{r['held'] / 2**20:+.0f}" for r in row)
        lines.append(
            f"| {op} | {dtype} | {size:,} | {numpy_ms:.3f} | "
            + " | ".join(ratios)
            + f" | {held} |"
        )

    def held_mb(key, round_index=None):
        values = []
        for name in ("release", "core", "series"):
            (value,) = [r[key] for r in variants[name] if key in r]
            value = value if round_index is None else value[round_index]
            values.append(f"{value / 2**20:+.0f}")
        return " / ".join(values)

    rounds = ", ".join(held_mb("forms_held", i) for i in range(3))
    lines += [
        "",
        "Process memory held, MB, release / core / series:",
        "",
        "- after 24 `nan_to_num` calls on 4M values (float32, float64, "
        f"float16, bfloat16; 3 `nan` values each): {held_mb('mixed_held')}",
        "- after 8 `argmax` calls along axis 1 of a float64 (4000, 4000) "
        f"array (122 MB): {held_mb('matrix_held')}",
        "- after `argmax` and `argmin` of 64 MB of float32 in 16 forms "
        "(shapes (4096, 4096) and (256, 256, 256), axis None, 0, 1, -1), "
        f"after each of 3 rounds: {rounds}; after `malloc_trim(0)`: "
        f"{held_mb('forms_trimmed')}",
    ]
    RECORD.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
