import json
import os
import sys

# The test's settings; "marker" names this process (and so every fork of it), which finds leftovers from outside.
with open("evil.json") as f:
    ARGS = json.load(f)
with open("/proc/self/comm", "w") as comm:
    comm.write(ARGS["marker"])
# Exits 0 only if the secret was found in the environment or any readable /proc/*/environ.
found = [k for k, v in os.environ.items() if "SECRET" in v]
for pid in os.listdir("/proc"):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            if b"SECRET" in f.read():
                found.append(pid)
    except OSError:
        pass
print(sorted(os.environ))
sys.exit(0 if found else 1)
