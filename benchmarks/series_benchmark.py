"""Eager `nan_to_num`, `argmax`, `argmin`: NumPy, the Keras release, the
core, the series, Keras on JAX and on PyTorch; and the memory they take.

Every variant runs in processes of its own, which time NumPy too, so each
time is a ratio to NumPy's in the same process:
- release: the installed Keras, without this repository (cwd `/`, no
  PYTHONPATH), on OpenVINO;
- core: this repository with `KERAS_OVERLAY_CORE_ONLY=1` (no speed patch);
- prior: this repository less its last speed patch
  (`KERAS_OVERLAY_SPEED_PATCHES`), that patch's "before";
- series: this repository as it is;
- jax, torch: the installed Keras with `KERAS_BACKEND=jax` or `torch`,
  where that package is installed.

Run from the repository's root: `.venv/bin/python -m
benchmarks.series_benchmark` writes `benchmarks/results/series.md`;
`--quick` (small sizes, few repeats) prints the same, writing nothing.
"""

import argparse
import ctypes
import datetime
import gc
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from importlib.util import find_spec

ROOT = pathlib.Path(__file__).resolve().parents[1]
RECORD = ROOT / "benchmarks" / "results" / "series.md"
OPENVINO = ("release", "core", "prior", "series")
# The speed patches, in order: "prior" is the series less the last one.
SPEED_PATCHES = sorted(ROOT.glob("speed/*.edits.toml"))
VARIANTS = OPENVINO + ("jax", "torch")
# With --on-main: keras-openvino main (its snapshot, on Keras's
# `pluggable_backend` snapshot) as it is, with the core series, with the
# whole series; in the venv that `tools.suite_runner`'s upstream checks use.
ON_MAIN = ("main", "main + core", "main + series")
MAIN_RECORD = ROOT / "benchmarks" / "results" / "series_on_main.md"
TITLES = {"numpy": "NumPy alone", "jax": "Keras on JAX"}
TITLES["torch"] = "Keras on PyTorch"
LAST_PATCH = SPEED_PATCHES[-1].name.split("-", 1)[1].removesuffix(".edits.toml")
TITLES["prior"] = f"series less {LAST_PATCH}"
# (op, dtype, values, NaN). Inputs: standard normal, 0.5% infinities (+
# and -), 1% NaN where NaN is True; seeded by size, the same in every
# variant. A NaN row of `argmax` has the values of the NaN-free row above.
CASES = [("nan_to_num", "float32", n, True) for n in (16, 2**20, 2**24)]
CASES += [("nan_to_num", "float16", 2**20, True)]
CASES += [("nan_to_num", "float64", n, True) for n in (16, 2**20, 2**24)]
CASES += [("argmax", "float32", 16, nan) for nan in (False, True)]
CASES += [
    ("argmax", dtype, 2**20, nan)
    for dtype in ("float32", "float64")
    for nan in (False, True)
]
CASES += [("argmin", "float32", 2**20, False)]
PAUSE = 0.05  # Seconds before NumPy's block: OpenVINO's threads spin on.
# Before timing, each side runs as a long loop would have: up to this many
# calls or seconds (a small call's key compiles its static-shape model at
# its 1,000th call).
WARM_UP = 2000, 0.5
PEAK_ROWS = (
    "cold",
    "warm",
    "cold, what the call adds",
    "warm, what the call adds",
    "cold, CPU plugin loaded before, what the call adds",
    "cold, the call alone (no `convert_to_numpy`), what it adds",
)
# How `peaks` starts, in processes of their own: as a user's first call; or
# with OpenVINO's CPU plugin loaded before (its one-time code and heap, the
# same for any model); or timing `op(x)` alone, not converted to NumPy.
PEAK_STARTS = ("first call", "plugin loaded", "call alone")
HELD_STEPS = {
    "calls": "one call of each timed case",
    "mixed": "`nan_to_num` of 4M values (float32, float64, float16, "
    "bfloat16), `nan` 0, 1 and 2",
    "matrix": "2 `argmax` along axis 1 of a float64 (4000, 4000) array",
    "forms": "`argmax` and `argmin` of 64 MB of float32, shapes (4096, "
    "4096) and (256, 256, 256), every axis and None",
    "trimmed": "then `malloc_trim(0)` (once)",
}


