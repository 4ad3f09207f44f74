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
import pathlib  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import openvino  # noqa: E402

import keras  # noqa: E402
from keras.src.backend.openvino import core  # noqa: E402
from keras.src.backend.openvino import numpy as ov_numpy  # noqa: E402

RESULTS_DIR = pathlib.Path(__file__).parent / "results"
CASES = {
    "nan_to_num": [
        ("float32", 16),
        ("float32", 1 << 20),
        ("float32", 1 << 24),
        ("float16", 1 << 20),
        ("float64", 1 << 20),
    ],
    "argmax": [
        ("float32", 16),
        ("float32", 1 << 20),
        ("float64", 1 << 20),
    ],
}


def implementations(op):
    """NumPy's op, the release's (with its own `convert_to_numpy`) and the
    tree's, as a user of each runs them."""
    release_convert = core.__overlaid__["convert_to_numpy"]
    release_op = ov_numpy.__overlaid__[op]
    tree_op = getattr(keras.ops, op)
    return {
        "numpy": getattr(np, op),
        "release": lambda x: release_convert(release_op(x)),
        "tree": lambda x: keras.ops.convert_to_numpy(tree_op(x)),
    }


def make_input(dtype, size, op, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(size) * 1e3).astype(dtype)
    if op == "argmax":
        # NumPy's argmax stops at the first NaN: time a whole scan instead.
        return x
    x[rng.integers(0, size, max(1, size // 10))] = np.nan
    x[rng.integers(0, size, max(1, size // 20))] = np.inf
    x[rng.integers(0, size, max(1, size // 20))] = -np.inf
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


def median_seconds(function, base, repeats):
    times = []
    for _ in range(repeats):
        x = base.copy()  # A fresh array: nothing served from a cache.
        start = time.perf_counter()
        function(x)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def repeats_for(size, scale):
    return max(3, int(scale * min(300, 3e7 / max(size, 1) ** 0.9)))


def run(op, scale):
    rows = []
    functions = implementations(op)
    for dtype, size in CASES[op]:
        base = make_input(dtype, size, op)
        for function in functions.values():
            function(base.copy())  # Warm up: load plugins, compile.
        row = {"dtype": dtype, "size": size}
        for name, function in functions.items():
            row[name] = median_seconds(function, base, repeats_for(size, scale))
            growths = [
                peak_memory_growth(function, base.copy()) for _ in range(3)
            ]
            row[name + "_memory"] = min(growths) / base.nbytes
        rows.append(row)
        print(format_row(row), flush=True)
    return rows


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
    "| dtype | values | numpy | release | tree | release / numpy "
    "| tree / numpy | memory: numpy | memory: release | memory: tree |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.2f} ms"


def format_row(row):
    return (
        f"| {row['dtype']} | {row['size']:,} | {_time(row['numpy'])} "
        f"| {_time(row['release'])} | {_time(row['tree'])} "
        f"| {row['release'] / row['numpy']:.2f}× "
        f"| {row['tree'] / row['numpy']:.2f}× "
        f"| {row['numpy_memory']:.2f}× | {row['release_memory']:.2f}× "
        f"| {row['tree_memory']:.2f}× |"
    )


def write_table(rows, path, command):
    lines = [
        f"Machine: {machine_description()}.",
        f"Command: `{command}`.",
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

    float32_rows = [row for row in rows if row["dtype"] == "float32"]
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
    args = parser.parse_args()
    command = ".venv/bin/python -m benchmarks.nan_to_num_benchmark"
    if args.op != "nan_to_num":
        command += f" --op {args.op}"
    print(machine_description())
    print(HEADER)
    rows = run(args.op, args.scale)
    RESULTS_DIR.mkdir(exist_ok=True)
    write_table(rows, RESULTS_DIR / f"{args.op}.md", command)
    write_plot(rows, RESULTS_DIR / f"{args.op}.png", args.op)
    print(f"Wrote {RESULTS_DIR / args.op}.md and {args.op}.png")


if __name__ == "__main__":
    main()
