-- One hostile program per attack, chosen by @ATTACK@; exits 0 only if the attack worked (see evil.py).
-- Lua has no sockets of its own, so it has no "connect" attack; fork and kill go through the shell.
local comm = io.open('/proc/self/comm', 'w')
comm:write('@MARKER@')
comm:close()
local attack = '@ATTACK@'
if attack == 'fork' then
  while true do os.execute('lua5.4 main.lua & lua5.4 main.lua &') end
elseif attack == 'memory' then
  local hog, chunk = {}, string.rep('x', 16 * 1024 * 1024)
  while true do hog[#hog + 1] = chunk .. #hog end
elseif attack == 'loop' then
  while true do end
elseif attack == 'write' then
  local made = 0
  for p in string.gmatch('@TARGETS@', '[^:]+') do
    local f, err = io.open(p, 'w')
    if f then f:write('pwned') f:close() made = made + 1 else print('blocked ' .. err) end
  end
  os.exit(made > 0 and 0 or 1)
elseif attack == 'output' then
  local line = string.rep('spam ', 100) .. '\n'
  while true do io.write(line) end
elseif attack == 'kill' then
  local ppid = io.open('/proc/self/stat'):read('a'):match('^%d+ %b() %S+ (%d+)')
  local hit = 0
  for _, pid in ipairs({'@PARENT@', ppid}) do
    if os.execute('kill -9 ' .. pid) then hit = hit + 1 else print('blocked ' .. pid) end
  end
  os.exit(hit > 0 and 0 or 1)
end
os.exit(3)
