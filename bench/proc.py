"""CPU time of server processes from /proc, for the benches' per-request CPU figures."""

import os


def _stat(pid):
    """(ppid, utime + stime in clock ticks) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12])


def cpu_seconds(pids=(), parents=()):
    """User + system CPU seconds used so far by the processes `pids` and by the children of
    `parents` (gunicorn's workers, PostgreSQL's backends)."""
    pids, parents = set(pids), set(parents)
    ticks = 0
    if parents:
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in pids:
                stat = _stat(entry)
                if stat is not None and stat[0] in parents:
                    ticks += stat[1]
    for pid in pids:
        stat = _stat(pid)
        ticks += stat[1] if stat is not None else 0
    return ticks / os.sysconf("SC_CLK_TCK")
