import json
import os

# The test's settings; "marker" names this process (and so every fork of it), which finds leftovers from outside.
with open("evil.json") as f:
    ARGS = json.load(f)
with open("/proc/self/comm", "w") as comm:
    comm.write(ARGS["marker"])
# Classic fork bomb: every process forks forever; the process limit must stop it fast.
while True:
    os.fork()
