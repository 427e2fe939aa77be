--- `:ProactiveRun {cmd}`: run a shell command, show its output in a scratch buffer, and report
--- the finished command (line, cwd, exit code, output tail, duration) to a callback.
local tail = require('proactive.tail')

local M = {}

local ANSI = '\27%[[0-9;?]*[ -/]*[@-~]'

--- The argv that runs `cmd` with stderr merged into stdout, so the output keeps its order.
---@param cmd string
---@return string[]
function M.argv(cmd)
  if vim.fn.has('win32') == 1 then
    return { vim.o.shell, vim.o.shellcmdflag, cmd }
  end
  return { 'sh', '-c', 'exec 2>&1\n' .. cmd }
end

--- The one output buffer and window :ProactiveRun reuses.
local output = { buf = nil, win = nil }

--- The output buffer, emptied and named for `cmd`, shown in its window (a split below the first
--- time, the same window after); focus stays where the user was.
---@param cmd string
---@param height integer
---@return integer bufnr
local function open_scratch(cmd, height)
  local prev = vim.api.nvim_get_current_win()
  local buf = output.buf
  if not (buf and vim.api.nvim_buf_is_valid(buf)) then
    buf = vim.api.nvim_create_buf(false, true)
    vim.bo[buf].bufhidden = 'hide'
    vim.bo[buf].swapfile = false
    output.buf = buf
  end
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, {})
  pcall(vim.api.nvim_buf_set_name, buf, 'proactive://run: ' .. cmd)
  local win = output.win
  if not (win and vim.api.nvim_win_is_valid(win) and vim.api.nvim_win_get_buf(win) == buf) then
    win = vim.fn.bufwinid(buf)
    if win == -1 then
      win = vim.api.nvim_open_win(buf, false, { split = 'below', win = -1, height = height })
    end
    output.win = win
  end
  if vim.api.nvim_win_is_valid(prev) then
    vim.api.nvim_set_current_win(prev)
  end
  return buf
end

--- Keeps the end of the output in view in every window that shows it.
local function scroll_to_end(buf)
  local last = vim.api.nvim_buf_line_count(buf)
  for _, win in ipairs(vim.fn.win_findbuf(buf)) do
    pcall(vim.api.nvim_win_set_cursor, win, { last, 0 })
  end
end

---@class proactive.RunResult
---@field commandLine string
---@field cwd string
---@field exitCode integer
---@field output string
---@field durationMs integer

---@class proactive.RunOpts
---@field cwd? string
---@field show? boolean open a scratch buffer with the output (default true)
---@field height? integer
---@field limit? integer output tail bytes (default 64 KiB)

--- Starts `cmd` (already expanded: :ProactiveRun expands `%` and the like); `on_exit(result)` runs
--- on the main loop when it has finished.
---@param cmd string
---@param opts proactive.RunOpts?
---@param on_exit fun(result: proactive.RunResult)
---@return vim.SystemObj
function M.run(cmd, opts, on_exit)
  opts = opts or {}
  local cwd = opts.cwd or vim.fn.getcwd()
  local out = tail.new(opts.limit)
  local buf = opts.show ~= false and open_scratch(cmd, opts.height or 12) or nil
  local partial = ''
  local first = true

  local function append(lines)
    if not buf or not vim.api.nvim_buf_is_valid(buf) or #lines == 0 then
      return
    end
    -- a new buffer has one empty line: the first lines replace it
    vim.api.nvim_buf_set_lines(buf, first and 0 or -1, -1, false, lines)
    first = false
    scroll_to_end(buf)
  end

  local function show(text)
    local lines = vim.split(partial .. text:gsub(ANSI, ''):gsub('\r', ''), '\n', { plain = true })
    partial = table.remove(lines)
    append(lines)
  end

  local function on_data(_, data)
    if data then
      out:push(data)
      vim.schedule(function()
        show(data)
      end)
    end
  end

  local started = vim.uv.hrtime()
  return vim.system(M.argv(cmd), { cwd = cwd, text = true, stdout = on_data, stderr = on_data }, function(obj)
    local duration = math.floor((vim.uv.hrtime() - started) / 1e6)
    local code = obj.code
    if obj.signal and obj.signal ~= 0 then
      code = 128 + obj.signal
    end
    vim.schedule(function()
      local last = partial ~= '' and { partial } or {}
      partial = ''
      table.insert(last, ('[exit %d, %d ms]'):format(code, duration))
      append(last)
      on_exit({ commandLine = cmd, cwd = cwd, exitCode = code, output = out:text(), durationMs = duration })
    end)
  end)
end

return M
