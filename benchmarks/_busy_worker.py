"""A bounded busy loop pinned to one core: the "one core busy" load of the thread-default rows.

``python -m benchmarks._busy_worker --core N --seconds S`` spins on core N for at most S seconds
(the benchmark stops it sooner; the bound ends it even if the benchmark is killed).
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks._busy_worker")
    p.add_argument("--core", type=int, required=True)
    p.add_argument("--seconds", type=float, required=True)
    args = p.parse_args(argv)
    os.sched_setaffinity(0, {args.core})
    print("pinned", flush=True)  # busy_core waits for this line
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
