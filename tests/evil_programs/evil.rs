// One hostile program per attack, chosen by @ATTACK@; exits 0 only if the attack worked (see evil.py).
// Rust's std cannot signal another process: its kill attack goes through kill(1).
use std::io::Write;
use std::process::{exit, Command};

fn main() {
    let _ = std::fs::write("/proc/self/comm", "@MARKER@");
    match "@ATTACK@" {
        "fork" => loop {
            if let Err(e) = Command::new("./main").spawn() {
                println!("{}", e);
                exit(1);
            }
        },
        "memory" => {
            let mut hog: Vec<Vec<u8>> = Vec::new();
            loop {
                hog.push(vec![1u8; 16 << 20]);
            }
        }
        "loop" => loop {},
        "connect" => {
            let addr = "@HOST@:@PORT@".parse().unwrap();
            match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)) {
                Ok(_) => println!("connected"),
                Err(e) => {
                    println!("blocked: {}", e);
                    exit(1);
                }
            }
        }
        "write" => {
            let mut made = 0;
            for p in "@TARGETS@".split(':') {
                match std::fs::write(p, "pwned") {
                    Ok(_) => made += 1,
                    Err(e) => println!("blocked {}: {}", p, e),
                }
            }
            exit(if made > 0 { 0 } else { 1 });
        }
        "output" => {
            let line = "spam ".repeat(100);
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            loop {
                let _ = writeln!(out, "{}", line);
            }
        }
        "kill" => {
            let mut hit = 0;
            for pid in [@PARENT@u32, std::os::unix::process::parent_id()] {
                let ok = Command::new("kill").arg("-9").arg(pid.to_string()).status().map(|s| s.success());
                if ok.unwrap_or(false) {
                    hit += 1
                } else {
                    println!("blocked {}", pid)
                }
            }
            exit(if hit > 0 { 0 } else { 1 });
        }
        _ => exit(3),
    }
}
