#!/usr/bin/env bash
# keras-openvino's CI flow, reproduced from the source snapshots in
# ../shared/upstream/, before and after the patch series.
#
#   bash tools/upstream_check.sh [numpy|full]
#
# As their CI does (.github/workflows/actions.yml): Keras at its
# `pluggable_backend` branch, keras-openvino beside it, and from the Keras
# checkout, with KERAS_HOME at keras-openvino's config (backend: openvino),
#   pytest keras --dist loadfile --ignore keras/src/applications \
#     --ignore keras/src/wrappers
# (`numpy`, the default: keras/src/ops/numpy_test.py only). Differences from
# their CI, all forced by running both sides at once on one machine:
#   - keras-openvino is put on PYTHONPATH instead of `pip install -e`: two
#     editable installs of one package cannot share an environment;
#   - one xdist worker a side (`-n 1`), both sides at once;
#   - the environment is requirements-openvino.txt without the Keras wheel
#     (Keras is the checkout), not Keras's requirements.txt: no TensorFlow
#     or torch, which the OpenVINO backend does not use.
# Then, on both sides, the tests that excluded_tests.txt names are run with
# the list emptied, to see which ones the series makes pass; and on the
# patched side, the series' own tests, after each patch and after all of
# them; ruff (the version requirements-openvino.txt pins, as keras-openvino's
# pre-commit does) with keras-openvino's settings. Writes
# tools/upstream_check_<scope>.md.
set -euo pipefail

# One function, parsed whole before it runs: editing this file while it
# runs cannot change what it does.
main() {
  cd "$(dirname "$0")/.."
  tree_root=$(pwd)
  scope=${1:-numpy}
  snapshots=${UPSTREAM_SNAPSHOTS:-$tree_root/../shared/upstream}
  venv="$tree_root/.venv-upstream"
  work=$(mktemp -d /tmp/upstream-check.XXXXXX)
  started=$(date +%s)

  if [ ! -x "$venv/bin/python" ]; then
    python3.11 -m venv "$venv"
  fi
  grep -v '^keras==' requirements-openvino.txt > "$work/requirements.txt"
  "$venv/bin/pip" install --quiet -r "$work/requirements.txt" rich namex optree \
    packaging
  "$venv/bin/pip" uninstall --quiet --yes keras keras-nightly keras-openvino \
    > /dev/null 2>&1 || true

  for side in before after; do
    mkdir -p "$work/$side"
    tar xzf "$snapshots"/keras-pluggable_backend-*.tar.gz -C "$work/$side"
    tar xzf "$snapshots"/keras-openvino-main-*.tar.gz -C "$work/$side"
  done
  "$venv/bin/python" -m tools.export_patch --series \
    --keras-root "$work/after/keras-openvino" --output-dir "$work/series"
  for patch in "$work"/series/*.patch; do
    git -C "$work/after/keras-openvino" apply "$patch"
  done

  # ruff with keras-openvino's own settings, as its pre-commit runs it.
  for side in before after; do
    (cd "$work/$side/keras-openvino" &&
      "$venv/bin/ruff" check --config pyproject.toml . &&
      "$venv/bin/ruff" format --check --config pyproject.toml .) \
      > "$work/$side.ruff.log" 2>&1 && echo 0 > "$work/$side.ruff.status" ||
      echo 1 > "$work/$side.ruff.status"
  done

  if [ "$scope" = full ]; then
    targets=(keras --ignore keras/src/applications --ignore keras/src/wrappers)
  else
    targets=(keras/src/ops/numpy_test.py)
  fi
  run_side() {  # side, junit report, log, pytest arguments...
    local side=$1 report=$2 log=$3
    shift 3
    (cd "$work/$side/keras" &&
      KERAS_HOME="$work/$side/keras-openvino/.github/workflows/config" \
      PYTHONPATH="$work/$side/keras-openvino:$tree_root/tools/pytest_plugins" \
      "$venv/bin/python" -m pytest "$@" -p no:cacheprovider \
        -o junit_family=xunit1 --junitxml="$report") > "$log" 2>&1 || true
  }
  suite_started=$(date +%s)
  for side in before after; do
    run_side "$side" "$work/$side.xml" "$work/$side.log" "${targets[@]}" \
      -n 1 --dist loadfile &
  done
  wait
  suite_seconds=$(($(date +%s) - suite_started))

  # The excluded tests, with the list emptied: which pass on each side. In
  # an xdist worker, a test that crashes the plugin (`test_eigh`, which the
  # entry `test_eig` also names) fails instead of ending the run.
  grep -h -v '^\s*$' "$work/before/keras-openvino/excluded_tests.txt" \
    > "$work/excluded_entries.txt"
  classes=$(sed 's/::.*//' "$work/excluded_entries.txt" | sort -u)
  for side in before after; do
    listing="$work/$side/keras-openvino/excluded_tests.txt"
    cp "$listing" "$work/$side.excluded_tests.txt"
    : > "$listing"
    files=$(cd "$work/$side/keras" && for class in $classes; do
      grep -rl --include='*_test.py' "^class $class\b" keras || true
    done | grep -v -e '^keras/src/applications' -e '^keras/src/wrappers' |
      sort -u)
    # shellcheck disable=SC2086
    ONLY_TESTS_MATCHING="$work/excluded_entries.txt" \
      run_side "$side" "$work/$side.excluded.xml" "$work/$side.excluded.log" \
      $files -p only_matching --continue-on-collection-errors -n 1 &
  done
  wait
  for side in before after; do
    cp "$work/$side.excluded_tests.txt" \
      "$work/$side/keras-openvino/excluded_tests.txt"
  done

  # Each stage on its own: patches 1..k applied to a fresh copy, and the
  # tests present at that stage run.
  stage=0
  for patch in "$work"/series/*.patch; do
    stage=$((stage + 1))
    copy="$work/stage$stage/keras-openvino"
    mkdir -p "$work/stage$stage"
    cp -r "$work/before/keras-openvino" "$copy"
    for applied in $(ls "$work"/series/*.patch | head -n "$stage"); do
      git -C "$copy" apply "$applied"
    done
    own_tests=(keras_openvino)
    if [ -d "$copy/integration_tests" ]; then own_tests+=(integration_tests); fi
    (cd "$copy" &&
      KERAS_HOME="$copy/.github/workflows/config" \
      PYTHONPATH="$copy:$work/after/keras" \
      "$venv/bin/python" -m pytest "${own_tests[@]}" -q \
        -p no:cacheprovider -o junit_family=xunit1 \
        --junitxml="$work/stage$stage.xml") > "$work/stage$stage.log" 2>&1 ||
      true
  done

  "$venv/bin/python" -m tools.upstream_check --work "$work" --scope "$scope" \
    --seconds "$suite_seconds" --total-seconds $(($(date +%s) - started))
}

main "$@"
