import os, sys

# Name this process (and so every fork of it) after the test's marker, which finds leftovers from outside.
with open("/proc/self/comm", "w") as comm:
    comm.write("MARKER")
# Exits 0 only if a TCP connection was made. HOST is 127.0.0.1 (to a listener the test runs on the host)
# or 192.0.2.1 (TEST-NET-1, a documentation address: nothing answers there).
import socket

try:
    socket.create_connection(("HOST", PORT), timeout=2).close()
except OSError as e:
    sys.exit(f"blocked: {e}")
print("connected")
