"""`model.predict` on the OpenVINO backend: speed and error by precision.

A 3-layer MLP (1024 inputs, three `Dense(1024, "relu")` layers) predicts
float32 inputs in batches of 256, the same weights in every variant:

- the CPU plugin's default precision: the model compiled without a
  precision hint, as `predict` was before it asked for f32 (bf16 on CPUs
  that have AVX512-BF16 or AMX);
- f32: `predict` as it is now, for a float32 model;
- a `bfloat16` and a `mixed_bfloat16` dtype policy: how a Keras user asks
  for bf16 speed; the row "read as float16" is the same bfloat16 result
  read the way `predict` read bf16 outputs before (float16 of the same
  bits).

For each: the time of a `predict` call on 2048 rows (8 batches; median of
timed calls that take turns across variants, after warm-up), the plugin's
own time per batch (the compiled model called directly), and the error
against the same network computed in float64 NumPy from the model's own
weights: the largest absolute error, and the largest relative error over
the outputs whose magnitude is at least 1% of the largest.

Run from the tree's root: `python -m benchmarks.predict_precision_benchmark`.
Writes `benchmarks/results/predict_precision.md`.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "openvino")

import argparse  # noqa: E402
import datetime  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from unittest import mock  # noqa: E402

import numpy as np  # noqa: E402
import openvino as ov  # noqa: E402

import keras  # noqa: E402
from benchmarks.eager_benchmark import machine_description  # noqa: E402

RESULTS = pathlib.Path(__file__).parent / "results" / "predict_precision.md"
WIDTH = 1024
LAYERS = 3
BATCH = 256
ROWS = 8 * BATCH
CPU_FLAGS = ("avx512_bf16", "amx_bf16", "amx_tile")


def cpu_flags():
    """Which of `CPU_FLAGS` this CPU has."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return {flag: flag in flags for flag in CPU_FLAGS}
    except OSError:
        pass
    return {}


def git_commit():
    root = pathlib.Path(__file__).resolve().parents[1]
    commit = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return commit + (" (with uncommitted changes)" if dirty else "")


def make_weights(seed=0):
    rng = np.random.default_rng(seed)
    scale = np.sqrt(2.0 / WIDTH)  # He: activations stay of order one.
    return [
        (
            (rng.standard_normal((WIDTH, WIDTH)) * scale).astype("float32"),
            (rng.standard_normal(WIDTH) * 0.1).astype("float32"),
        )
        for _ in range(LAYERS)
    ]


def make_model(weights, policy):
    layers = [keras.layers.Input((WIDTH,))]
    layers += [
        keras.layers.Dense(WIDTH, activation="relu", dtype=policy)
        for _ in weights
    ]
    model = keras.Sequential(layers)
    for layer, (kernel, bias) in zip(model.layers, weights):
        layer.set_weights([kernel, bias])
    return model


def reference(model, x):
    """The network in float64, from the weights the model holds (bfloat16
    policies round them)."""
    y = x.astype("float64")
    for layer in model.layers:
        kernel, bias = (
            np.asarray(w, dtype="float64") for w in layer.get_weights()
        )
        y = np.maximum(y @ kernel + bias, 0.0)
    return y


def errors(result, expected):
    error = np.abs(result.astype("float64") - expected)
    large = np.abs(expected) >= 0.01 * np.abs(expected).max()
    return error.max(), (error[large] / np.abs(expected[large])).max()


ORIGINAL_COMPILE = ov.compile_model


def plugin_default_compile(model, device_name, config=None):
    """`ov.compile_model` as `predict` called it before: no config."""
    return ORIGINAL_COMPILE(model, device_name)


def variants(weights, x):
    """(name, model) for each variant, each compiled for `x`'s shape."""
    model = make_model(weights, "float32")
    with mock.patch.object(ov, "compile_model", plugin_default_compile):
        model.predict(x[:BATCH], batch_size=BATCH, verbose=0)
    built = [("float32 model, plugin's default precision (before)", model)]
    built.append(("float32 model, f32 (after)", make_model(weights, "float32")))
    for policy in ("bfloat16", "mixed_bfloat16"):
        built.append((f"`{policy}` dtype policy", make_model(weights, policy)))
    for _, model in built:
        model.predict(x[:BATCH], batch_size=BATCH, verbose=0)
    return built


def matmul_precision(compiled):
    """The precision the plugin runs the model's matrix products in, as its
    runtime model reports it: the hint alone does not tell, since a bf16
    graph keeps its bf16 products under an f32 hint."""
    precisions = set()
    for op in compiled.get_runtime_model().get_ordered_ops():
        info = op.get_rt_info()
        if info["layerType"].astype(str) in ("FullyConnected", "MatMul"):
            precisions.add(info["runtimePrecision"].astype(str))
    return "/".join(sorted(precisions))


