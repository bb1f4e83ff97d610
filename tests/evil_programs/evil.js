// One hostile program per attack, chosen by @ATTACK@; exits 0 only if the attack worked (see evil.py).
const fs = require('fs');
const cp = require('child_process');
const net = require('net');
fs.writeFileSync('/proc/self/comm', '@MARKER@');
const attack = '@ATTACK@';
if (attack === 'fork') {
  for (;;) cp.spawn(process.execPath, [__filename], { stdio: 'ignore' });
} else if (attack === 'memory') {
  const hog = [];
  for (;;) hog.push(Buffer.alloc(16 << 20, 1));
} else if (attack === 'loop') {
  for (;;) {}
} else if (attack === 'connect') {
  const s = net.connect(@PORT@, '@HOST@', () => { console.log('connected'); process.exit(0); });
  s.on('error', (e) => { console.log('blocked: ' + e.message); process.exit(1); });
} else if (attack === 'write') {
  let made = 0;
  for (const p of '@TARGETS@'.split(':')) {
    try { fs.writeFileSync(p, 'pwned'); made++; } catch (e) { console.log('blocked ' + p + ': ' + e.code); }
  }
  process.exit(made ? 0 : 1);
} else if (attack === 'output') {
  const line = 'spam '.repeat(100) + '\n';
  for (;;) fs.writeSync(1, line);
} else if (attack === 'kill') {
  let hit = 0;
  for (const pid of [@PARENT@, process.ppid]) {
    try { process.kill(pid, 'SIGKILL'); hit++; } catch (e) { console.log('blocked ' + pid + ': ' + e.code); }
  }
  process.exit(hit ? 0 : 1);
}
