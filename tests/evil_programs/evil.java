// One hostile program per attack, chosen by @ATTACK@; exits 0 only if the attack worked (see evil.py).
import java.io.FileWriter;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

public class Main {
  public static void main(String[] args) throws Exception {
    try (FileWriter comm = new FileWriter("/proc/self/comm")) {
      comm.write("@MARKER@");
    }
    switch ("@ATTACK@") {
      case "fork":
        while (true) new ProcessBuilder("java", "-Xmx32m", "-cp", ".", "Main").start();
      case "memory": {
        List<long[]> hog = new ArrayList<>();
        while (true) hog.add(new long[2 << 20]);
      }
      case "loop":
        while (true) {}
      case "connect":
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("@HOST@", @PORT@), 2000);
          System.out.println("connected");
          return;
        } catch (IOException e) {
          System.out.println("blocked: " + e);
          System.exit(1);
        }
        break;
      case "write": {
        int made = 0;
        for (String p : "@TARGETS@".split(":")) {
          try (FileWriter w = new FileWriter(p)) {
            w.write("pwned");
            made++;
          } catch (IOException e) {
            System.out.println("blocked " + p + ": " + e.getMessage());
          }
        }
        System.exit(made > 0 ? 0 : 1);
      }
      case "output": {
        String line = "spam ".repeat(100);
        while (true) System.out.println(line);
      }
      case "kill": {
        int hit = 0;
        long ppid = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L);
        for (long pid : new long[] {@PARENT@L, ppid}) {
          if (ProcessHandle.of(pid).map(ProcessHandle::destroyForcibly).orElse(false)) hit++;
          else System.out.println("blocked " + pid);
        }
        System.exit(hit > 0 ? 0 : 1);
      }
    }
    System.exit(3);
  }
}
