"""Times eager `keras.ops.nan_to_num` (or `argmax`) on OpenVINO against NumPy.

Compares, in one process and on fresh input arrays:

- `numpy`: `np.nan_to_num(x)`;
- `release`: the Keras release's OpenVINO `nan_to_num` followed by its
  `convert_to_numpy`, as a user of the release runs them;
- `tree`: `keras.ops.convert_to_numpy(keras.ops.nan_to_num(x))` with this
  tree laid over the release;

and the same for `argmax`.

For each case it reports the median time, the ratio to NumPy, and the peak
resident memory growth of one call as a multiple of the input's size
(Linux: the peak is reset through /proc/self/clear_refs before each call).
Writes a Markdown table and a log-log plot under `benchmarks/results/`.

Run from the tree's root: `python -m benchmarks.nan_to_num_benchmark`;
add `--op argmax` for `argmax` (on input without NaN, since NumPy stops at
the first one).
"""

import os

os.environ.setdefault("KERAS_BACKEND", "openvino")

import argparse  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import openvino  # noqa: E402

import keras  # noqa: E402

RESULTS_DIR = pathlib.Path(__file__).parent / "results"
# (dtype, values, share of NaN and infinities).
CASES = {
    "nan_to_num": [
        ("float32", 16, 0.2),
        ("float32", 1 << 20, 0.2),
        ("float32", 1 << 24, 0.2),
        ("float16", 1 << 20, 0.2),
        ("float64", 1 << 20, 0.2),
        *(
            (dtype, 1 << 20, share)
            for dtype in ("float32", "float64")
            for share in (0.0, 0.01, 0.3, 1.0)
        ),
    ],
    "argmax": [
        ("float32", 16, 0.0),
        ("float32", 1 << 20, 0.0),
        # Not a multiple of the rows `argmax` cuts all values into.
        ("float32", 1_000_003, 0.0),
        ("float64", 1 << 20, 0.0),
        ("int32", 1 << 20, 0.0),
    ],
}
# Keras backends timed as extra columns when they are installed
# (requirements-benchmark-extras.txt), each in a process of its own.
OTHER_BACKENDS = ("jax", "torch")


def implementations(op):
    """NumPy's op, the release's (with its own `convert_to_numpy`) and the
    tree's, as a user of each runs them."""
    from keras.src.backend.openvino import core
    from keras.src.backend.openvino import numpy as ov_numpy

    release_convert = core.__overlaid__["convert_to_numpy"]
    release_op = ov_numpy.__overlaid__[op]
    tree_op = getattr(keras.ops, op)
    # The release is timed last: its compilations leave work behind them
    # that slows the next few hundred small calls of anything (a 16-value
    # argmax went from 104 to 144 us, back after about 600 calls).
    return {
        "numpy": getattr(np, op),
        "tree": lambda x: keras.ops.convert_to_numpy(tree_op(x)),
        "release": lambda x: release_convert(release_op(x)),
    }


def make_input(dtype, size, share, seed=0):
    """`size` values, a `share` of them NaN, +inf and -inf in equal parts.
    argmax cases take no NaN: NumPy's argmax stops at the first one."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(size) * 1e3).astype(dtype)
    special = rng.random(size) < share
    x[special] = rng.choice([np.nan, np.inf, -np.inf], int(special.sum()))
    return x


def _status_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_memory_growth(function, x):
    """Peak RSS growth in bytes during `function(x)`, result included."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # Resets the peak (VmHWM) to the current RSS.
    before = _status_kib("VmRSS")
    result = function(x)
    growth = (_status_kib("VmHWM") - before) * 1024
    del result
    return growth


# Calls of one function in a row, before the next function's turn: drift
# of the machine is shared, and a small call still runs in caches warmed by
# its own kind, as it would in a loop of them.
CALLS_PER_TURN = 20


def median_seconds(functions, base, repeats):
    """The median time of a call of each of `functions` on a fresh copy of
    `base`, `repeats` calls each, the functions taking turns: on a virtual
    machine, small calls move by up to 2x between blocks timed apart."""
    times = [[] for _ in functions]
    for turn in range(0, repeats, CALLS_PER_TURN):
        calls = min(CALLS_PER_TURN, repeats - turn)
        for function, function_times in zip(functions, times):
            for _ in range(calls):
                x = base.copy()  # A fresh array: nothing served from a cache.
                start = time.perf_counter()
                function(x)
                function_times.append(time.perf_counter() - start)
    return [statistics.median(function_times) for function_times in times]


def repeats_for(size, scale):
    return max(3, int(scale * min(300, 3e7 / max(size, 1) ** 0.9)))


def run(op, scale, others):
    rows = []
    functions = implementations(op)
    for (dtype, size, share), other in zip(CASES[op], others):
        base = make_input(dtype, size, share)
        row = {"dtype": dtype, "size": size, "share": share, **other}
        repeats = repeats_for(size, scale)
        # NumPy and the tree in turn, then the release, each warmed up
        # (plugins loaded, models compiled) just before: the release's
        # compilations would slow the small calls timed after them.
        for names in (("numpy", "tree"), ("release",)):
            for name in names:
                functions[name](base.copy())
            medians = median_seconds(
                [functions[name] for name in names], base, repeats
            )
            row.update(zip(names, medians))
            for name in names:
                growths = [
                    peak_memory_growth(functions[name], base.copy())
                    for _ in range(3)
                ]
                row[name + "_memory"] = min(growths) / base.nbytes
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


