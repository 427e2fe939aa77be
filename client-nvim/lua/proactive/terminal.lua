--- Commands run in Neovim, seen where they run: `:terminal` shells (shell-integration escape
--- sequences through TermRequest), `:terminal {cmd}` jobs (TermClose), `:make` (QuickFixCmdPost) and
--- `:!cmd` (ShellCmdPost). Each finished command becomes a `proactive/terminalCommand` report
--- `{commandLine, cwd, exitCode, output, durationMs}` handed to `on_command`.
---
--- Shells learn to send the sequences without any change to the user's rc files: bash through
--- `--rcfile shell/bashrc` added to 'shell' (it sources /etc/bash.bashrc and ~/.bashrc, then
--- shell/proactive.bash) and, for other bash command lines, an exported PROMPT_COMMAND that sources
--- shell/proactive.bash at the first prompt; zsh through a ZDOTDIR whose .zshenv puts the user's
--- back, reads their .zshenv and sources shell/zsh/proactive.zsh.
local tail = require('proactive.tail')

local M = {}

local PLUGIN_DIR = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h:h')
M.BASH_HOOK = PLUGIN_DIR .. '/shell/proactive.bash'
M.BASH_RC = PLUGIN_DIR .. '/shell/bashrc'
M.ZSH_DIR = PLUGIN_DIR .. '/shell/zsh'

--- Per terminal buffer: what the shell told us so far.
---@type table<integer, {integrated: boolean, cmd: string?, cwd: string?, b: integer[]?, start: table?, started: integer}>
local terms = {}

---@type fun(report: table)
local on_command = function(_) end

M.stats = { commands = 0, integrated_terminals = 0 }

-- environment -------------------------------------------------------------------------------

