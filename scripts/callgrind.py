"""Reading callgrind's output for the instruction-count scripts (scripts/vacuum-instructions,
scripts/transaction-instructions): a run's total and each function's own instructions."""
import re
import subprocess


def total(path):
    """The instructions a run collected, from valgrind's log (`PATH.log`)."""
    for line in open(path + ".log"):
        m = re.search(r"Collected : (\d+)", line)
        if m:
            return int(m.group(1))
    raise SystemExit(f"no callgrind total in {path}.log")


# The simulated events of `--cache-sim=yes --branch-sim=yes` worth comparing, and what
# each counts (callgrind's names).
SIMULATED = {
    "I1mr": "instruction fetches missing the L1 cache",
    "D1mr": "data reads missing the L1 cache",
    "D1mw": "data writes missing the L1 cache",
    "DLmr": "data reads missing the last-level cache",
    "Bcm": "conditional branches mispredicted",
    "Bim": "indirect branches mispredicted",
}


def events(path):
    """The event names a profile counts (its `events:` line)."""
    for line in open(path, errors="replace"):
        if line.startswith("events:"):
            return line.split()[1:]
    return []


def summary(path, names):
    """The profile's totals of the events `names`, from its `summary:` line."""
    evs = events(path)
    for line in open(path, errors="replace"):
        if line.startswith("summary:"):
            vals = [int(v) for v in line.split()[1:]]
            return [vals[evs.index(n)] for n in names]
    raise SystemExit(f"no summary line in {path}")


def self_costs(path):
    """Each function's own instructions in the profile PATH (callgrind_annotate)."""
    # Ir only (a --cache profile has more columns), no source annotation (its "=>" lines
    # are calls, inclusive): the function list alone is each function's own cost.
    out = subprocess.run(["callgrind_annotate", "--threshold=100", "--auto=no", "--show=Ir", path], capture_output=True, text=True).stdout
    costs = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+(\S.*?)(\s+\[.*\])?$", line)
        if m and "PROGRAM TOTALS" not in line:
            name = m.group(2).split(":", 1)[1] if ":" in m.group(2) else m.group(2)
            costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs


def differing(costs, top):
    """The `top` functions whose own instructions differ most between costs['heap'] and
    costs['glassheap'], as markdown table rows (values as given)."""
    keys = set(costs["heap"]) | set(costs["glassheap"])
    rows = sorted(keys, key=lambda k: -abs(costs["glassheap"].get(k, 0) - costs["heap"].get(k, 0)))[:top]
    return [(k[:90], costs["heap"].get(k, 0), costs["glassheap"].get(k, 0)) for k in rows]
