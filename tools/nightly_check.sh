#!/usr/bin/env bash
# Checks this contribution against the newest keras-nightly, in its own
# virtual environment (.venv-nightly), and writes tools/nightly_result.md.
#
# Since Keras 3.16 the OpenVINO backend is its own package, keras-openvino,
# which KERAS_BACKEND=openvino loads. So the check:
#   1. exports the patch against the nightly (in keras-openvino's layout)
#      and runs `git apply --check`;
#   2. applies it to a scratch copy of keras-openvino and runs the tree's
#      tests, as the patch rewrites them, on keras-nightly;
#   3. runs a numpy op suite on the patched backend. keras-nightly's wheel
#      and sdist ship no tests, so this is the pinned release's
#      keras/src/ops/numpy_test.py, taken from its wheel.
# Run from anywhere: bash tools/nightly_check.sh
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
"$venv/bin/python" -m tools.export_patch --check \
  --output "$work/nightly.patch" > "$work/export.log" 2>&1
export_status=$?

# 2. The tree's tests in the patched backend.
site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
scratch="$work/keras-openvino"
mkdir -p "$scratch"
cp -r "$site/keras_openvino" "$scratch/"
cat > "$scratch/conftest.py" <<'PY'
import os

os.environ.setdefault("KERAS_BACKEND", "openvino")
# Keras imports its pluggable backend itself: importing the backend package
# first would find Keras half-initialized.
import keras  # noqa: E402, F401
PY
(cd "$scratch" && git apply "$work/nightly.patch") > "$work/apply.log" 2>&1
apply_status=$?
(cd "$scratch" && PYTHONPATH="$scratch" "$venv/bin/python" -m pytest \
  keras_openvino/src/ops integration_tests -q -p no:cacheprovider -rfE) \
  > "$work/tree.log" 2>&1
tree_status=$?

# 3. A numpy op suite on the patched backend.
(cd "$work/release" && unzip -q -o ./*.whl keras/src/ops/numpy_test.py)
mkdir -p "$scratch/release_suite"
cp "$work/release/keras/src/ops/numpy_test.py" "$scratch/release_suite/"
(cd "$scratch" && PYTHONPATH="$scratch" "$venv/bin/python" -m pytest \
  release_suite/numpy_test.py -q -p no:cacheprovider -rfE) \
  > "$work/suite.log" 2>&1
suite_status=$?

{
  echo "# keras-nightly check"
  echo
  echo "Run on $(date -u +%Y-%m-%d) with \`bash tools/nightly_check.sh\`:"
  echo "keras-nightly $(version keras-nightly), keras-openvino" \
    "$(version keras-openvino), openvino $(version openvino)."
  echo
  echo "- patch export and \`git apply --check\` (exit $export_status):" \
    "$(grep -E '^(Wrote|git apply|error)' "$work/export.log" | tr '\n' ' ')"
  echo "- applied to keras-openvino: exit $apply_status"
  echo "- the tree's tests in the patched keras-openvino (exit" \
    "$tree_status): $(summary "$work/tree.log")"
  reasons "$work/tree.log"
  echo "- $release's numpy op suite on the patched keras-openvino (exit" \
    "$suite_status): $(summary "$work/suite.log")"
  reasons "$work/suite.log"
} | tee tools/nightly_result.md
echo "Logs: $work"
