"""Is the process that started a run still that run's process?

A run records its host, its pid and when that process started (:func:`process_start_time`).
When a store opens, a ``running`` run of this host whose process is gone is marked
``crashed``; "gone" must cover more than "no process has this pid":

* a process killed by SIGKILL stays a **zombie** until its parent reaps it (the kernel
  manager does on its next poll), and a zombie answers ``kill(pid, 0)`` like a live one;
* pids are **reused**: after enough processes another one has the dead run's pid, and
  would keep the run ``running`` forever.

So a run's process is alive only when a process with its pid exists, is not a zombie and
started when the recorded one did. On Linux that is read from ``/proc/<pid>/stat`` (state,
field 3, and start time in clock ticks since boot, field 22) with the boot id, so a reboot
never matches either; elsewhere from psutil when it is installed; without either, only the
existence of the pid can be checked, as before.
"""

from __future__ import annotations

import errno
import os
from functools import cache

#: process states of /proc/<pid>/stat that mean the process has ended
_ENDED_STATES = frozenset("ZXx")


@cache
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return "unknown-boot"


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in ticks since boot) of ``pid`` from /proc, None when /proc has
    no such process (or no /proc at all)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last
    # ")"; field 3 (state) is then the first field, field 22 (starttime) the 20th
    fields = raw[raw.rfind(")") + 2 :].split()
    if len(fields) < 20:
        return None
    return fields[0], fields[19]


def _has_proc() -> bool:
    return os.path.isdir("/proc/self") and os.path.exists("/proc/self/stat")


def _psutil_state(pid: int) -> tuple[bool, str] | None:
    """(ended, start token) from psutil, None when psutil is missing or has no such pid."""
    try:
        import psutil
    except ImportError:
        return None
    try:
        process = psutil.Process(pid)
        ended = process.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
        return ended, f"psutil:{process.create_time()!r}"
    except (psutil.Error, OSError):
        return None


def process_start_time(pid: int) -> str | None:
    """A token naming when ``pid`` started (compared only for equality, on the same host):
    ``linux:<boot id>:<ticks since boot>`` or ``psutil:<create time>``; None when it cannot
    be read here."""
    if _has_proc():
        stat = _proc_stat(pid)
        return None if stat is None else f"linux:{_boot_id()}:{stat[1]}"
    state = _psutil_state(pid)
    return None if state is None else state[1]


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno != errno.ESRCH  # EPERM: it exists, owned by someone else
    return True


def process_alive(pid: int, start_time: str | None = None) -> bool:
    """True when the process ``pid`` exists on this machine, has not ended (a zombie has)
    and, when ``start_time`` was recorded, is the process that started then."""
    if pid <= 0:
        return False
    if _has_proc():
        stat = _proc_stat(pid)
        if stat is None:
            # no such process, or /proc hides other users' processes (hidepid): ask the
            # kernel, which tells a process that exists but is not ours (EPERM)
            return _pid_exists(pid)
        state, ticks = stat
        if state in _ENDED_STATES:
            return False
        if start_time is not None and start_time.startswith("linux:"):
            return start_time == f"linux:{_boot_id()}:{ticks}"
        return True
    if not _pid_exists(pid):
        return False
    found = _psutil_state(pid)
    if found is None:
        return True  # nothing more can be known here
    ended, token = found
    if ended:
        return False
    if start_time is not None and start_time.startswith("psutil:"):
        return start_time == token
    return True