--- Points bash and zsh started by this Neovim at our hooks (only interactive shells in :terminal
--- act on them: the hooks check $NVIM and interactivity).
function M.install_env()
  if vim.env.PROACTIVE_NVIM_ENV == '1' then
    return
  end
  vim.env.PROACTIVE_NVIM_ENV = '1'
  -- bash: when 'shell' is bash, :terminal starts it with our rc file (which reads the user's first).
  local shell = vim.o.shell
  if vim.fn.fnamemodify(shell, ':t') == 'bash' and not shell:find('%s') and not M.BASH_RC:find('[%s"]') then
    vim.o.shell = shell .. ' --rcfile ' .. M.BASH_RC
    M.shell_changed = true
  end
  -- Any other interactive bash started from here (`:terminal bash`): a PROMPT_COMMAND that sources
  -- the marks at the first prompt, if the user's rc keeps PROMPT_COMMAND.
  local boot = '__proactive_nvim_from_prompt_command=1 . ' .. vim.fn.shellescape(M.BASH_HOOK)
  local user_pc = vim.env.PROMPT_COMMAND
  vim.env.PROACTIVE_NVIM_BASH_BOOT = boot
  vim.env.PROMPT_COMMAND = (user_pc and user_pc ~= '') and (boot .. ';' .. user_pc) or boot
  if vim.env.ZDOTDIR and vim.env.ZDOTDIR ~= M.ZSH_DIR then
    vim.env.PROACTIVE_NVIM_USER_ZDOTDIR = vim.env.ZDOTDIR
  end
  vim.env.ZDOTDIR = M.ZSH_DIR
end

--- Is the environment set for shell integration?
function M.env_installed()
  return vim.env.PROACTIVE_NVIM_ENV == '1' and vim.env.ZDOTDIR == M.ZSH_DIR
end

-- decoding ----------------------------------------------------------------------------------

--- OSC 633 E's escaping: `\xHH` and `\\`.
---@param s string
---@return string
function M.unescape(s)
  s = s:gsub('\\x(%x%x)', function(h)
    return string.char(tonumber(h, 16))
  end)
  return (s:gsub('\\\\', '\\'))
end

---@param url string `file://host/path`, percent-encoded
---@return string?
function M.path_of_file_url(url)
  local path = url:match('^file://[^/]*(/.*)$')
  if not path then
    return nil
  end
  return (path:gsub('%%(%x%x)', function(h)
    return string.char(tonumber(h, 16))
  end))
end

--- The text of buffer `buf` from (row, col) to (row2, col2): 1-based rows, 0-based byte columns.
local function text_between(buf, from, to)
  local lines = vim.api.nvim_buf_get_lines(buf, from[1] - 1, to[1], false)
  if #lines == 0 then
    return ''
  end
  if #lines == to[1] - from[1] + 1 then
    lines[#lines] = lines[#lines]:sub(1, to[2])
  end
  lines[1] = lines[1]:sub(from[2] + 1)
  for i, line in ipairs(lines) do
    lines[i] = line:gsub('%s+$', '')
  end
  while #lines > 0 and lines[#lines] == '' do
    table.remove(lines)
  end
  return table.concat(lines, '\n')
end

-- :terminal shells --------------------------------------------------------------------------

local POLL_MS = 25
local SETTLE_MIN_MS = 100
local SETTLE_MAX_MS = 2000

--- The terminal buffer lags the escape sequences by a refresh or two: read the output once the
--- buffer has changed since D and two reads in a row agree (at most SETTLE_MAX_MS).
local function read_when_settled(buf, from, to, done)
  local tick = vim.api.nvim_buf_get_changedtick(buf)
  local waited, previous = 0, nil
  local function poll()
    if not vim.api.nvim_buf_is_valid(buf) then
      return done(previous or '')
    end
    local text = text_between(buf, from, to)
    local changed = vim.api.nvim_buf_get_changedtick(buf) ~= tick
    if (changed or waited >= SETTLE_MIN_MS) and text == previous or waited >= SETTLE_MAX_MS then
      return done(text)
    end
    previous = text
    waited = waited + POLL_MS
    vim.defer_fn(poll, POLL_MS)
  end
  vim.defer_fn(poll, POLL_MS)
end

local function finish(buf, start, cursor, code)
  local cmd = start.cmd
  local cwd = start.cwd or vim.fn.getcwd()
  local duration = math.floor((vim.uv.hrtime() - start.t) / 1e6)
  read_when_settled(buf, { start.row, start.col }, cursor, function(text)
    if (not cmd or cmd == '') and start.b then
      cmd = text_between(buf, start.b, { start.row - 1, math.huge }):gsub('\n', ' ')
    end
    if not cmd or vim.trim(cmd) == '' then
      return
    end
    local out = tail.new()
    out:push(text ~= '' and (text .. '\n') or '')
    M.stats.commands = M.stats.commands + 1
    on_command({ commandLine = vim.trim(cmd), cwd = cwd, exitCode = code, output = out:text(), durationMs = duration })
  end)
end

local function on_request(args)
  local seq = args.data and args.data.sequence
  if type(seq) ~= 'string' then
    return
  end
  local buf = args.buf
  local st = terms[buf]
  if not st then
    st = { integrated = false, started = vim.uv.hrtime() }
    terms[buf] = st
  end
  local cursor = args.data.cursor or { 1, 0 }
  local osc, rest = seq:match('^\27%](%d+);?(.*)$')
  if osc == '133' then
    local mark, params = rest:match('^(%a);?(.*)$')
    if mark == 'A' then
      if not st.integrated then
        st.integrated = true
        M.stats.integrated_terminals = M.stats.integrated_terminals + 1
      end
    elseif mark == 'B' then
      st.b = { cursor[1], cursor[2] }
    elseif mark == 'C' then
      st.start = { row = cursor[1], col = cursor[2], t = vim.uv.hrtime(), cmd = st.cmd, cwd = st.cwd, b = st.b }
    elseif mark == 'D' then
      local start = st.start
      st.start, st.cmd = nil, nil
      if start then -- a D without a C is an empty Enter (or an interrupted line): nothing ran
        finish(buf, start, cursor, tonumber(params:match('^(%-?%d+)')))
      end
    end
  elseif osc == '633' then
    local cmd = rest:match('^E;([^;]*)')
    if cmd then
      st.cmd = M.unescape(cmd)
    end
  elseif osc == '7' then
    st.cwd = M.path_of_file_url(rest) or st.cwd
  end
end

-- :terminal {cmd}, :make, :! ----------------------------------------------------------------

local function on_term_close(args)
  local buf = args.buf
  local st = terms[buf]
  terms[buf] = nil
  if st and st.integrated then
    return -- an interactive shell: its commands were reported one by one
  end
  local name = vim.api.nvim_buf_get_name(buf)
  local cwd, cmd = name:match('^term://(.-)//%d+:(.*)$')
  if not cmd or cmd == '' or cmd == vim.o.shell then
    return -- a plain shell without integration exiting is not a command
  end
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  while #lines > 0 and (vim.trim(lines[#lines]) == '' or lines[#lines]:match('^%[Process exited %-?%d+%]$')) do
    table.remove(lines)
  end
  local out = tail.new()
  out:push(#lines > 0 and (table.concat(lines, '\n') .. '\n') or '')
  local started = st and st.started or nil
  M.stats.commands = M.stats.commands + 1
  on_command({
    commandLine = cmd,
    cwd = vim.fs.normalize(cwd ~= '' and vim.fn.expand(cwd) or vim.fn.getcwd()),
    exitCode = vim.v.event and vim.v.event.status or nil,
    output = out:text(),
    durationMs = started and math.floor((vim.uv.hrtime() - started) / 1e6) or nil,
  })
end

local make = nil ---@type {t: integer}?

--- The output of :make as the quickfix list keeps it (Neovim deletes the error file after reading).
local function quickfix_text(items)
  local lines = {}
  for _, item in ipairs(items) do
    if item.valid == 1 and item.bufnr > 0 then
      local file = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(item.bufnr), ':.')
      local col = item.col > 0 and (':' .. item.col) or ''
      table.insert(lines, ('%s:%d%s:%s'):format(file, item.lnum, col, item.text))
    else
      table.insert(lines, item.text)
    end
  end
  return table.concat(lines, '\n')
end

local function on_quickfix_post(args)
  if not make then
    return
  end
  local started = make.t
  make = nil
  local loc = args.match:sub(1, 1) == 'l'
  local what = { title = 1, items = 1 }
  local list = loc and vim.fn.getloclist(0, what) or vim.fn.getqflist(what)
  local cmd = vim.trim((list.title or ''):gsub('^:', ''))
  if cmd == '' then
    cmd = vim.o.makeprg
  end
  -- Through 'shellpipe' (`2>&1| tee` by default) v:shell_error is tee's status, not the command's.
  local piped = vim.o.shellpipe:find('|', 1, true) ~= nil
  local out = tail.new()
  local text = quickfix_text(list.items or {})
  out:push(text ~= '' and (text .. '\n') or '')
  M.stats.commands = M.stats.commands + 1
  on_command({
    commandLine = cmd,
    cwd = vim.fn.getcwd(),
    exitCode = (not piped) and vim.v.shell_error or nil,
    output = out:text(),
    durationMs = math.floor((vim.uv.hrtime() - started) / 1e6),
  })
end

local function on_shell_cmd_post()
  if make then
    return -- :make runs its command through the shell too; QuickFixCmdPost reports it
  end
  local line = vim.fn.histget(':', -1)
  local cmd = line:match('^[%s:]*[^!]-!(.*)$')
  if not cmd or vim.trim(cmd) == '' or line:match('^[%s:]*sh') then
    return
  end
  M.stats.commands = M.stats.commands + 1
  -- Neovim shows what `:!` printed but keeps none of it: the line, folder and status are what we have.
  on_command({ commandLine = vim.trim(vim.fn.expandcmd(cmd)), cwd = vim.fn.getcwd(), exitCode = vim.v.shell_error, output = '' })
end

--- Creates the autocommands in `group`; `handler(report)` gets each finished command.
---@param group integer
---@param handler fun(report: table)
---@param opts {env: boolean, make: boolean, bang: boolean}
function M.setup(group, handler, opts)
  on_command = handler
  if opts.env ~= false then
    M.install_env()
  end
  local au = vim.api.nvim_create_autocmd
  au('TermRequest', { group = group, callback = on_request })
  au('TermOpen', {
    group = group,
    callback = function(args)
      terms[args.buf] = terms[args.buf] or { integrated = false, started = vim.uv.hrtime() }
    end,
  })
  au('TermClose', { group = group, callback = on_term_close })
  if opts.make ~= false then
    au('QuickFixCmdPre', {
      group = group,
      pattern = { 'make', 'lmake' },
      callback = function()
        make = { t = vim.uv.hrtime() }
      end,
    })
    au('QuickFixCmdPost', { group = group, pattern = { 'make', 'lmake' }, callback = on_quickfix_post })
  end
  if opts.bang ~= false then
    au('ShellCmdPost', { group = group, callback = on_shell_cmd_post })
  end
end

--- Terminal buffers whose shell sent the prompt marks.
---@return integer
function M.integrated_count()
  local n = 0
  for buf, st in pairs(terms) do
    if st.integrated and vim.api.nvim_buf_is_valid(buf) then
      n = n + 1
    end
  end
  return n
end

return M
