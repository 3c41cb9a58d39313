"""Cooperative stop: a host (the playground's Stop button) asks a running program to end.

The host installs `set_stop_check(fn)`; pykernel calls `check_stop()` at its safe points
(after every Keras batch, before every GPU read-back), which raises RunStopped when `fn()`
says so. That ends the run with an ordinary exception in the user's own stack, with every
tensor and variable intact. (Under Pyodide a KeyboardInterrupt can land in the event-loop
glue of a pending GPU read and leave the run unsettled, so the host sends SIGINT only to
code that reaches no safe point.)
"""

_stop_check = None


class RunStopped(Exception):
    """The host asked this run to stop; raised at the next safe point."""


def set_stop_check(check):
    """`check()` -> True when the running program should stop; None to remove it."""
    global _stop_check
    if check is not None and not callable(check):
        raise TypeError(f"the stop check must be callable, got {type(check).__name__}")
    _stop_check = check


def check_stop():
    if _stop_check is not None and _stop_check():
        raise RunStopped("stopped from the page")
