"""Eager calls with the first N speed patches, for successive N, in one
process: each speed patch against the series before it.

Between processes the same code differs by more than a small patch
gains (the 2-core VM has slow stretches of seconds), so the versions
take turns in one process. The functions that the speed patches edit
are taken as the overlay gives them with `KERAS_OVERLAY_SPEED_PATCHES=N`
(read in a subprocess each), made in this process, and swapped in
wherever they are bound, each version with the compiled models it keeps
(so a patch that compiles them otherwise is measured too); then each
version runs a block of calls, in shuffled rounds, and each case reports
the median, first and third quartiles of its blocks' means. NumPy is
timed on the same input after the rounds (NaN-free for
`argmax`/`argmin`).

Run from the repository's root: `.venv/bin/python -m
benchmarks.speed_patch_benchmark` writes
`benchmarks/results/speed_patches.md`; `--quick` prints, writing nothing.
"""

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import textwrap
import tomllib

from benchmarks.series_benchmark import ROOT
from benchmarks.series_benchmark import SPEED_PATCHES
from benchmarks.series_benchmark import git_commit
from benchmarks.series_benchmark import load_average
from benchmarks.series_benchmark import machine_description
from benchmarks.series_benchmark import make_input
from benchmarks.series_benchmark import table
from benchmarks.series_benchmark import timed
from benchmarks.series_benchmark import warm_up

RECORD = ROOT / "benchmarks" / "results" / "speed_patches.md"
# (op, dtype, values, NaN), as in `series_benchmark`.
CASES = [("argmax", "float32", 16, False)]
CASES += [("nan_to_num", "float32", n, True) for n in (16, 2**20, 2**24)]
CASES += [("nan_to_num", "float64", 2**20, True)]
CASES += [("argmax", "float32", n, False) for n in (2**20, 2**24)]
CASES += [("argmax", "float64", 2**20, False)]
BLOCK_SECONDS = 0.05
# The backend's kept models and counts (`keras.src.backend.openvino.numpy`
# names them): each version keeps its own, compiled as it compiles them.
KEPT_STATE = (
    "NAN_TO_NUM_MODELS",
    "ARG_EXTREMUM_MODELS",
    "STATIC_SHAPE_MODELS",
    "STATIC_SHAPE_COUNTS",
)
SOURCES = """
import inspect, json, sys
import keras
out = []
for module, name in json.loads(sys.argv[1]):
    target = sys.modules[module]
    for part in name.split("."):
        target = getattr(target, part, None)
    out.append(target and inspect.getsource(target))
constants = {}
for module, _ in json.loads(sys.argv[1]):
    constants[module] = {
        name: value
        for name, value in vars(sys.modules[module]).items()
        if name.isupper() and type(value) in (int, float, str)
    }
print(json.dumps([out, constants]))
"""


def edited_functions():
    """(module, function) of every function a speed patch edits."""
    found = []
    for path in SPEED_PATCHES:
        for edit in tomllib.loads(path.read_text())["edit"]:
            module = edit["module"].removesuffix(".py").replace("/", ".")
            key = (module, edit.get("function"))
            if key[1] and not module.endswith("_test") and key not in found:
                found.append(key)
    return found


def versions(functions, counts):
    """Per count of speed patches, the functions as made in this process
    from the overlay's source (None where a function does not exist). A
    module constant that a later patch removed is put back for them."""
    made = {}
    command = [sys.executable, "-c", SOURCES, json.dumps(functions)]
    for count in counts:
        env = dict(os.environ, KERAS_OVERLAY_SPEED_PATCHES=str(count))
        sources, constants = json.loads(
            subprocess.check_output(command, env=env)
        )
        for module, values in constants.items():
            for name, value in values.items():
                vars(sys.modules[module]).setdefault(name, value)
        made[count] = []
        for (module, name), source in zip(functions, sources):
            if source is None:
                made[count].append(None)
                continue
            namespace = vars(sys.modules[module])
            scratch = {}
            exec(textwrap.dedent(source), namespace, scratch)
            made[count].append(scratch[name.split(".")[-1]])
    return made


def bindings(functions):
    """Per function, a setter for each place it is bound in Keras."""
    setters = []
    for module, name in functions:
        owner = sys.modules[module]
        *classes, attribute = name.split(".")
        for part in classes:
            owner = getattr(owner, part)
        current = getattr(owner, attribute)
        places = [owner] + [
            m
            for m in list(sys.modules.values())
            if getattr(m, "__name__", "").startswith("keras.src")
            and m is not owner
            and getattr(m, attribute, None) is current
        ]
        setters.append(
            lambda f, places=places, a=attribute: [
                setattr(p, a, f) for p in places
            ]
        )
    return setters


