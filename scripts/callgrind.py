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


def self_costs(path):
    """Each function's own instructions in the profile PATH (callgrind_annotate)."""
    out = subprocess.run(["callgrind_annotate", "--threshold=100", path], capture_output=True, text=True).stdout
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
