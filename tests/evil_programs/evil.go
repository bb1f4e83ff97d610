// One hostile program per attack, chosen by @ATTACK@; exits 0 only if the attack worked (see evil.py).
package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.WriteFile("/proc/self/comm", []byte("@MARKER@"), 0o644)
	switch "@ATTACK@" {
	case "fork":
		for {
			if err := exec.Command("./main").Start(); err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
		}
	case "memory":
		var hog [][]byte
		for {
			hog = append(hog, make([]byte, 16<<20))
		}
	case "loop":
		for {
		}
	case "connect":
		c, err := net.DialTimeout("tcp", "@HOST@:@PORT@", 2*time.Second)
		if err != nil {
			fmt.Println("blocked:", err)
			os.Exit(1)
		}
		c.Close()
		fmt.Println("connected")
	case "write":
		made := 0
		for _, p := range strings.Split("@TARGETS@", ":") {
			if err := os.WriteFile(p, []byte("pwned"), 0o644); err != nil {
				fmt.Println("blocked", err)
			} else {
				made++
			}
		}
		if made == 0 {
			os.Exit(1)
		}
	case "output":
		line := strings.Repeat("spam ", 100)
		for {
			fmt.Println(line)
		}
	case "kill":
		hit := 0
		for _, pid := range []int{@PARENT@, os.Getppid()} {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				fmt.Println("blocked", pid, err)
			} else {
				hit++
			}
		}
		if hit == 0 {
			os.Exit(1)
		}
	default:
		os.Exit(3)
	}
}