def time_case(case, made, setters, rounds):
    import numpy as np

    from keras import ops
    from keras.src.backend.common import global_state
    from keras.src.backend.openvino import numpy as openvino_numpy

    op, dtype, size, nan = case
    x = make_input(dtype, size, nan)
    plain = make_input(dtype, size, op == "nan_to_num" and nan)
    keras_op, numpy_op = getattr(ops, op), getattr(np, op)

    names = [getattr(openvino_numpy, name) for name in KEPT_STATE]
    kept = {count: {} for count in made}
    using = []

    def use(count):
        if using:
            kept[using.pop()] = {
                name: global_state.get_global_attribute(name) for name in names
            }
        for name in names:
            global_state.set_global_attribute(name, kept[count].get(name))
        using.append(count)
        for setter, function in zip(setters, made[count]):
            if function is not None:
                setter(function)

    def call():
        return ops.convert_to_numpy(keras_op(x))

    def block_mean(function, calls):
        return statistics.fmean(timed(function, calls))

    counts = list(made)
    for count in counts:
        use(count)
        warm_up(call)  # Past a small call's compilation of its static model.
    same = bool(np.array_equal(call(), numpy_op(x)))
    calls = max(1, min(200, int(BLOCK_SECONDS / block_mean(call, 3))))
    times = {count: [] for count in counts}
    for _ in range(rounds):
        for count in random.sample(counts, len(counts)):
            use(count)
            timed(call, min(30, calls))
            times[count].append(block_mean(call, calls))
    use(counts[-1])
    numpy_times = [
        block_mean(lambda: numpy_op(plain), calls) for _ in range(20)
    ]
    quartiles = {c: statistics.quantiles(t, n=4) for c, t in times.items()}
    return statistics.median(numpy_times), quartiles, same


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    first = len(SPEED_PATCHES) - 4
    add("--first", type=int, default=first, help="fewest speed patches")
    add("--rounds", type=int, default=40, help="rounds of blocks")
    add("--quick", action="store_true", help="few rounds, small cases")
    args = parser.parse_args()
    cases, rounds = CASES, args.rounds
    if args.quick:
        cases, rounds = [c for c in CASES if c[2] <= 2**16], 3
    counts = list(range(args.first, len(SPEED_PATCHES) + 1))
    load_start = load_average()
    os.environ["KERAS_BACKEND"] = "openvino"  # Also the subprocesses'.
    import keras  # noqa: F401 (the backend's modules, to swap in)

    functions = edited_functions()
    made = versions(functions, counts)
    setters = bindings(functions)
    command = ["python -m benchmarks.speed_patch_benchmark", *sys.argv[1:]]
    rows = []
    for case in cases:
        print(f"{case}...", file=sys.stderr, flush=True)
        numpy_time, quartiles, same = time_case(case, made, setters, rounds)
        op, dtype, size, nan = case
        row = [op, dtype, f"{size:,}", "1%" if nan else ""]
        row.append(f"{numpy_time * 1e6:.1f}")
        for count in counts:
            q1, median, q3 = (v * 1e6 for v in quartiles[count])
            row.append(f"{median:.1f} ({q1:.1f}-{q3:.1f})")
        rows.append(row + ["yes" if same else "no"])
    names = [p.name.removesuffix(".edits.toml") for p in SPEED_PATCHES]
    heads = [f"through {names[c - 1]}" for c in counts]
    now = datetime.datetime.now(datetime.timezone.utc)
    lines = [
        "# Each speed patch against the series before it, in one process",
        "",
        f"- command: `{' '.join(command)}`",
        f"- date: {now:%Y-%m-%d %H:%M} UTC",
        f"- commit: {git_commit()}",
        f"- machine: {machine_description()}",
        f"- load average (1, 5, 15 min) at start: {load_start}; at end: "
        f"{load_average()}",
        "",
        f"Microseconds per eager `keras.ops.convert_to_numpy(op(x))`: the "
        f"median of {rounds} blocks' means (first and third quartiles), "
        "the versions in turn in shuffled rounds, in one process; the "
        "functions the speed patches edit as the overlay gives them with "
        "the first N speed patches. Speed patch numbers are the "
        "repository's (`speed/NN-name`). Same: the answer is NumPy's.",
        "",
    ]
    header = ["op", "dtype", "values", "NaN", "NumPy us", *heads, "same"]
    lines += table(header, rows, left=4)
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        RECORD.write_text(text)


if __name__ == "__main__":
    main()
