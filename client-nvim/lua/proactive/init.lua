--- proactive-ls for Neovim 0.11's built-in LSP client.
---
--- The server watches what you do and proposes a task now and then ("The test you just ran fails
--- at line 42: open it?"). This module registers the server, shows its proposals, lets you answer
--- them, and forwards what the server cannot see itself: other servers' diagnostics and the
--- commands you run with :ProactiveRun.
local M = {}

local NAME = 'proactive'
local DEBOUNCE_MS = 500

---@class proactive.Opts
---@field cmd? string[] server command (default {'proactive-ls', 'serve'})
---@field settings? table initializationOptions (e.g. {quietPeriodMs = 1500, feedbackLog = '~/p.jsonl'})
---@field filetypes? string[] attach only to these filetypes (default: every file)
---@field root_markers? string[] files that mark a project root (default {'.git', 'pyproject.toml', 'package.json'})
---@field prompt? 'notify'|'select' how a proposal is announced: a notification, or also vim.ui.select (default 'notify')
---@field forward_diagnostics? boolean (default true)
---@field commands? boolean create the :Proactive* user commands (default true)
---@field run? proactive.RunOpts defaults for :ProactiveRun

local defaults = {
  cmd = { 'proactive-ls', 'serve' },
  settings = {},
  filetypes = nil,
  root_markers = { '.git', 'pyproject.toml', 'package.json' },
  prompt = 'notify',
  forward_diagnostics = true,
  commands = true,
  run = {},
}

--- Plugin state: set up once by setup(); proposals are kept per id in arrival order.
local state = {
  opts = vim.deepcopy(defaults),
  ---@type table<string, table> id -> proposal (with client_id)
  proposals = {},
  ---@type string[] pending ids, oldest first
  order = {},
  ---@type table<string, string> id -> outcome, for proposals answered or timed out
  outcomes = {},
  snoozed_until = nil,
  timers = {},
}

local function notify(msg, level)
  vim.notify('[proactive] ' .. msg, level or vim.log.levels.INFO)
end

-- proposals ---------------------------------------------------------------------------------

local function forget(id, outcome)
  state.proposals[id] = nil
  state.outcomes[id] = outcome
  for i, v in ipairs(state.order) do
    if v == id then
      table.remove(state.order, i)
      break
    end
  end
end

--- Pending proposals, oldest first.
---@return table[]
function M.pending()
  local out = {}
  for _, id in ipairs(state.order) do
    table.insert(out, state.proposals[id])
  end
  return out
end

--- The outcome of a proposal that is no longer pending ('accepted', 'rejected', 'ignored', 'snoozed').
---@param id string
---@return string?
function M.outcome(id)
  return state.outcomes[id]
end

--- The latest pending proposal, or the one with `id`.
---@param id? string
---@return table?
local function pick(id)
  if id and id ~= '' then
    return state.proposals[id]
  end
  return state.proposals[state.order[#state.order]]
end

local ACCEPT_HINT = {
  open_location = 'accept opens it',
  show_markdown = 'accept shows it',
  apply_edit = 'accept applies the edit (undo with u)',
  model_task = 'accept asks the model to do it',
}

--- The text announcing a proposal.
---@param p table
---@return string
function M.format(p)
  local message = tostring(p.message):gsub('%s+', ' ')
  local kind = type(p.operation) == 'table' and p.operation.kind or nil
  local hint = ACCEPT_HINT[kind] or 'accept'
  return ('%s\n(%s: :ProactiveAccept · reject: :ProactiveReject · id %s)'):format(message, hint, p.id)
end

local function on_proposal(_, result, ctx)
  if type(result) ~= 'table' or type(result.id) ~= 'string' or type(result.message) ~= 'string' then
    notify('ignored a malformed proposal', vim.log.levels.WARN)
    return
  end
  result.client_id = ctx.client_id
  if not state.proposals[result.id] then
    table.insert(state.order, result.id)
  end
  state.proposals[result.id] = result
  notify(M.format(result))
  if state.opts.prompt == 'select' then
    vim.schedule(function()
      M.prompt(result.id)
    end)
  end
  vim.api.nvim_exec_autocmds('User', { pattern = 'ProactiveProposal', data = result, modeline = false })
end

local function on_resolved(_, result)
  if type(result) == 'table' and type(result.id) == 'string' then
    forget(result.id, result.outcome or 'resolved')
    vim.api.nvim_exec_autocmds('User', { pattern = 'ProactiveResolved', data = result, modeline = false })
  end
end

-- clients -----------------------------------------------------------------------------------

--- The proactive client for a buffer, else for the current directory, else any.
---@param bufnr? integer
---@return vim.lsp.Client?
function M.client(bufnr)
  if bufnr then
    local attached = vim.lsp.get_clients({ name = NAME, bufnr = bufnr })[1]
    if attached then
      return attached
    end
  end
  local clients = vim.lsp.get_clients({ name = NAME })
  local cwd = vim.fs.normalize(vim.fn.getcwd())
  for _, c in ipairs(clients) do
    if c.root_dir and vim.fs.relpath(c.root_dir, cwd) then
      return c
    end
  end
  return clients[1]
end

--- Calls `fn(client)` once a proactive client is initialized, starting one for the current
--- directory if none runs (e.g. :ProactiveRun before any file was opened).
---@param fn fun(client: vim.lsp.Client)
---@param bufnr? integer
local function with_client(fn, bufnr)
  local client = M.client(bufnr)
  if not client then
    local config = vim.deepcopy(vim.lsp.config[NAME])
    config.root_dir = vim.fs.root(0, state.opts.root_markers) or vim.fn.getcwd()
    local id = vim.lsp.start(config, { attach = false })
    client = id and vim.lsp.get_client_by_id(id) or nil
    if not client then
      notify('could not start the server (' .. table.concat(state.opts.cmd, ' ') .. ')', vim.log.levels.ERROR)
      return
    end
  end
  local waited = 0
  local function go()
    if client:is_stopped() then
      return
    end
    if client.initialized then
      fn(client)
    elseif waited < 20000 then
      waited = waited + 50
      vim.defer_fn(go, 50)
    else
      notify('the server did not initialize', vim.log.levels.ERROR)
    end
  end
  go()
end

local function execute(client, command, arguments, on_result)
  client:request('workspace/executeCommand', { command = command, arguments = arguments }, function(err, result)
    if err then
      notify(command .. ' failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.WARN)
      return
    end
    if on_result then
      on_result(result)
    end
  end)
end

--- Answers a proposal: 'accept' (the server then opens the location or applies the edit) or 'reject'.
---@param answer 'accept'|'reject'
---@param id? string the latest pending proposal when nil
function M.answer(answer, id)
  local p = pick(id)
  if not p then
    notify(id and ('no pending proposal ' .. id) or 'no pending proposal', vim.log.levels.WARN)
    return
  end
  local client = vim.lsp.get_client_by_id(p.client_id) or M.client()
  if not client then
    notify('the server is not running', vim.log.levels.ERROR)
    return
  end
  execute(client, 'proactive.' .. answer, { p.id }, function()
    forget(p.id, answer == 'accept' and 'accepted' or 'rejected')
  end)
end

---@param id? string
function M.accept(id)
  M.answer('accept', id)
end

---@param id? string
function M.reject(id)
  M.answer('reject', id)
end

--- Asks with vim.ui.select: Accept / Reject / Not now. "Not now" sends nothing: the server records
--- the proposal as ignored when its time runs out.
---@param id? string
function M.prompt(id)
  local p = pick(id)
  if not p then
    notify('no pending proposal', vim.log.levels.WARN)
    return
  end
  vim.ui.select({ 'Accept', 'Reject', 'Not now' }, { prompt = tostring(p.message):gsub('%s+', ' ') }, function(choice)
    if choice == 'Accept' and state.proposals[p.id] then
      M.accept(p.id)
    elseif choice == 'Reject' and state.proposals[p.id] then
      M.reject(p.id)
    end
  end)
end

--- Pauses proposals for `minutes`; pending ones are recorded as snoozed.
---@param minutes number
function M.snooze(minutes)
  with_client(function(client)
    execute(client, 'proactive.snooze', { minutes }, function(status)
      state.snoozed_until = type(status) == 'table' and status.snoozedUntil ~= vim.NIL and status.snoozedUntil or nil
      notify(('snoozed for %s minutes'):format(minutes))
    end)
  end)
end

--- Fetches the server's status; shows it unless `on_status` is given.
---@param on_status? fun(status: table)
function M.status(on_status)
  with_client(function(client)
    execute(client, 'proactive.status', {}, function(status)
      if type(status) ~= 'table' then
        return
      end
      state.snoozed_until = status.snoozedUntil ~= vim.NIL and status.snoozedUntil or nil
      if on_status then
        on_status(status)
        return
      end
      local lines = {
        ('%d pending · %d accepted · %d rejected · %d ignored · %d snoozed'):format(
          status.pending or 0, status.accepted or 0, status.rejected or 0, status.ignored or 0, status.snoozed or 0
        ),
        state.snoozed_until and ('snoozed until ' .. os.date('%H:%M', math.floor(state.snoozed_until))) or 'not snoozed',
        ('proposer %s · feedback log %s'):format(tostring(status.proposer), tostring(status.feedbackLog)),
      }
      for _, p in ipairs(M.pending()) do
        table.insert(lines, ('  %s  %s'):format(p.id, p.task))
      end
      notify(table.concat(lines, '\n'))
    end)
  end)
end

--- For a statusline: '' when idle, the pending count, or 'snoozed'.
---@return string
function M.statusline()
  if state.snoozed_until and state.snoozed_until > os.time() then
    return 'proactive: snoozed'
  end
  local n = #state.order
  return n > 0 and ('proactive: %d'):format(n) or ''
end

-- forwarding --------------------------------------------------------------------------------

--- Runs `cmd` in a shell (output in a scratch buffer) and tells the server how it went.
---@param cmd string
---@param opts? proactive.RunOpts
---@return vim.SystemObj
function M.run(cmd, opts)
  opts = vim.tbl_extend('force', state.opts.run or {}, opts or {})
  return require('proactive.run').run(cmd, opts, function(result)
    with_client(function(client)
      client:notify('proactive/terminalCommand', result)
    end)
    if result.exitCode ~= 0 then
      notify(('`%s` exited with %d'):format(cmd, result.exitCode), vim.log.levels.WARN)
    end
  end)
end

local function forward_diagnostics(bufnr)
  if not vim.api.nvim_buf_is_valid(bufnr) then
    return
  end
  local client = M.client(bufnr)
  if not client or not client.initialized then
    return
  end
  local params = require('proactive.diagnostics').params(bufnr, NAME, client.offset_encoding or 'utf-16')
  if params then
    client:notify('proactive/diagnostics', params)
  end
end

local function schedule_diagnostics(bufnr)
  local timer = state.timers[bufnr]
  if not timer then
    timer = assert(vim.uv.new_timer())
    state.timers[bufnr] = timer
  end
  timer:stop()
  timer:start(DEBOUNCE_MS, 0, function()
    vim.schedule(function()
      forward_diagnostics(bufnr)
    end)
  end)
end

local function drop_timer(bufnr)
  local timer = state.timers[bufnr]
  if timer then
    timer:stop()
    timer:close()
    state.timers[bufnr] = nil
  end
end

-- setup -------------------------------------------------------------------------------------

local function create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd('ProactiveAccept', function(a)
    M.accept(a.args ~= '' and a.args or nil)
  end, { nargs = '?', desc = 'Accept the latest (or the given) proactive proposal' })
  cmd('ProactiveReject', function(a)
    M.reject(a.args ~= '' and a.args or nil)
  end, { nargs = '?', desc = 'Reject the latest (or the given) proactive proposal' })
  cmd('ProactivePrompt', function(a)
    M.prompt(a.args ~= '' and a.args or nil)
  end, { nargs = '?', desc = 'Answer the latest proactive proposal with a menu' })
  cmd('ProactiveStatus', function()
    M.status()
  end, { desc = 'Show proactive-ls counts and snooze state' })
  cmd('ProactiveSnooze', function(a)
    local minutes = tonumber(a.args)
    if not minutes or minutes <= 0 then
      notify('usage: :ProactiveSnooze {minutes}', vim.log.levels.ERROR)
      return
    end
    M.snooze(minutes)
  end, { nargs = 1, desc = 'Pause proactive proposals for {minutes}' })
  cmd('ProactiveRun', function(a)
    M.run(a.args)
  end, { nargs = '+', complete = 'shellcmd', desc = 'Run a shell command and let proactive-ls see how it went' })
end

--- Registers and enables the server, and creates the commands.
---@param opts? proactive.Opts
function M.setup(opts)
  state.opts = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  local o = state.opts
  local markers = o.root_markers
  vim.lsp.config(NAME, {
    cmd = o.cmd,
    filetypes = o.filetypes,
    root_dir = function(bufnr, on_dir)
      on_dir(vim.fs.root(bufnr, markers) or vim.fn.getcwd())
    end,
    init_options = next(o.settings) and o.settings or vim.empty_dict(),
    capabilities = { experimental = { proactive = { proposals = true } } },
    handlers = {
      ['proactive/proposal'] = on_proposal,
      ['proactive/proposalResolved'] = on_resolved,
    },
    on_exit = function(_, _, client_id)
      vim.schedule(function()
        for _, p in ipairs(M.pending()) do
          if p.client_id == client_id then
            forget(p.id, 'lost')
          end
        end
      end)
    end,
  })
  vim.lsp.enable(NAME)

  local group = vim.api.nvim_create_augroup('proactive', { clear = true })
  if o.forward_diagnostics then
    vim.api.nvim_create_autocmd('DiagnosticChanged', {
      group = group,
      callback = function(args)
        schedule_diagnostics(args.buf)
      end,
    })
    vim.api.nvim_create_autocmd({ 'BufWipeout', 'BufDelete' }, {
      group = group,
      callback = function(args)
        drop_timer(args.buf)
      end,
    })
  end
  if o.commands then
    create_commands()
  end
end

return M
