"""Run one command; record its wall time and peak resident memory in a JSON file.

    python bench/peak_rss.py RESULT.json -- COMMAND [ARGS...]

The command's stdout and stderr pass through and its exit status is returned. Linux
carries the parent's memory high-water mark into a child across fork and exec, so a
large parent (the benchmark driver, having generated data and compared outputs) would
inflate every child's ru_maxrss; this small launcher keeps that floor at a bare
interpreter's size, below anything it measures.
"""

import json
import os
import subprocess
import sys
import time


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    result_path, command = sys.argv[1], sys.argv[3:]
    started = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
    wall_s = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    with open(result_path, "w") as result:
        json.dump({"wall_s": wall_s, "peak_kib": usage.ru_maxrss, "returncode": child.returncode}, result)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main())
