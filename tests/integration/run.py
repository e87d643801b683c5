#!/usr/bin/env python3
"""run.py: the shokaid integration suite. Runs every test_* function of the t_*.py modules
in this folder (in the order they are written), each against its own shokaid in its own
temp folder, prints one line per test on stdout, `PASS name` or `FAIL name: reason`, and
ends with the line `N passed, N failed`; exits 1 if any test failed. Details of a failure
(the daemon's last log lines, the traceback) go to stderr.

usage: run.py [--soak] [-k SUBSTRING] [-x SUBSTRING] [-l] [-v]
  --soak        run the soak suite instead: the s_*.py modules of tests/soak (long,
                load-bearing tests, each bounded in time; `make soak`, and `make test`)
  -k SUBSTRING  run only the tests whose name contains SUBSTRING (may be repeated)
  -x SUBSTRING  skip the tests whose name contains SUBSTRING (may be repeated)
  -l            list the test names and exit
  -v            also print each test's duration (on stderr)

Environment: SHOKAID (binary, default <repo>/build/fault/shokaid), SHOKAI_SHARED (default
<repo>/../shared), SHOKAI_KEEP=1 (keep temp folders of failed tests), SHOKAI_TEST_TIMEOUT
(seconds per test, default 60)."""
import importlib
import inspect
import os
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


SOAK_DIR = os.path.join(os.path.dirname(HERE), "soak")


def collect(soak=False):
    folder, prefix = (SOAK_DIR, "s_") if soak else (HERE, "t_")
    if soak:
        sys.path.insert(0, folder)
    tests = []
    for mod_name in sorted(f[:-3] for f in os.listdir(folder)
                           if f.startswith(prefix) and f.endswith(".py")):
        mod = importlib.import_module(mod_name)
        fns = [f for n, f in vars(mod).items()
               if n.startswith("test_") and inspect.isfunction(f) and f.__module__ == mod_name]
        fns.sort(key=lambda f: f.__code__.co_firstlineno)
        tests += fns
    names = [f.__name__ for f in tests]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SystemExit(f"duplicate test names: {sorted(dup)}")
    return tests


def one_line(text):
    text = " ".join(str(text).split())
    return text if len(text) <= 400 else text[:397] + "..."


def run_one(fn, limit):
    """Runs fn in a thread with a time limit. Returns None or (reason, details)."""
    result = {}

    def body():
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - everything is a test failure
            result["exc"] = e

    t = threading.Thread(target=body, daemon=True, name=fn.__name__)
    t.start()
    t.join(limit)
    if t.is_alive():
        harness.kill_all()   # unblocks whatever it waits on; its daemons are gone
        t.join(5)
        return f"timed out after {limit}s", ""
    e = result.get("exc")
    if e is None:
        return None
    first = str(e).split("\n", 1)[0] or type(e).__name__
    if not isinstance(e, AssertionError):
        first = f"{type(e).__name__}: {first}"
    details = "".join(traceback.format_exception(type(e), e, e.__traceback__, limit=4))
    return first, details


def main(argv):
    patterns, excludes, listing, verbose, soak = [], [], False, False, False
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "-k" and args:
            patterns.append(args.pop(0))
        elif a.startswith("-k") and len(a) > 2:
            patterns.append(a[2:])
        elif a == "-x" and args:
            excludes.append(args.pop(0))
        elif a == "-l":
            listing = True
        elif a == "-v":
            verbose = True
        elif a == "--soak":
            soak = True
        else:
            print(__doc__, file=sys.stderr)
            return 2
    tests = [f for f in collect(soak) if (not patterns or any(p in f.__name__ for p in patterns))
             and not any(x in f.__name__ for x in excludes)]
    if listing:
        for f in tests:
            print(f.__name__)
        return 0
    limit = float(os.environ.get("SHOKAI_TEST_TIMEOUT", "60"))
    missing = None
    if not (os.path.isfile(harness.SHOKAID) and os.access(harness.SHOKAID, os.X_OK)):
        missing = f"shokaid binary not found at {harness.SHOKAID} (build it: make build/fault/shokaid)"
    elif not os.path.isdir(harness.FIXTURES):
        missing = f"fixtures not found at {harness.FIXTURES}"
    passed = failed = 0
    t_all = time.monotonic()
    for fn in tests:
        name = fn.__name__
        if missing:
            failed += 1
            print(f"FAIL {name}: {missing}", flush=True)
            continue
        t0 = time.monotonic()
        try:
            res = run_one(fn, limit)
        finally:
            harness.kill_all()
        took = time.monotonic() - t0
        if res is None:
            passed += 1
            print(f"PASS {name}", flush=True)
        else:
            failed += 1
            reason, details = res
            print(f"FAIL {name}: {one_line(reason)}", flush=True)
            if details:
                print("\n".join("    " + l for l in details.rstrip().split("\n")),
                      file=sys.stderr, flush=True)
        if verbose:
            print(f"    ({took:.1f}s)", file=sys.stderr, flush=True)
    if verbose:
        print(f"    (total {time.monotonic() - t_all:.1f}s)", file=sys.stderr, flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
