# One hostile program per attack, chosen by @ATTACK@ (the test fills in every @NAME@). Exits 0 only if the attack
# worked, so a "pass" is a breach. @MARKER@ names the process (and every fork of it) to find leftovers from outside.
import os
import signal
import socket
import sys

with open("/proc/self/comm", "w") as comm:
    comm.write("@MARKER@")
attack = "@ATTACK@"
if attack == "fork":
    while True:
        os.fork()
elif attack == "memory":
    hog = []
    while True:
        hog.append(bytearray(16 << 20))
elif attack == "loop":
    if os.fork() == 0:
        os.setsid()  # a child that left the process group: only a namespace-wide kill ends it
    while True:
        pass
elif attack == "connect":
    try:
        socket.create_connection(("@HOST@", @PORT@), timeout=2).close()
    except OSError as e:
        sys.exit(f"blocked: {e}")
    print("connected")
elif attack == "write":
    made = 0
    for path in "@TARGETS@".split(":"):
        try:
            with open(path, "w") as f:
                f.write("pwned")
            made += 1
        except OSError as e:
            print(f"blocked {path}: {e}")
    sys.exit(0 if made else 1)
elif attack == "output":
    while True:
        print("spam " * 100)
elif attack == "kill":
    hit = 0
    for pid in (@PARENT@, os.getppid()):
        try:
            os.kill(pid, signal.SIGKILL)
            hit += 1
        except OSError as e:
            print(f"blocked {pid}: {e}")
    sys.exit(0 if hit else 1)
