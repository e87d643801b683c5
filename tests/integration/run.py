#!/usr/bin/env python3
"""run.py: runs every test_* function of the t_*.py modules here, each against its own
shokaid, prints PASS/FAIL per test and closes with "N passed, N failed".
  -k SUBSTRING   only tests whose name contains SUBSTRING"""
import importlib
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    pattern = None
    if len(sys.argv) == 3 and sys.argv[1] == "-k":
        pattern = sys.argv[2]
    elif len(sys.argv) != 1:
        print(__doc__)
        return 2
    from harness import SHOKAID
    if not os.access(SHOKAID, os.X_OK):
        print(f"FAIL setup: {SHOKAID} is not built")
        print("0 passed, 1 failed")
        return 1
    passed = failed = 0
    for name in sorted(f[:-3] for f in os.listdir(HERE)
                       if f.startswith("t_") and f.endswith(".py")):
        mod = importlib.import_module(name)
        for fn in [getattr(mod, a) for a in dir(mod) if a.startswith("test_")]:
            full = f"{name}.{fn.__name__}"
            if pattern and pattern not in full:
                continue
            t0 = time.time()
            try:
                fn()
                passed += 1
                print(f"PASS {full} ({time.time() - t0:.1f}s)", flush=True)
            except Exception as e:
                failed += 1
                print(f"FAIL {full}: {e}", flush=True)
                traceback.print_exc(limit=3)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
