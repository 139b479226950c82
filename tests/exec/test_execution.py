"""The exec runner on its own: namespace, capture, results, errors and timeouts."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from voxweb.execution import Executor


@pytest.fixture
def executor():
    ex = Executor(lambda: {"greeting": "hi"}, timeout=5, grace=0.5)
    yield ex
    ex.close()


def test_result_defaults_to_empty_dict_and_namespace_persists(executor):
    first = executor.run("x = 41")
    assert first.ok and first.result == {} and first.result_json == "{}"
    second = executor.run("__execResult = {'x': x + 1, 'g': greeting}")
    assert second.result_json == '{"x": 42, "g": "hi"}'


def test_any_json_value_is_a_result(executor):
    assert executor.run("__execResult = 1 + 1").result_json == "2"
    assert (
        executor.run("import json; __execResult = json.dumps({'a': 1})").result_json
        == '"{\\"a\\": 1}"'
    )


def test_stdout_and_stderr_are_captured_per_run(executor):
    outcome = executor.run("import sys\nprint('out line')\nprint('err line', file=sys.stderr)")
    assert outcome.stdout == "out line\n"
    assert outcome.stderr == "err line\n"
    assert sys.stdout is not None  # the process streams still work
    print("outside exec is not captured")
    assert executor.run("pass").stdout == ""


def test_exceptions_and_bad_results_are_errors_with_traceback(executor):
    outcome = executor.run("def f():\n    raise ValueError('boom')\nf()")
    assert not outcome.ok and outcome.error == "boom"
    assert "ValueError: boom" in outcome.traceback
    syntax = executor.run("def (")
    assert not syntax.ok and "invalid syntax" in syntax.error
    unjsonable = executor.run("__execResult = object()")
    assert not unjsonable.ok and "not JSON serializable" in unjsonable.error
    exiting = executor.run("raise SystemExit(3)")
    assert not exiting.ok
    assert executor.run("__execResult = 'still alive'").result == "still alive"


def test_pure_python_loop_is_interrupted_at_the_timeout(executor):
    start = time.monotonic()
    outcome = executor.run("while True:\n    pass", timeout=0.5)
    assert outcome.timed_out and "timed out after 0.5 s" in outcome.error
    assert time.monotonic() - start < 3
    assert executor.run("__execResult = 5").result == 5


def test_stuck_in_c_code_is_abandoned_and_a_new_thread_takes_over(executor):
    start = time.monotonic()
    outcome = executor.run("import time\ntime.sleep(2)", timeout=0.3)
    assert outcome.timed_out
    assert time.monotonic() - start < 1.5
    # The abandoned script still holds the lock until its C call returns: a run that cannot
    # get it in time says so instead of hanging...
    busy = executor.run("__execResult = 'too early'", timeout=0.2)
    assert not busy.ok and "busy" in busy.error
    # ...and once the old script is interrupted, a fresh thread runs the next one.
    assert executor.run("__execResult = 'fresh'", timeout=5).result == "fresh"


def test_runs_hold_the_lock_and_are_serialized():
    lock = threading.RLock()
    ex = Executor(dict, lock=lock, timeout=5)
    try:
        lock.acquire()
        results = []
        worker = threading.Thread(target=lambda: results.append(ex.run("__execResult = 1")))
        worker.start()
        worker.join(0.3)
        assert worker.is_alive()  # waiting for the lock the caller holds
        lock.release()
        worker.join(5)
        assert results[0].result == 1
    finally:
        ex.close()


def test_report_has_every_field(executor):
    report = executor.run("print('p')\n__execResult = [1]").report()
    assert report["success"] is True and report["result"] == [1] and report["stdout"] == "p\n"
    assert set(report) == {"success", "result", "stdout", "stderr", "error", "traceback", "elapsed"}
