"""Fuzz worker: load each model path read from stdin, report one JSON line per path.

Run as ``python -m benchmarks._fuzz_worker``; ``benchmarks.fuzz`` drives it and restarts
it only if it crashes. Results go to the original stdout; engines' own prints go to stderr.
"""
from __future__ import annotations

import json
import logging
import os
import sys


def main() -> int:
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything an engine prints on fd 1 lands on stderr, not in the protocol
    logging.basicConfig(level=logging.ERROR)
    import runtime

    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        try:
            runtime.load(path)
        except runtime.ModelFileError as e:
            result = {"result": "refused", "type": type(e).__name__, "message": str(e)}
        except Exception as e:  # the point of the fuzzer: report any other type, never die
            result = {"result": "other", "type": type(e).__name__, "message": str(e)}
        else:
            result = {"result": "loaded", "type": "", "message": ""}
        out.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
