import json

# The test's settings; "marker" names this process (and so every fork of it), which finds leftovers from outside.
with open("evil.json") as f:
    ARGS = json.load(f)
with open("/proc/self/comm", "w") as comm:
    comm.write(ARGS["marker"])
# Allocate until something gives.
hog = []
while True:
    hog.append(bytearray(16 * 1024 * 1024))