def time_calls(functions, repeats):
    """Median seconds per call of each function, the functions taking turns
    so that the machine's slow spells fall on all of them."""
    times = [[] for _ in functions]
    for _ in range(repeats):
        for function, function_times in zip(functions, times):
            start = time.perf_counter()
            function()
            function_times.append(time.perf_counter() - start)
    return [statistics.median(function_times) for function_times in times]


def measure(repeats, batch_repeats):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((ROWS, WIDTH)).astype("float32")
    built = variants(make_weights(), x)

    def predict(model):
        return lambda: model.predict(x, batch_size=BATCH, verbose=0)

    def one_batch(model):
        compiled = model.ov_compiled_model
        return lambda: compiled([x[:BATCH]])

    for _ in range(2):  # Warm-up.
        for _, model in built:
            predict(model)()
    predict_times = time_calls([predict(m) for _, m in built], repeats)
    batch_times = time_calls([one_batch(m) for _, m in built], batch_repeats)
    rows = []
    for (name, model), predict_time, batch_time in zip(
        built, predict_times, batch_times
    ):
        result = model.predict(x, batch_size=BATCH, verbose=0)
        expected = reference(model, x)
        precision = model.ov_compiled_model.get_property(
            "INFERENCE_PRECISION_HINT"
        )
        rows.append(
            {
                "name": name,
                "hint": precision.get_type_name(),
                "matmul": matmul_precision(model.ov_compiled_model),
                "dtype": str(result.dtype),
                "predict": predict_time,
                "batch": batch_time,
                "errors": errors(result, expected),
            }
        )
        if str(result.dtype) == "bfloat16":
            misread = result.view(np.float16)
            rows.append(
                {
                    "name": f"{name}, read as float16 (before)",
                    "hint": rows[-1]["hint"],
                    "matmul": rows[-1]["matmul"],
                    "dtype": "float16",
                    "predict": None,
                    "batch": None,
                    "errors": errors(misread, expected),
                }
            )
    return rows


def format_rows(rows):
    lines = [
        "| variant | precision hint | products in | result dtype "
        "| `predict`, 2048 rows | rows/s | plugin, one batch of 256 "
        "| max abs error | max relative error |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        abs_error, rel_error = row["errors"]
        if row["predict"] is None:
            timing = "| (same run) | | (same run) "
        else:
            timing = (
                f"| {row['predict'] * 1e3:.1f} ms "
                f"| {ROWS / row['predict']:,.0f} "
                f"| {row['batch'] * 1e3:.2f} ms "
            )
        lines.append(
            f"| {row['name']} | {row['hint']} | {row['matmul']} "
            f"| {row['dtype']} {timing}"
            f"| {abs_error:.2e} | {rel_error:.2e} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31)
    parser.add_argument("--batch-repeats", type=int, default=200)
    parser.add_argument("--output", type=pathlib.Path, default=RESULTS)
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.timezone.utc)
    load = os.getloadavg()
    rows = measure(args.repeats, args.batch_repeats)
    flags = ", ".join(
        f"{flag} {'yes' if present else 'no'}"
        for flag, present in cpu_flags().items()
    )
    command = "python -m benchmarks.predict_precision_benchmark"
    if args.repeats != 31 or args.batch_repeats != 200:
        command += (
            f" --repeats {args.repeats} --batch-repeats {args.batch_repeats}"
        )
    text = (
        "# `predict` precision: speed and error\n\n"
        f"Command: `{command}` (from the repository's root).\n"
        f"Date: {started:%Y-%m-%d %H:%M} UTC. Commit: {git_commit()}.\n"
        f"Machine: {machine_description()}.\n"
        f"CPU flags: {flags}. Load average at start: "
        f"{load[0]:.2f} (1 min), {load[1]:.2f} (5 min).\n\n"
        f"Model: {LAYERS} `Dense({WIDTH}, 'relu')` layers on {WIDTH} "
        f"float32 inputs, batch {BATCH}. Time: median of {args.repeats} "
        f"`predict` calls on {ROWS} rows and of {args.batch_repeats} calls "
        "of the compiled model on one batch, the variants taking turns, "
        "after warm-up. Precision hint: the compiled model's "
        "`INFERENCE_PRECISION_HINT`; products in: the runtime precision of "
        "its `FullyConnected` layers. Error: against float64 NumPy on the "
        "model's own weights; relative error over the outputs of at least "
        "1% of the largest magnitude.\n\n" + format_rows(rows) + "\n"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
