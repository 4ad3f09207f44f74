import pytest

FUNCTIONAL_CALL_BUG = (
    "Keras #23397 (https://github.com/keras-team/keras/pull/23397): "
    "Functional.call still calls the `operation_fn` that #23364 removed, "
    "so every functional model call raises NameError (master has the fix)"
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # A test that fails with that NameError is an expected failure (a
    # non-strict xfail), at a Keras checkout with the bug only; any other
    # failure, another NameError included, still fails.
    report = (yield).get_result()
    error = call.excinfo and call.excinfo.value
    bug = "name 'operation_fn' is not defined"
    if report.failed and isinstance(error, NameError) and bug in str(error):
        report.outcome, report.wasxfail = "skipped", FUNCTIONAL_CALL_BUG
