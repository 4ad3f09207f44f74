#!/usr/bin/env bash
# Checks this contribution against the newest keras-nightly, in its own
# virtual environment (.venv-nightly), and writes tools/nightly_result.md.
#
# Since Keras 3.16 the OpenVINO backend is its own package, keras-openvino,
# which KERAS_BACKEND=openvino loads. So the check:
#   1. exports the patch series against the nightly (in keras-openvino's
#      layout) and checks that it applies in order;
#   2. applies it to a scratch copy of keras-openvino and runs the tree's
#      tests, as the patch rewrites them, on keras-nightly;
#   3. runs a numpy op suite on JAX, on keras-openvino as released and on
#      the patched copy, and sorts the failures by where they come from.
#      keras-nightly's wheel and sdist ship no tests, so the suite is the
#      pinned release's keras/src/ops/numpy_test.py, from its wheel, unless
#      KERAS_SOURCE names a Keras checkout matching the nightly.
# Run from anywhere: bash tools/nightly_check.sh
# or: KERAS_SOURCE=path/to/keras bash tools/nightly_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
tree_root=$(pwd)
venv="$tree_root/.venv-nightly"
work=$(mktemp -d)

python3.11 -m venv "$venv"
grep -v '^keras==' requirements-openvino.txt > "$work/requirements.txt"
"$venv/bin/pip" install --quiet -r "$work/requirements.txt"
"$venv/bin/pip" install --quiet --upgrade --pre keras-nightly
"$venv/bin/pip" install --quiet --upgrade --no-deps keras-openvino
release=$(grep '^keras==' requirements-openvino.txt)
"$venv/bin/pip" download --quiet --no-deps "$release" -d "$work/release"

version() {
  "$venv/bin/python" -c "import importlib.metadata as m, sys
try:
    print(m.version(sys.argv[1]))
except m.PackageNotFoundError:
    print('not installed')" "$1"
}
summary() {
  grep -E '[0-9]+ (passed|failed|errors?)( |,|$)|^ERROR' "$1" | tail -1 |
    sed 's/=//g; s/^ *//'
}
# The distinct error messages of a log, most frequent first.
reasons() {
  grep -E '^E +[A-Za-z.]*(Error|Exception)' "$1" | sed 's/^E *//' |
    sort | uniq -c | sort -rn | head -5 | sed 's/^ */  - /'
}

# 1. The patch.
"$venv/bin/python" -m tools.export_patch --series --check \
  --output-dir "$work/series" > "$work/export.log" 2>&1
export_status=$?

# 2. The tree's tests in the patched backend.
site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
scratch="$work/keras-openvino"
mkdir -p "$scratch"
cp -r "$site/keras_openvino" "$scratch/"
# The series brings the conftest.py that keras-openvino's tests need.
(cd "$scratch" && for patch in "$work"/series/*.patch; do
  git apply "$patch" || exit 1
done) > "$work/apply.log" 2>&1
apply_status=$?
(cd "$scratch" && PYTHONPATH="$scratch" "$venv/bin/python" -m pytest \
  keras_openvino/src integration_tests -q -p no:cacheprovider -rfE) \
  > "$work/tree.log" 2>&1
tree_status=$?

# 3. A numpy op suite, run three ways: on JAX (what fails whatever the
#    backend), on keras-openvino as released, and on the patched copy.
suite="$work/suite"
mkdir -p "$suite"
if [ -n "${KERAS_SOURCE:-}" ]; then
  suite_name="the numpy op suite of the Keras checkout at $KERAS_SOURCE"
  cp "$KERAS_SOURCE/keras/src/ops/numpy_test.py" "$suite/"
else
  suite_name="$release's numpy op suite"
  (cd "$work/release" && unzip -q -o ./*.whl keras/src/ops/numpy_test.py)
  cp "$work/release/keras/src/ops/numpy_test.py" "$suite/"
fi
cat > "$suite/conftest.py" <<'PY'
import keras  # noqa: F401
from keras.src import backend

# Suites older than Keras 3.16 call the backend's core functions from
# `keras.src.backend`; 3.16 moved them to `keras.src.backend.ops.core`.
for name in ("cast", "convert_to_numpy", "convert_to_tensor", "is_tensor"):
    if not hasattr(backend, name):
        setattr(backend, name, getattr(backend.ops.core, name))
if not hasattr(backend, "standardize_dtype"):
    backend.standardize_dtype = backend.common.standardize_dtype
PY
run_suite() {  # backend, extra PYTHONPATH, log
  (cd "$suite" && KERAS_BACKEND=$1 PYTHONPATH=$2 "$venv/bin/python" -m pytest \
    numpy_test.py -q -p no:cacheprovider -rfE) > "$3" 2>&1
}
failures() {
  grep '^FAILED\|^ERROR' "$1" | sed 's/ - .*//; s/^[A-Z]* //' | sort
}
run_suite jax "" "$work/suite_jax.log"
run_suite openvino "" "$work/suite_released.log"
run_suite openvino "$scratch" "$work/suite_patched.log"
suite_status=$?
failures "$work/suite_jax.log" > "$work/failed_jax.txt"
failures "$work/suite_released.log" > "$work/failed_released.txt"
failures "$work/suite_patched.log" > "$work/failed_patched.txt"
comm -12 "$work/failed_patched.txt" "$work/failed_jax.txt" \
  > "$work/failed_also_on_jax.txt"