def other_backend_ratios(op, scale):
    """Per case, Keras on each installed other backend: its time over
    NumPy's, both measured in that backend's own process."""
    import importlib.util

    ratios = [{} for _ in CASES[op]]
    for name in OTHER_BACKENDS:
        if importlib.util.find_spec(name) is None:
            continue
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.nan_to_num_benchmark",
                "--op",
                op,
                "--scale",
                str(scale),
                "--time-this-backend",
            ],
            env=dict(os.environ, KERAS_BACKEND=name),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for row, ratio in zip(ratios, json.loads(output.splitlines()[-1])):
            row[name] = ratio
    return ratios


def this_backend_ratios(op, scale):
    """Keras on the backend this process runs, over NumPy, per case."""
    keras_op = getattr(keras.ops, op)

    def keras_function(x):
        return keras.ops.convert_to_numpy(keras_op(x))

    ratios = []
    for dtype, size, share in CASES[op]:
        base = make_input(dtype, size, share)
        keras_function(base.copy())
        keras_time, numpy_time = median_seconds(
            [keras_function, getattr(np, op)], base, repeats_for(size, scale)
        )
        ratios.append(keras_time / numpy_time)
    return ratios


def machine_description():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()}; Python "
        f"{platform.python_version()}, numpy {np.__version__}, openvino "
        f"{openvino.__version__.split('-')[0]}, keras {keras.__version__}"
    )


HEADER = (
    "| dtype | values | NaN/inf | numpy | release | tree | release / numpy "
    "| tree / numpy | Keras on JAX / numpy | Keras on torch / numpy "
    "| memory: numpy | memory: release | memory: tree |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.2f} ms"


def _ratio(row, name):
    return f"{row[name]:.2f}×" if name in row else "not installed"


def format_row(row):
    return (
        f"| {row['dtype']} | {row['size']:,} | {row['share']:.0%} "
        f"| {_time(row['numpy'])} "
        f"| {_time(row['release'])} | {_time(row['tree'])} "
        f"| {row['release'] / row['numpy']:.2f}× "
        f"| {row['tree'] / row['numpy']:.2f}× "
        f"| {_ratio(row, 'jax')} | {_ratio(row, 'torch')} "
        f"| {row['numpy_memory']:.2f}× | {row['release_memory']:.2f}× "
        f"| {row['tree_memory']:.2f}× |"
    )


def date_and_commit():
    """`Date: ... UTC. Commit: ...`, for a record's head."""
    root = pathlib.Path(__file__).resolve().parents[1]

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    commit = git("rev-parse", "HEAD") + (
        " (with uncommitted changes)" * bool(dirty)
    )
    now = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    return f"Date: {now} UTC. Commit: {commit}."


def write_table(rows, path, command):
    lines = [
        f"Machine: {machine_description()}.",
        f"Command: `{command}`.",
        date_and_commit(),
        "Times are medians over fresh inputs; memory is the peak resident "
        "growth of one call over the input's size.",
        "",
        HEADER,
    ]
    lines += [format_row(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_plot(rows, path, op):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # The size sweep: float32 at the default share of NaN and infinities.
    share = CASES[op][0][2]
    float32_rows = [
        row
        for row in rows
        if row["dtype"] == "float32" and row["share"] == share
    ]
    sizes = [row["size"] for row in float32_rows]
    figure, axes = plt.subplots(figsize=(6, 4.2))
    for name, marker in (("numpy", "o"), ("release", "s"), ("tree", "^")):
        axes.plot(
            sizes,
            [row[name] * 1e3 for row in float32_rows],
            marker=marker,
            label=name,
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("float32 values")
    axes.set_ylabel("median time per call (ms)")
    axes.set_title(f"{op}, eager, OpenVINO backend vs NumPy")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiplies the number of timed calls per case",
    )
    parser.add_argument(
        "--op",
        choices=sorted(CASES),
        default="nan_to_num",
        help="the op to time",
    )
    parser.add_argument(
        "--time-this-backend",
        action="store_true",
        help="print Keras-over-NumPy ratios on $KERAS_BACKEND, as JSON",
    )
    args = parser.parse_args()
    if args.time_this_backend:
        print(json.dumps(this_backend_ratios(args.op, args.scale)))
        return
    command = ".venv/bin/python -m benchmarks.nan_to_num_benchmark"
    if args.op != "nan_to_num":
        command += f" --op {args.op}"
    print(machine_description())
    print(HEADER)
    others = other_backend_ratios(args.op, args.scale)
    rows = run(args.op, args.scale, others)
    RESULTS_DIR.mkdir(exist_ok=True)
    write_table(rows, RESULTS_DIR / f"{args.op}.md", command)
    write_plot(rows, RESULTS_DIR / f"{args.op}.png", args.op)
    print(f"Wrote {RESULTS_DIR / args.op}.md and {args.op}.png")


if __name__ == "__main__":
    main()
