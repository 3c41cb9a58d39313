"""Real TensorFlow as the oracle for TF semantics: run one program on TensorFlow 2.21 and on
pykernel, each in a fresh interpreter, and compare what they print.

    run_program(source, "tensorflow")   # .venv-tf/bin/python, `import tensorflow as tf` first
    run_program(source, "pykernel")     # sys.executable (.venv), `import pykernel as tf` first

Both return the program's stdout, or raise ProgramError (with its stdout and traceback) when
it raised. TensorFlow lives in its own virtual environment, .venv-tf (`make setup` creates
it; .venv has torch, and the two are kept apart). Without it the TF side FAILS, telling to
run `make setup`: a check that did not run is not a pass. PYKERNEL_NO_TF_ORACLE=1 makes it
a skip instead, for machines that cannot have TensorFlow.

Starting TensorFlow takes ~4 s, so `prefetch(sources)` runs many programs in ONE TF process
in the background (each in a namespace of its own; `run_functions_eagerly` is reset between
them) and run_program answers from that. Results are cached for the session: the TF side
of a program runs once. pykernel programs always run one per process (fresh state).
"""
import atexit
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
TF_VENV = REPO / ".venv-tf"
TF_PYTHON = TF_VENV / "bin" / "python"
TF_VERSION = "2.21.0"
OPT_OUT = "PYKERNEL_NO_TF_ORACLE"

PRELUDE = {"tensorflow": "import tensorflow as tf\n", "pykernel": "import pykernel as tf\n"}
TIMEOUT_S = 120           # one program
BATCH_TIMEOUT_S = 600     # a prefetch batch

_results = {}   # (engine, source) -> ("ok", stdout) or ("error", stdout, traceback)
_directory = None   # the programs' files
_pending = []   # running prefetch batches: (Popen, [sources], stdout file, stderr file)


class ProgramError(AssertionError):
    """The program raised (or its interpreter failed): what it printed, then the traceback."""

    def __init__(self, engine, stdout, error):
        self.engine, self.stdout, self.error = engine, stdout, error
        super().__init__(f"the program failed on {engine}\n--- its stdout:\n{stdout}\n--- its error:\n{error}")


def require_tf_oracle():
    """Fail (or, with PYKERNEL_NO_TF_ORACLE=1, skip) when .venv-tf has no TensorFlow."""
    if TF_PYTHON.exists():
        return
    if os.environ.get(OPT_OUT) == "1":
        pytest.skip(f"{OPT_OUT}=1: real TensorFlow ({TF_VENV.name}) is not installed, the TF oracle checks "
                    "did not run")
    pytest.fail(f"real TensorFlow {TF_VERSION}, the oracle these tests compare pykernel with, is not installed in "
                f"{TF_VENV}: run `make setup` (or set {OPT_OUT}=1 to skip these checks, which then do not run)",
                pytrace=False)


def _env(engine):
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"   # print and tf.print (C++ std::cout in TF) keep their order
    env["PYTHONHASHSEED"] = "0"
    if engine == "tensorflow":
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        env["CUDA_VISIBLE_DEVICES"] = ""
        env.pop("PYTHONPATH", None)   # nothing of .venv's (torch, pykernel) leaks into TF's interpreter
    else:
        env.setdefault("PYKERNEL_DEVICE", "cpu")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _interpreter(engine):
    if engine == "tensorflow":
        require_tf_oracle()
        return str(TF_PYTHON)
    if engine == "pykernel":
        return sys.executable
    raise ValueError(f"engine must be 'tensorflow' or 'pykernel', got {engine!r}")


def _answer(engine, result):
    if result[0] == "ok":
        return result[1]
    raise ProgramError(engine, result[1], result[2])


def _program_file(source, engine):
    """The program as a file (AutoGraph, TF's and pykernel's, reads a function's source
    code: a program given with -c or exec'd from a string has none)."""
    global _directory
    if _directory is None:
        _directory = tempfile.mkdtemp(prefix="pykernel-tf-oracle-")
        atexit.register(shutil.rmtree, _directory, True)
    text = PRELUDE[engine] + source
    path = os.path.join(_directory, f"{engine}_{hashlib.sha1(text.encode()).hexdigest()[:16]}.py")
    if not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
    return path


