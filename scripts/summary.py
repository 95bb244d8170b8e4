"""Counts test cases across meson test logs: bats files count each TAP
line, unit tests count once.  Prints 'N passed, M failed' last."""
import json
import re
import sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            out = t.get("stdout") or ""
            if t.get("protocol") == "tap" or re.search(r"^1\.\.\d+", out, re.M):
                for l in out.splitlines():
                    if re.match(r"ok \d+.*# skip", l, re.I):
                        skipped += 1
                    elif l.startswith("ok "):
                        passed += 1
                    elif l.startswith("not ok "):
                        failed += 1
                if t["result"] == "SKIP":
                    skipped += 1  # a whole file skipped ("1..0 # skip")
                elif t["result"] not in ("OK", "EXPECTEDFAIL") and "not ok" not in out:
                    failed += 1  # a file that died before its plan
            elif t["result"] in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif t["result"] == "SKIP":
                skipped += 1
            else:
                failed += 1
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
