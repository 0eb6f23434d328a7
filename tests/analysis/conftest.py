"""pytest set-up for the analysis tests: imports zoo_analyze from PYTHONPATH (ctest sets
it to analysis/) or else from this checkout, registers the e2e marker, and, when
ZOO_PYTEST_SKIP_EXIT is set, exits with that code when every test was skipped, so
ctest's SKIP_RETURN_CODE reports a skip instead of a pass."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import zoo_analyze  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(HERE, "..", "..", "analysis"))

_outcomes = {"passed": 0, "failed": 0, "skipped": 0}


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: runs the real `zoo sweep` (needs the zoo binary)")


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _outcomes[report.outcome] = _outcomes.get(report.outcome, 0) + 1


def pytest_sessionfinish(session, exitstatus):
    code = os.environ.get("ZOO_PYTEST_SKIP_EXIT")
    if code and exitstatus == 0 and _outcomes["skipped"] and not _outcomes["passed"] and not _outcomes["failed"]:
        session.exitstatus = int(code)
