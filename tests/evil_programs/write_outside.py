import json
import sys

# The test's settings; "marker" names this process (and so every fork of it), which finds leftovers from outside.
with open("evil.json") as f:
    ARGS = json.load(f)
with open("/proc/self/comm", "w") as comm:
    comm.write(ARGS["marker"])
# Exits 0 only if a file could be created outside the run's dir.
made = []
for path in ARGS["targets"]:
    try:
        with open(path, "w") as f:
            f.write("pwned")
        made.append(path)
    except OSError as e:
        print(f"blocked {path}: {e}")
sys.exit(0 if made else 1)
