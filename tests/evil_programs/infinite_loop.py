import json
import os

# The test's settings; "marker" names this process (and so every fork of it), which finds leftovers from outside.
with open("evil.json") as f:
    ARGS = json.load(f)
with open("/proc/self/comm", "w") as comm:
    comm.write(ARGS["marker"])
# Spin forever, in a child that left the process group too, so only a namespace-wide kill ends it.
if os.fork() == 0:
    os.setsid()
    while True:
        pass
while True:
    pass