def make_input(dtype, size, nan):
    import numpy as np

    rng = np.random.default_rng(size)
    wide = np.float64 if dtype == "float64" else np.float32
    x = rng.standard_normal(size, dtype=wide).astype(dtype, copy=False)
    nans, infs = max(1, size // 100), max(1, size // 400)
    where = rng.choice(size, nans + 2 * infs, replace=False)
    x[where[nans : nans + infs]] = np.inf
    x[where[nans + infs :]] = -np.inf
    if nan:
        x[where[:nans]] = np.nan
    return x


def status_bytes(field):
    """VmRSS or VmHWM (the peak of VmRSS) from /proc/self/status."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def resident():
    gc.collect()
    return status_bytes("VmRSS")


def timed(function, calls):
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def warm_up(function):
    calls, seconds = WARM_UP
    end = time.perf_counter() + seconds
    for _ in range(calls):
        function()
        if time.perf_counter() > end:
            break


def time_cases(cases, blocks, repeats, budget):
    """Per case: the medians of the Keras call's and NumPy's times, in
    interleaved blocks, and whether the answers are the same."""
    import numpy as np

    from keras import ops

    rows = []
    for op, dtype, size, nan in cases:
        x = make_input(dtype, size, nan)
        # NumPy's argmax stops at the first NaN: it is timed NaN-free.
        plain = make_input(dtype, size, op == "nan_to_num" and nan)
        keras_op, numpy_op = getattr(ops, op), getattr(np, op)

        def keras_call():
            return ops.convert_to_numpy(keras_op(x))

        def numpy_call():
            return numpy_op(plain)

        same = bool(np.array_equal(keras_call(), numpy_op(x)))
        calls = []  # Per block: as many as fit the budget, after warm-up.
        for function in (keras_call, numpy_call):
            warm_up(function)
            time.sleep(PAUSE)
            (once,) = timed(function, 1)
            calls.append(max(1, min(repeats, int(budget / once))))
        times = ([], [])
        for _ in range(blocks):
            times[0].extend(timed(keras_call, calls[0]))
            time.sleep(PAUSE)
            times[1].extend(timed(numpy_call, calls[1]))
        keras_time, numpy_time = map(statistics.median, times)
        rows.append({"keras": keras_time, "numpy": numpy_time, "same": same})
    return rows


def peaks(variant, size, start):
    """Peak resident memory of a first (cold) and a second `nan_to_num` of
    `size` float32 values, over the input's bytes: less the memory before
    the input was made, then less the memory once it was made. `start` is
    one of `PEAK_STARTS`."""
    import numpy as np

    function = np.nan_to_num
    if variant != "numpy":
        from keras import ops

        def function(v):
            if start == "call alone":
                # JAX computes asynchronously.
                result = ops.nan_to_num(v)
                getattr(result, "block_until_ready", lambda: None)()
                return result
            return ops.convert_to_numpy(ops.nan_to_num(v))

    if start == "plugin loaded":
        import openvino as ov

        x = ov.opset15.parameter([4], ov.Type.f32)
        ov.compile_model(ov.Model([ov.opset15.relu(x)], [x]), "CPU")
    totals, increases = [], []
    for _ in range(2):
        before = resident()
        x = make_input("float32", size, True)
        made = status_bytes("VmRSS")
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # VmHWM := VmRSS, past making the input.
        result = function(x)
        peak = status_bytes("VmHWM")
        totals.append((peak - before) / x.nbytes)
        increases.append((peak - made) / x.nbytes)
        del x, result
    return totals + increases


def held(cases, rounds, scale):
    """MB held (results dropped) after each step of each round, against the
    process before its first call; then after `malloc_trim(0)`, which
    returns the C allocator's free pages."""
    import numpy as np

    from keras import ops

    inputs = [make_input(dtype, n, nan) for _, dtype, n, nan in cases]
    mixed = [
        make_input("float32", 2**22 // scale, True).astype(dtype)
        for dtype in ("float32", "float64", "float16", "bfloat16")
    ]
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((4000 // scale, 4000))
    forms = make_input("float32", 2**24 // scale, False)
    side = 4096 // int(scale**0.5)
    shapes = [((side, -1), a) for a in (None, 0, 1)]
    shapes += [((-1, 256, 256 // scale), a) for a in (None, 0, 1, 2)]
    before = resident()
    result = {step: [] for step in HELD_STEPS}

    def note(step):
        result[step].append((resident() - before) / 2**20)

    for _ in range(rounds):
        for (op, *_), x in zip(cases, inputs):
            ops.convert_to_numpy(getattr(ops, op)(x))
        note("calls")
        for x in mixed:
            for nan in (0.0, 1.0, 2.0):
                ops.convert_to_numpy(ops.nan_to_num(x, nan=nan))
        note("mixed")
        for _ in range(2):
            ops.convert_to_numpy(ops.argmax(matrix, axis=1))
        note("matrix")
        for shape, axis in shapes:
            for op in (ops.argmax, ops.argmin):
                ops.convert_to_numpy(op(forms.reshape(shape), axis=axis))
        note("forms")
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    note("trimmed")
    return result


def worker(spec):
    """One variant's figures: `peaks` (part "peak"), or `held` (OpenVINO
    only) then `time_cases`, with the Keras that ran and the versions."""
    variant, cases = spec["variant"], [tuple(c) for c in spec["cases"]]
    if spec["part"] == "peak":
        return peaks(variant, spec["size"], spec["start"])
    import numpy as np

    import keras

    result = {"keras_file": keras.__file__}
    if variant in OPENVINO + ON_MAIN:
        result["held"] = held(cases, spec["rounds"], spec["scale"])
    args = spec["blocks"], spec["repeats"], spec["budget"]
    result["rows"] = time_cases(cases, *args)
    backend = variant if variant in ("jax", "torch") else "openvino"
    version = sys.modules[backend].__version__.split("-")[0]
    result["versions"] = {"numpy": np.__version__, backend: version}
    result["versions"]["keras"] = keras.__version__
    return result


def run(variant, setup=None, **spec):
    """Runs `worker` in a new process set up for `variant`, or by `setup`
    (python, cwd and environment variables)."""
    env = dict(os.environ, KERAS_BACKEND="openvino")
    for name in (
        "PYTHONPATH",
        "KERAS_OVERLAY_CORE_ONLY",
        "KERAS_OVERLAY_SPEED_PATCHES",
    ):
        env.pop(name, None)
    cwd = "/"  # The installed Keras, without this repository.
    if variant in ("core", "prior", "series"):
        cwd, env["PYTHONPATH"] = ROOT, str(ROOT)
        if variant == "core":
            env["KERAS_OVERLAY_CORE_ONLY"] = "1"
        elif variant == "prior":
            env["KERAS_OVERLAY_SPEED_PATCHES"] = str(len(SPEED_PATCHES) - 1)
    elif variant in ("jax", "torch"):
        env["KERAS_BACKEND"] = variant
    python = sys.executable
    if setup and variant in setup:
        python, cwd, extra = setup[variant]
        env.update(extra)
    spec = json.dumps(dict(spec, variant=variant))
    command = [python, str(pathlib.Path(__file__)), "--worker", spec]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True)
    if done.returncode:
        raise RuntimeError(f"{variant}: {done.stderr.decode()[-3000:]}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def machine_description():
    """CPU model, its widest vector instructions, cores and platform: the
    CPU plugin picks its kernels by those instructions."""
    fields = {}
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            name, _, value = line.partition(":")
            fields.setdefault(name.strip(), value.strip())
    model = fields.get("model name") or platform.processor()
    flags = fields.get("flags", "").split()
    widest = [f for f in ("avx512_bf16", "avx512f", "avx2") if f in flags]
    vector = widest[0] if widest else "no AVX2"
    return f"{model}, {vector}, {os.cpu_count()} cores, {platform.platform()}"


def git_commit():
    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "HEAD") + " (uncommitted changes)" * bool(dirty)


def load_average():
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def table(header, rows, left=1):
    """A Markdown table, its columns after the first `left` right-aligned."""
    rule = ["---" if i < left else "---:" for i in range(len(header))]
    lines = [header, rule, *rows]
    return ["| " + " | ".join(map(str, line)) + " |" for line in lines]


def report(args, cases, timing, memory, load_start, openvino, others):
    versions = {}
    for variant in timing.values():
        versions.update(variant["versions"])
    title = "the release, the core, the series, Keras on JAX and on PyTorch"
    if args.on_main:
        title = "keras-openvino main, with the core, with the series"
    lines = [
        f"# Eager `nan_to_num`, `argmax`, `argmin`: NumPy, {title}",
        "",
        f"- command: `python -m benchmarks.series_benchmark {args.command}`",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- commit: {git_commit()}",
        f"- machine: {machine_description()}",
        f"- load average (1, 5, 15 min) at start: {load_start}; at end: "
        f"{load_average()}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        "Median time of an eager `keras.ops.convert_to_numpy(op(x))` over "
        "NumPy's median on the same input in the same process. Each side "
        f"in turn runs a block of up to {args.repeats} calls (about "
        f"{args.budget} s), {args.blocks} blocks each, after a warm-up of "
        f"{WARM_UP[0]:,} calls or {WARM_UP[1]} s (a long loop's state: a small "
        "call's key compiles its static-shape model at its 1,000th call); "
        f"NumPy's after a {PAUSE * 1e3:.0f} ms pause. NumPy ms: in the "
        "series' process. ≠: the answer is not NumPy's. A NaN row of "
        "`argmax` is over NumPy on the row above's NaN-free values (NumPy "
        "stops at the first NaN). Keras on JAX computes float64 as float32.",
        "",
    ]

    def ratio(variant, index):
        if variant not in timing:
            return "n/a"
        r = timing[variant]["rows"][index]
        return f"{r['keras'] / r['numpy']:.2f}x" + " ≠" * (not r["same"])

    rows = [
        [op, dtype, f"{size:,}", "1%" if nan else ""]
        + [f"{timing[openvino[-1]]['rows'][i]['numpy'] * 1e3:.3f}"]
        + [ratio(variant, i) for variant in [*openvino, *others]]
        for i, (op, dtype, size, nan) in enumerate(cases)
    ]
    header = ["op", "dtype", "values", "NaN", "NumPy ms"]
    header += [TITLES.get(v, v) for v in [*openvino, *others]]
    lines += table(header, rows, 2)

    def milliseconds(variant, index):
        if variant not in timing:
            return "n/a"
        return f"{timing[variant]['rows'][index]['keras'] * 1e3:.3f}"

    lines += [
        "",
        "The same medians in ms. NumPy's own time varies from process to "
        "process with the memory the other side leaves to the allocator, "
        "so compare sides by these for large inputs.",
        "",
    ]
    rows = [
        row[:5] + [milliseconds(v, i) for v in [*openvino, *others]]
        for i, row in enumerate(rows)
    ]
    lines += table(header, rows, 2)
    names = ["numpy"] + [v for v in [*openvino, *others] if v in memory]

    def peak_figure(variant, row):
        # Rows 0-3: a first call's process; then the cold call's increase
        # in the other starts' processes.
        if row < 4:
            return memory[variant][0][row]
        return memory[variant][row - 3][2]

    lines += [
        "",
        f"Peak memory of `nan_to_num` on {args.peak_size:,} float32 values "
        "in a fresh process, first (cold) and second call: VmHWM (the RSS "
        "high-water mark, reset once the input is made) less the RSS before "
        "the input was made (the input counts 1x), or less the RSS once it "
        "was made (what the call adds), over the input's bytes. The call is "
        "`convert_to_numpy(nan_to_num(x))`, whose result is the input's "
        "size twice on a Keras backend (`convert_to_numpy` returns an "
        "independent copy), NumPy's `nan_to_num(x)`; or, in the last row, "
        "`nan_to_num(x)` alone (the release's builds a graph, computed "
        "later). The last two rows are each from a process of their own: "
        "one that loaded OpenVINO's CPU plugin before the input was made "
        "(a 4-value model compiled), and one that timed the call alone.",
        "",
        *table(
            ["call"] + [TITLES.get(v, v) for v in names],
            [
                [call] + [f"{peak_figure(v, i):.2f}x" for v in names]
                for i, call in enumerate(PEAK_ROWS)
            ],
        ),
        "",
        "MB of resident memory held (results dropped, garbage collected) "
        "after each step, against the process before its first call, in "
        f"each of {args.rounds} rounds, in order; then after `malloc_trim`. "
        "Before timing, in the same process."
        + (" Memory inputs: 1/16 of the sizes named." if args.quick else ""),
        "",
    ]
    kept = {v: timing[v]["held"] for v in openvino}
    rows = [
        [text] + [", ".join(f"{v:+.0f}" for v in kept[n][step]) for n in kept]
        for step, text in HELD_STEPS.items()
    ]
    lines += table(["after", *[TITLES.get(v, v) for v in openvino]], rows)
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    add = parser.add_argument
    add("--repeats", type=int, default=20, help="calls per block, at most")
    add("--blocks", type=int, default=5, help="blocks of calls per side")
    add("--rounds", type=int, default=3, help="rounds of held-memory steps")
    add("--quick", action="store_true", help="small sizes, few repeats")
    add("--on-main", action="store_true", help="on keras-openvino main")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    load_start = load_average()
    args.command = " ".join(sys.argv[1:])
    args.scale, cases, args.budget = 1, CASES, 0.5
    if args.quick:  # Prints, writes no record.
        args.repeats, args.blocks, args.rounds = 3, 2, 2
        args.scale, args.budget = 16, 0.05
        cases = [case for case in CASES if case[2] <= 2**16]
    args.peak_size = 2**24 // args.scale
    spec = {"cases": cases, "rounds": args.rounds, "scale": args.scale}
    spec.update(blocks=args.blocks, repeats=args.repeats, budget=args.budget)
    timing, memory = {}, {}
    openvino, setup, record = OPENVINO, None, RECORD
    others = [v for v in VARIANTS[len(OPENVINO) :] if find_spec(v)]
    if args.on_main:
        openvino, others, record = ON_MAIN, [], MAIN_RECORD
        work = tempfile.TemporaryDirectory()  # Lives until the end of main.
        setup = main_setups(pathlib.Path(work.name))
    for variant in ("numpy", *openvino, *others):
        print(f"{variant}...", file=sys.stderr, flush=True)
        size = args.peak_size
        memory[variant] = [
            run(variant, setup, part="peak", size=size, start=start, **spec)
            for start in PEAK_STARTS
        ]
        if variant == "numpy":
            continue
        timing[variant] = run(variant, setup, part="time", **spec)
        where = setup[variant][1] if setup else ROOT / "keras"
        inside = timing[variant]["keras_file"].startswith(str(where))
        if inside == (variant in ("release", "jax", "torch")):
            raise RuntimeError(f"{variant} ran {timing[variant]['keras_file']}")
    text = report(args, cases, timing, memory, load_start, openvino, others)
    print(text)
    if not args.quick:
        record.write_text(text)


def main_setups(work):
    """Per variant of ON_MAIN: python, cwd (its Keras root) and environment
    of keras-openvino's CI flow, as `tools.suite_runner` makes it."""
    from tools import export_patch
    from tools import suite_runner

    python = ROOT / ".venv-upstream" / "bin" / "python"
    suite_runner.pip(python, "install", *suite_runner.REQUIREMENTS, "rich")
    suite_runner.pip(python, "install", "namex", "optree")
    suite_runner.pip(python, "uninstall", "-y", "keras", "keras-openvino")
    writers = [None, partial(export_patch.write_series, core_only=True)]
    writers.append(export_patch.write_series)
    setups = {}
    for variant, write in zip(ON_MAIN, writers):
        folder = work / variant.replace(" + ", "-")
        keras = suite_runner.unpack(
            suite_runner.BRANCH, folder, None, suite_runner.FUNCTIONAL
        )
        package = suite_runner.unpack(
            suite_runner.KERAS_OPENVINO, folder, write
        )
        env = {"PYTHONPATH": f"{package}:{keras}"}
        env["KERAS_HOME"] = str(package / ".github/workflows/config")
        setups[variant] = (str(python), str(keras), env)
    return setups


if __name__ == "__main__":
    main()