comm -23 "$work/failed_patched.txt" "$work/failed_jax.txt" \
  > "$work/failed_openvino_only.txt"
comm -12 "$work/failed_openvino_only.txt" "$work/failed_released.txt" \
  > "$work/failed_keras_openvino.txt"
comm -23 "$work/failed_openvino_only.txt" "$work/failed_released.txt" \
  > "$work/failed_new.txt"
comm -23 "$work/failed_released.txt" "$work/failed_patched.txt" \
  > "$work/fixed_by_patch.txt"
# Test names, parameterized variants folded into one line with a count.
listing() {
  sed 's/^numpy_test.py:://; s/\(::test_[a-z0-9]*\(_[a-z0-9]*\)*\)_\(bfloat16\|bool\|float[0-9]*\|u\?int[0-9]*\|none\).*/\1/' \
    "$1" | uniq -c | sed 's/^ *\([0-9]*\) \(.*\)/  - `\2` (\1)/'
}
section() {  # title, file of test ids
  echo "- $1 ($(wc -l < "$2")):"
  listing "$2"
}

{
  echo "# keras-nightly check"
  echo
  echo "Run on $(date -u +%Y-%m-%d) with \`bash tools/nightly_check.sh\`:"
  echo "keras-nightly $(version keras-nightly), keras-openvino" \
    "$(version keras-openvino), openvino $(version openvino)."
  echo
  echo "- series export and \`git apply\` of each patch in order on a copy (exit $export_status):" \
    "$(grep -E '^(Wrote|git apply|error)' "$work/export.log" | tr '\n' ' ')"
  echo "- applied to keras-openvino: exit $apply_status"
  echo "- the tree's tests in the patched keras-openvino (exit" \
    "$tree_status): $(summary "$work/tree.log")"
  reasons "$work/tree.log"
  echo "- $suite_name, with the pre-3.16 backend names restored:"
  echo "  - on JAX: $(summary "$work/suite_jax.log")"
  echo "  - on keras-openvino as released: $(summary "$work/suite_released.log")"
  echo "  - on the patched keras-openvino (exit $suite_status):" \
    "$(summary "$work/suite_patched.log")"
  section "failures on the patched keras-openvino that JAX has too" \
    "$work/failed_also_on_jax.txt"
  section "failures of keras-openvino as released, kept by the patch" \
    "$work/failed_keras_openvino.txt"
  section "failures new with the patch" "$work/failed_new.txt"
  section "failures of keras-openvino as released that the patch fixes" \
    "$work/fixed_by_patch.txt"
} | tee tools/nightly_result.md
echo "Logs: $work"
