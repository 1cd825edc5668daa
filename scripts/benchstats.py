"""Shared by the benchmark scripts (scripts/bench*): run a command several times and report the
median with min and max, and the peak memory of one run, so every figure is printed the same way.
Figures, not pass/fail: the machine's load moves them; compare medians of the same script."""
import os
import statistics
import subprocess
import time

GNU_TIME = "/usr/bin/time"  # Debian package `time`


def timed(args, cwd=None, env=None):
    """Wall seconds of one run of `args` (its output discarded; it must succeed)."""
    t0 = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - t0


def peak_mib(args, cwd=None, env=None):
    """Peak resident memory of one run, through GNU time (a child forked from this Python process
    would report Python's own pages, shared until exec, as its peak); NaN without it."""
    if not os.path.exists(GNU_TIME):
        return float("nan")
    out = subprocess.run([GNU_TIME, "-f", "%M"] + list(args), cwd=cwd, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         check=True).stderr
    return int(out.strip().splitlines()[-1]) / 1024


class Figure:
    """Median, min and max of a list of seconds."""

    def __init__(self, seconds):
        self.runs = list(seconds)
        self.median = statistics.median(self.runs)
        self.min = min(self.runs)
        self.max = max(self.runs)

    def ms(self):
        return (f"{self.median * 1000:9.2f} ms (min {self.min * 1000:.2f}, max {self.max * 1000:.2f},"
                f" {len(self.runs)} runs)")

    def s(self):
        return f"{self.median:7.3f} s (min {self.min:.3f}, max {self.max:.3f}, {len(self.runs)} runs)"


def measure(args, runs, cwd=None, env=None, warmup=1):
    """`Figure` of `runs` runs (after `warmup` runs not counted: the page cache warm)."""
    return measure_side_by_side([args], runs, cwd, env, warmup)[0]


def measure_side_by_side(commands, runs, cwd=None, env=None, warmup=1):
    """A `Figure` for each of `commands`, their runs interleaved (a, b, b, a, a, b, …) so that the
    machine's drift over the minutes falls on all of them alike."""
    if runs < 5:
        raise SystemExit("benchstats: a median needs at least 5 runs")
    for args in commands:
        for _ in range(warmup):
            timed(args, cwd, env)
    seconds = [[] for _ in commands]
    for r in range(runs):
        order = list(range(len(commands)))
        for i in order if r % 2 == 0 else reversed(order):
            seconds[i].append(timed(commands[i], cwd, env))
    return [Figure(s) for s in seconds]
