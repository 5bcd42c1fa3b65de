"""Run every bench/bench_*.py in its own process and print one table of their results.

Each bench prints what it likes and ends with a line `BENCH_RESULT <json list of rows>`, each row
{"name", "value", "unit", and optionally "target" and "ok"}. Exit status is 1 if a bench crashed
or printed no result; missed targets are reported in the table, not as a failure.
"""

import glob
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MARKER = "BENCH_RESULT "


def run_bench(path):
    """Run one bench file; return (rows, seconds, error or None), echoing its output as it goes."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, path], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    rows = None
    for line in proc.stdout:
        if line.startswith(MARKER):
            rows = json.loads(line[len(MARKER) :])
        else:
            print(f"  {line.rstrip()}", flush=True)
    code = proc.wait()
    seconds = time.perf_counter() - start
    if code != 0:
        return [], seconds, f"exited with status {code}"
    if rows is None:
        return [], seconds, "printed no BENCH_RESULT line"
    return rows, seconds, None


def format_table(results):
    """A plain-text table: bench, measure, value, target, verdict."""
    lines = [("bench", "measure", "value", "target", "")]
    for bench, rows, error in results:
        if error:
            lines.append((bench, "ERROR", error, "", ""))
        for row in rows:
            value = f"{row['value']} {row.get('unit', '')}".strip()
            verdict = "" if "ok" not in row else ("ok" if row["ok"] else "MISSED")
            lines.append((bench, row["name"], value, row.get("target", ""), verdict))
    widths = [max(len(str(line[i])) for line in lines) for i in range(5)]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main():
    """Run the benches named on the command line, or all of them."""
    paths = sys.argv[1:] or sorted(glob.glob(os.path.join(HERE, "bench_*.py")))
    results, failed = [], False
    for path in paths:
        name = os.path.splitext(os.path.basename(path))[0]
        print(f"== {name}", flush=True)
        rows, seconds, error = run_bench(path)
        print(f"   ({seconds:.0f} s)", flush=True)
        results.append((name, rows, error))
        failed = failed or error is not None
    print()
    print(format_table(results))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
