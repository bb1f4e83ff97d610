import json
import sys

# The test's settings; "marker" names this process (and so every fork of it), which finds leftovers from outside.
with open("evil.json") as f:
    ARGS = json.load(f)
with open("/proc/self/comm", "w") as comm:
    comm.write(ARGS["marker"])
# Exits 0 only if a TCP connection was made. The host is 127.0.0.1 (to a listener the test runs on the host)
# or 192.0.2.1 (TEST-NET-1, a documentation address: nothing answers there).
import socket

try:
    socket.create_connection((ARGS["host"], ARGS["port"]), timeout=2).close()
except OSError as e:
    sys.exit(f"blocked: {e}")
print("connected")
