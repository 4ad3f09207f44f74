"""Eager execution with this tree against the bare Keras release.

For the OpenVINO backend's generic eager path (`convert_to_numpy` of a
graph of constants) and its `nan_to_num`, it measures, for the release and
for the tree, each side in a process of its own so that neither inherits
the other's memory:

- the time of a generic op chain, `x * (x + 1)` on float32 (16 and 1M
  values), as a ratio to NumPy's time in the same process, and the time
  of `convert_to_numpy` alone on that graph built once;
- the resident memory growth over 100 calls on new data of one shape, and
  over 100 calls on new shapes (1M to 4M values), for that float32 chain
  and for a float64 `x + 1` (a graph the tree compiles as the release
  does), after one warm-up call;
- the peak resident growth of a cold (first) and a warm (second) 16M
  float32 `nan_to_num`, as a multiple of the input's size, with NumPy's.

Run from the tree's root: `python -m benchmarks.eager_benchmark`. Writes
`benchmarks/results/eager.md`.
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
from benchmarks.series_benchmark import (  # noqa: E402
    machine_description as cpu_description,
)

RESULTS_DIR = pathlib.Path(__file__).parent / "results"
_RELEASE_DEFINITIONS = None
CALLS = 100
MIB = 2**20


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


def machine_description():
    """The CPU (as `series_benchmark` names it) and the versions."""
    return (
        f"{cpu_description()}; Python {platform.python_version()}, numpy "
        f"{np.__version__}, openvino {openvino.__version__.split('-')[0]}, "
        f"keras {keras.__version__}"
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


def _rss():
    return _status_kib("VmRSS") * 1024


def _chain(ops):
    return lambda x: ops.convert_to_numpy(ops.multiply(ops.add(x, 1.0), x))


def _add_one(ops):
    return lambda x: ops.convert_to_numpy(ops.add(x, 1.0))


def _growth(function, inputs):
    """RSS growth over calls of `function` on `inputs`, after a warm-up."""
    function(inputs[0])
    before = _rss()
    for x in inputs:
        function(x)
    return _rss() - before


def _inputs(dtype, sizes, seed=0):
    rng = np.random.default_rng(seed)
    for size in sizes:
        yield rng.standard_normal(size).astype(dtype)


def _every_op_times():
    """Median and total time per call of every op the eager audit runs, on
    its 24 float32 edge values: ops of every kind, unlike one chain."""
    import warnings

    import keras
    from integration_tests import openvino_eager_audit as eager_audit

    x = eager_audit.edge_values("float32")
    y = eager_audit.second_operand("float32")
    times = []
    for name in eager_audit.op_names():
        if not eager_audit.is_audited(name, "float32"):
            continue
        args, kwargs = eager_audit._arguments(name, x, y)
        function = getattr(keras.ops, name)

        def call():
            result = function(*args, **kwargs)
            for value in (
                result if isinstance(result, (list, tuple)) else [result]
            ):
                keras.ops.convert_to_numpy(value)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                call()
            except Exception:
                continue  # Fails with the release and the tree alike.
            times += median_seconds([lambda _: call()], x, 5)
    return {
        "every_op_median": float(np.median(times)),
        "every_op_total": float(np.sum(times)),
        "every_op_count": len(times),
    }


def measure(side, part):
    """One side's figures ("numpy", "release" or "tree"): the chain's time
    and memory growth (`part="chain"`), or the peaks of a cold and a warm
    16M `nan_to_num` (`part="peak"`), in a process that did nothing else."""
    from keras import ops

    if side == "release":
        from integration_tests import openvino_eager_audit as eager_audit

        # For the rest of this process, which measures the release alone.
        # Kept referenced: a dropped context manager would be closed, and
        # the tree's definitions put back, as soon as it is collected.
        global _RELEASE_DEFINITIONS
        _RELEASE_DEFINITIONS = eager_audit.release_definitions()
        _RELEASE_DEFINITIONS.__enter__()
    results = {}
    if part == "peak":
        x = next(_inputs("float32", [1 << 24]))
        x[::7] = np.nan
        x[::11] = np.inf
        results["input_bytes"] = x.nbytes
        if side == "numpy":
            results["cold"] = peak_memory_growth(np.nan_to_num, x.copy())
            results["warm"] = peak_memory_growth(np.nan_to_num, x.copy())
            return results

        def nan_to_num(v):
            return ops.convert_to_numpy(ops.nan_to_num(v))

        results["cold"] = peak_memory_growth(nan_to_num, x.copy())
        results["warm"] = peak_memory_growth(nan_to_num, x.copy())
        return results
    chain = _chain(ops)
    for size in (16, 1 << 20):
        base = next(_inputs("float32", [size]))
        chain(base)
        repeats = 200 if size == 16 else 20
        (
            results[f"chain_{size}"],
            results[f"chain_{size}_numpy"],
        ) = median_seconds([chain, lambda x: x * (x + 1)], base, repeats)
        # The graph built once: the cost of running it alone.
        graph = ops.multiply(ops.add(base, 1.0), base)
        (results[f"run_{size}"],) = median_seconds(
            [lambda _: ops.convert_to_numpy(graph)], base, repeats
        )
    results.update(_every_op_times())
    one_shape = [1 << 20] * CALLS
    new_shapes = [(1 << 20) + 30_000 * i for i in range(CALLS)]
    for name, function, dtype in (
        ("chain", chain, "float32"),
        ("add_float64", _add_one(ops), "float64"),
    ):
        results[f"{name}_new_data"] = _growth(
            function, list(_inputs(dtype, one_shape))
        )
        results[f"{name}_new_shapes"] = _growth(
            function, list(_inputs(dtype, new_shapes))
        )
    return results


def _megabytes(value):
    return f"{value / MIB:+.0f} MB"


def write_report(release, tree, peaks, path, command):
    rows = [
        "| measure | release | tree |",
        "|---|---:|---:|",
    ]
    for size in (16, 1 << 20):
        key = f"chain_{size}"
        rows.append(
            f"| `x * (x + 1)`, {size:,} float32: time / NumPy's "
            f"| {release[key] / release[key + '_numpy']:.0f}× "
            f"| {tree[key] / tree[key + '_numpy']:.0f}× |"
        )
    rows.append(
        f"| every audited op ({tree['every_op_count']} that run), 24 float32 "
        "edge values: median time per call "
        f"| {release['every_op_median'] * 1e3:.2f} ms "
        f"| {tree['every_op_median'] * 1e3:.2f} ms |"
    )
    rows.append(
        "| the same: all of them once, one after the other "
        f"| {release['every_op_total']:.2f} s "
        f"| {tree['every_op_total']:.2f} s |"
    )
    for size in (16, 1 << 20):
        key = f"run_{size}"
        rows.append(
            f"| `convert_to_numpy` of that graph, built once, {size:,} "
            f"values | {release[key] * 1e3:.2f} ms | {tree[key] * 1e3:.2f} ms |"
        )
    for name, label in (
        ("chain", "`x * (x + 1)` float32"),
        ("add_float64", "`x + 1` float64"),
    ):
        for kind, words in (
            ("new_data", "new data, 1M values"),
            ("new_shapes", "new shapes, 1M-4M values"),
        ):
            key = f"{name}_{kind}"
            rows.append(
                f"| {label}: growth over {CALLS} calls on {words} "
                f"| {_megabytes(release[key])} | {_megabytes(tree[key])} |"
            )

    def peak(side, kind):
        return peaks[side][kind] / peaks[side]["input_bytes"]

    for kind in ("cold", "warm"):
        rows.append(
            f"| 16M float32 `nan_to_num`, {kind} call: peak growth / input "
            f"(NumPy: {peak('numpy', kind):.2f}×) "
            f"| {peak('release', kind):.2f}× | {peak('tree', kind):.2f}× |"
        )
    lines = [
        f"Machine: {machine_description()}.",
        f"Command: `{command}`.",
        date_and_commit(),
        "",
        *rows,
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def _run_part(side, part):
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.eager_benchmark",
            "--side",
            side,
            "--part",
            part,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", choices=("numpy", "release", "tree"))
    parser.add_argument("--part", choices=("chain", "peak"), default="chain")
    args = parser.parse_args()
    if args.side:
        print(json.dumps(measure(args.side, args.part)))
        return
    chains = {side: _run_part(side, "chain") for side in ("release", "tree")}
    peaks = {
        side: _run_part(side, "peak") for side in ("numpy", "release", "tree")
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    write_report(
        chains["release"],
        chains["tree"],
        peaks,
        RESULTS_DIR / "eager.md",
        ".venv/bin/python -m benchmarks.eager_benchmark",
    )


if __name__ == "__main__":
    main()
