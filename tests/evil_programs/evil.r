# One hostile program per attack, chosen by @ATTACK@; exits 0 only if the attack worked (see evil.py).
cat("@MARKER@", file = "/proc/self/comm")
attack <- "@ATTACK@"
if (attack == "fork") {
  bomb <- function() repeat parallel::mcparallel(bomb())  # a real fork(2): every child forks on
  bomb()
} else if (attack == "memory") {
  hog <- list()
  repeat hog[[length(hog) + 1]] <- numeric(2e6)
} else if (attack == "loop") {
  repeat {}
} else if (attack == "connect") {
  con <- tryCatch(socketConnection("@HOST@", @PORT@, blocking = TRUE, timeout = 2),
                  error = function(e) NULL, warning = function(w) NULL)
  if (is.null(con)) { cat("blocked\n"); quit(status = 1) }
  cat("connected\n")
} else if (attack == "write") {
  made <- 0
  for (p in strsplit("@TARGETS@", ":")[[1]]) {
    ok <- tryCatch({ writeLines("pwned", p); TRUE }, error = function(e) FALSE, warning = function(w) FALSE)
    if (ok) made <- made + 1 else cat("blocked", p, "\n")
  }
  quit(status = if (made > 0) 0 else 1)
} else if (attack == "output") {
  line <- strrep("spam ", 100)
  repeat cat(line, "\n")
} else if (attack == "kill") {
  ppid <- as.integer(strsplit(readLines("/proc/self/stat"), " ")[[1]][4])
  hit <- 0
  for (pid in c(@PARENT@, ppid)) if (isTRUE(tools::pskill(pid, 9))) hit <- hit + 1 else cat("blocked", pid, "\n")
  quit(status = if (hit > 0) 0 else 1)
}
quit(status = 3)
