#!/usr/bin/env bash
# Checks this tree against the newest keras-nightly, in its own virtual
# environment (.venv-nightly): the patch export, the tree's tests, and the
# nightly's numpy op suite on the OpenVINO backend. Prints a summary, also
# written to tools/nightly_result.md. Run from anywhere:
#   bash tools/nightly_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
venv=.venv-nightly
log_dir=$(mktemp -d)

python3.11 -m venv "$venv"
# The pinned release's requirements without the release itself, then the
# newest nightly. Since 3.16 the OpenVINO backend is its own package,
# keras-openvino, which KERAS_BACKEND=openvino loads.
grep -v '^keras==' requirements-openvino.txt > "$log_dir/requirements.txt"
"$venv/bin/pip" install --quiet -r "$log_dir/requirements.txt"
"$venv/bin/pip" install --quiet --upgrade --pre keras-nightly
"$venv/bin/pip" install --quiet --no-deps --upgrade keras-openvino || true

version() {
  "$venv/bin/python" -c "import importlib.metadata as m, sys
try:
    print(m.version(sys.argv[1]))
except m.PackageNotFoundError:
    print('not installed')" "$1"
}
summary() { grep -E '^(=+ )?[0-9]+ (passed|failed|error)|^(ERROR|error)' "$1" | tail -1; }
# The distinct error messages of a log, one per line.
reasons() { grep -E '^E +[A-Za-z]*(Error|Exception)' "$1" | sed 's/^E *//' | sort | uniq -c | sort -rn | head -5 | sed 's/^/  - /'; }

"$venv/bin/python" -m tools.export_patch --check \
  --output "$log_dir/nightly.patch" > "$log_dir/export.log" 2>&1
export_status=$?
KERAS_BACKEND=openvino "$venv/bin/python" -m pytest keras integration_tests tools \
  -q -p no:cacheprovider -rfE --continue-on-collection-errors \
  > "$log_dir/tree.log" 2>&1
tree_status=$?
KERAS_BACKEND=openvino "$venv/bin/python" -m pytest --pyargs keras.src.ops.numpy_test \
  -q -p no:cacheprovider > "$log_dir/suite.log" 2>&1
suite_status=$?

{
  echo "# keras-nightly check"
  echo
  echo "Run on $(date -u +%Y-%m-%d) with \`bash tools/nightly_check.sh\`:"
  echo "keras-nightly $(version keras-nightly), keras-openvino $(version keras-openvino), openvino $(version openvino)."
  echo
  echo "- patch export (exit $export_status): $(tail -n 3 "$log_dir/export.log" | tr '\n' ' ')"
  echo "- the tree's tests (exit $tree_status): $(summary "$log_dir/tree.log")"
  reasons "$log_dir/tree.log"
  grep -E '^(FAILED|ERROR) ' "$log_dir/tree.log" | sed 's/^/  - /' | head -20
  echo "- the nightly's numpy op suite (exit $suite_status): $(summary "$log_dir/suite.log")"
} | tee tools/nightly_result.md
echo "Logs: $log_dir"