def run_program(source, engine):
    """Run `source` after `import <engine> as tf` in a fresh interpreter; return its stdout."""
    key = (engine, source)
    if key not in _results and engine == "tensorflow":
        _wait_for(source)
    if key not in _results:
        interpreter = _interpreter(engine)
        path = _program_file(source, engine)
        proc = subprocess.run([interpreter, "-u", path], cwd=_directory, env=_env(engine),
                              capture_output=True, text=True, timeout=TIMEOUT_S)
        if proc.returncode == 0:
            _results[key] = ("ok", proc.stdout)
        else:
            _results[key] = ("error", proc.stdout, proc.stderr.strip() or f"exit status {proc.returncode}")
    return _answer(engine, _results[key])


# ---------------------------------------------------------------- batches (TensorFlow)

_BEGIN = "\n\x1eoracle-begin {}\x1e\n"
_END = "\n\x1eoracle-end {} {}\x1e\n"
_RECORD = re.compile("\n\x1eoracle-begin (\\d+)\x1e\n(.*?)\n\x1eoracle-end \\1 (ok|error)\x1e\n", re.S)
_TRACEBACK = "\n\x1eoracle-traceback\x1e\n"

# Runs the program files (a JSON list on stdin) one after another as __main__, each in a
# namespace of its own, its stdout between markers; a traceback goes to stdout after its
# output, behind a marker.
_DRIVER = r"""
import json, runpy, sys, traceback
programs = json.loads(sys.stdin.read())
for index, path in enumerate(programs):
    sys.stdout.write(BEGIN.format(index)); sys.stdout.flush()
    status = "ok"
    try:
        runpy.run_path(path, run_name="__main__")
    except BaseException:
        status = "error"
        sys.stdout.flush()
        sys.stdout.write(TRACEBACK + traceback.format_exc())
    finally:
        try:
            import tensorflow
            tensorflow.config.run_functions_eagerly(False)
        except Exception:
            pass
    sys.stdout.flush()
    sys.stdout.write(END.format(index, status)); sys.stdout.flush()
"""


def prefetch(sources, engine="tensorflow"):
    """Start running `sources` on TensorFlow in one background process (nothing to do when
    TensorFlow is not installed: run_program then fails or skips as it should)."""
    if engine != "tensorflow" or not TF_PYTHON.exists():
        return
    sources = [s for s in dict.fromkeys(sources) if (engine, s) not in _results and not _is_pending(s)]
    if not sources:
        return
    out = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    err = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    driver = (f"BEGIN = {_BEGIN!r}\nEND = {_END!r}\nTRACEBACK = {_TRACEBACK!r}\n") + _DRIVER
    paths = [_program_file(source, engine) for source in sources]
    proc = subprocess.Popen([str(TF_PYTHON), "-u", "-c", driver], cwd=_directory, env=_env(engine),
                            stdin=subprocess.PIPE, stdout=out, stderr=err, text=True, encoding="utf-8")
    proc.stdin.write(json.dumps(paths))
    proc.stdin.close()
    if not _pending:
        atexit.register(_stop_pending)
    _pending.append((proc, sources, out, err))


def _stop_pending():
    """At exit, a batch nobody asked for (tests deselected) stops with the session."""
    for proc, _, out, err in _pending:
        proc.kill()
        proc.wait()
        out.close()
        err.close()
    _pending.clear()


def _is_pending(source):
    return any(source in batch[1] for batch in _pending)


def _wait_for(source):
    for batch in list(_pending):
        proc, sources, out, err = batch
        if source not in sources:
            continue
        _pending.remove(batch)
        try:
            proc.wait(timeout=BATCH_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.seek(0)
        err.seek(0)
        text, stderr = out.read(), err.read()
        out.close()
        err.close()
        records = {int(m.group(1)): (m.group(2), m.group(3)) for m in _RECORD.finditer(text)}
        for index, program in enumerate(sources):
            if index not in records:   # the interpreter died: run the rest one by one
                continue
            output, status = records[index]
            if status == "ok":
                _results[("tensorflow", program)] = ("ok", output)
            else:
                printed, _, error = output.partition(_TRACEBACK)
                _results[("tensorflow", program)] = ("error", printed, error.strip())
        if len(records) < len(sources) and proc.returncode != 0:
            sys.stderr.write(f"real_tf: the TensorFlow batch stopped (exit status {proc.returncode}): "
                             f"{stderr[-2000:]}\n")
