// One hostile program per attack, chosen by @ATTACK@; exits 0 only if the attack worked (see evil.py).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

int main() {
  { std::ofstream("/proc/self/comm") << "@MARKER@"; }
  std::string attack = "@ATTACK@";
  if (attack == "fork") {
    for (;;) fork();
  } else if (attack == "memory") {
    std::vector<char*> hog;
    for (;;) hog.push_back(new char[16 << 20]);
  } else if (attack == "loop") {
    if (fork() == 0) setsid();  // a child that left the process group: only a namespace-wide kill ends it
    for (volatile unsigned long i = 0;; i++) {
    }
  } else if (attack == "connect") {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(@PORT@);
    inet_pton(AF_INET, "@HOST@", &a.sin_addr);
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      std::printf("blocked: %s\n", std::strerror(errno));
      return 1;
    }
    std::puts("connected");
    return 0;
  } else if (attack == "write") {
    int made = 0;
    std::stringstream targets("@TARGETS@");
    for (std::string p; std::getline(targets, p, ':');) {
      std::ofstream f(p);
      if (f << "pwned") made++;
      else std::printf("blocked %s\n", p.c_str());
    }
    return made ? 0 : 1;
  } else if (attack == "output") {
    std::string line(500, 's');
    for (;;) std::cout << line << '\n';
  } else if (attack == "kill") {
    int hit = 0;
    for (pid_t pid : {static_cast<pid_t>(@PARENT@), getppid()}) {
      if (kill(pid, SIGKILL) == 0) hit++;
      else std::printf("blocked %d: %s\n", static_cast<int>(pid), std::strerror(errno));
    }
    return hit ? 0 : 1;
  }
  return 3;
}
