--- proactive-ls for Neovim 0.11's built-in LSP client.
---
--- The server watches what you do and proposes a task now and then ("The test you just ran fails
--- at line 42: open it?"). This module registers the server, shows its proposals, lets you answer
--- them, and forwards what the server cannot see itself: other servers' diagnostics and the
--- commands you run (in :terminal, :make, :!, :ProactiveRun).
---
--- Nothing here gets in the way: announcements are one-line vim.notify calls (no hit-enter
--- prompt), a menu is only ever opened in normal mode (queued while you type or use a terminal),
--- and answering works from any mode.
local M = {}

local NAME = 'proactive_ls'
M.NAME = NAME
local DEBOUNCE_MS = 500

---@class proactive.Opts
---@field cmd? string[] server command (default {'proactive-ls', 'serve'})
---@field settings? table initializationOptions (e.g. {quietPeriodMs = 1500}; a log elsewhere than the data folder: cmd's --feedback-log)
---@field filetypes? string[] attach only to these filetypes (default: every file)
---@field root_markers? string[] files that mark a project root (default {'.git', 'pyproject.toml', 'package.json'})
---@field prompt? 'notify'|'select' how a proposal is announced: a notification, or also vim.ui.select (default 'notify')
---@field forward_diagnostics? boolean (default true)
---@field run? proactive.RunOpts defaults for :ProactiveRun
---@field terminal? boolean see commands in :terminal, :terminal {cmd}, :make and :! (default true)
---@field enable? boolean start the server for buffers (vim.lsp.enable; default true)

local defaults = {
  cmd = { 'proactive-ls', 'serve' },
  settings = {},
  filetypes = nil,
  root_markers = { '.git', 'pyproject.toml', 'package.json' },
  prompt = 'notify',
  forward_diagnostics = true,
  run = {},
  terminal = true,
  enable = true,
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
  configured = false,
  ---@type string[] proposal ids waiting for normal mode to be asked about
  prompt_queue = {},
}

local TITLE = 'proactive'

--- Is vim.notify still Neovim's own (an echo, where a long or multi-line text asks for Enter)?
local function builtin_notify()
  local info = debug.getinfo(vim.notify, 'S')
  return info and type(info.source) == 'string' and info.source:find('vim/_editor.lua', 1, true) ~= nil
end

--- One line, and with the built-in notify no longer than the message area: never a hit-enter prompt.
local function notify(msg, level)
  local text = tostring(msg):gsub('%s*\n%s*', ' · ')
  if builtin_notify() then
    local room = math.max(20, (vim.v.echospace or 80) - #TITLE - 3)
    if vim.fn.strdisplaywidth(text) > room then
      text = vim.fn.strcharpart(text, 0, room - 1) .. '…'
    end
    text = TITLE .. ': ' .. text
  end
  vim.notify(text, level or vim.log.levels.INFO, { title = TITLE })
end

local function redraw()
  vim.schedule(function()
    pcall(vim.cmd.redrawstatus, { bang = true })
  end)
end

-- proposals ---------------------------------------------------------------------------------

local function forget(id, outcome)
  local was = state.proposals[id] ~= nil
  state.proposals[id] = nil
  state.outcomes[id] = outcome
  for i, v in ipairs(state.order) do
    if v == id then
      table.remove(state.order, i)
      break
    end
  end
  if was then
    redraw()
    vim.api.nvim_exec_autocmds('User', { pattern = 'ProactiveResolved', data = { id = id, outcome = outcome }, modeline = false })
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
  return ('%s (%s: :ProactiveAccept · reject: :ProactiveReject)'):format(message, hint)
end

--- Pending proposal ids (for command completion), latest first.
---@return string[]
function M.ids()
  local out = {}
  for i = #state.order, 1, -1 do
    table.insert(out, state.order[i])
  end
  return out
end

--- Modes where a menu would take the user's keys: insert, replace, terminal, command line, a
--- pending operator, or a prompt already open.
local function busy()
  local mode = vim.api.nvim_get_mode()
  return mode.blocking or mode.mode ~= 'n'
end

local drain_prompts

--- Ask about `id` with the menu now if the user is in normal mode, else once they are back in it.
local function queue_prompt(id)
  table.insert(state.prompt_queue, id)
  drain_prompts()
end

drain_prompts = function()
  if #state.prompt_queue == 0 then
    return
  end
  if busy() then
    if not state.prompt_waiting then
      state.prompt_waiting = true
      vim.api.nvim_create_autocmd({ 'ModeChanged', 'CursorHold' }, {
        group = vim.api.nvim_create_augroup('proactive.prompt', { clear = true }),
        callback = function()
          if busy() then
            return false
          end
          state.prompt_waiting = false
          vim.schedule(drain_prompts)
          return true -- delete this autocommand
        end,
      })
    end
    return
  end
  local id = table.remove(state.prompt_queue, 1)
  if state.proposals[id] then
    M.prompt(id)
  else
    drain_prompts()
  end
end

function M.on_proposal(_, result, ctx)
  if type(result) ~= 'table' or type(result.id) ~= 'string' or type(result.message) ~= 'string' then
    notify('ignored a malformed proposal', vim.log.levels.WARN)
    return
  end
  if state.outcomes[result.id] then
    return -- answered already (a late duplicate)
  end
  result.client_id = ctx.client_id
  if not state.proposals[result.id] then
    table.insert(state.order, result.id)
  end
  state.proposals[result.id] = result
  notify(M.format(result))
  redraw()
  if state.opts.prompt == 'select' then
    vim.schedule(function()
      queue_prompt(result.id)
    end)
  end
  vim.api.nvim_exec_autocmds('User', { pattern = 'ProactiveProposal', data = result, modeline = false })
end

--- `proactive/proposalResolved`: the server says a proposal is no longer pending, whichever path
--- answered it (a code action, another window, the ignore timeout, a snooze).
function M.on_resolved(_, result)
  if type(result) == 'table' and type(result.id) == 'string' then
    forget(result.id, type(result.outcome) == 'string' and result.outcome or 'resolved')
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

--- The proactive client whose workspace contains `dir`.
---@param dir string
---@return vim.lsp.Client?
function M.client_for(dir)
  dir = vim.fs.normalize(dir)
  for _, c in ipairs(vim.lsp.get_clients({ name = NAME })) do
    if c.root_dir and vim.fs.relpath(c.root_dir, dir) then
      return c
    end
  end
  return nil
end

--- Calls `fn(client)` once a proactive client is initialized, starting one for the current
--- directory if none runs (e.g. :ProactiveRun before any file was opened).
---@param fn fun(client: vim.lsp.Client)
---@param bufnr? integer
---@param dir? string the folder the client's workspace must contain (e.g. a command's cwd)
local function with_client(fn, bufnr, dir)
  local client = dir and M.client_for(dir) or M.client(bufnr)
  if not client then
    local config = vim.deepcopy(vim.lsp.config[NAME])
    config.root_dir = (dir and vim.fs.root(dir, state.opts.root_markers)) or vim.fs.root(0, state.opts.root_markers) or dir or vim.fn.getcwd()
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
  if answer == 'accept' and vim.api.nvim_get_mode().mode:match('^[itR]') then
    -- Accepting opens a file or edits one: leave insert or terminal mode first, as a jump would.
    vim.cmd.stopinsert()
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

local MUTE_KIND = "Don't suggest this kind again"

--- Stops proposals of `kind` (`proactive.mute`; the server keeps the mute for every window, across
--- restarts) and rejects the proposal `id` that prompted it.
---@param kind string
---@param id? string
function M.mute(kind, id)
  with_client(function(client)
    execute(client, 'proactive.mute', { { kind = kind, proposalId = id } }, function()
      notify(('proposals of the kind "%s" are muted (:ProactiveStatus lists mutes)'):format(kind))
    end)
  end)
end

--- Asks with vim.ui.select: Accept / Reject / Not now (and "Don't suggest this kind again" when the
--- proposal names its kind). "Not now" sends nothing: the server records the proposal as ignored
--- when its time runs out.
---@param id? string
function M.prompt(id)
  local p = pick(id)
  if not p then
    notify('no pending proposal', vim.log.levels.WARN)
    return
  end
  local choices = { 'Accept', 'Reject', 'Not now' }
  local kind = type(p.kind) == 'string' and p.kind ~= '' and p.kind or nil
  if kind then
    table.insert(choices, MUTE_KIND)
  end
  vim.ui.select(choices, { prompt = tostring(p.message):gsub('%s+', ' ') }, function(choice)
    if choice == 'Accept' and state.proposals[p.id] then
      M.accept(p.id)
    elseif choice == 'Reject' and state.proposals[p.id] then
      M.reject(p.id)
    elseif choice == MUTE_KIND and kind then
      M.mute(kind, p.id)
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

--- Asks for a proposal now (`proactive.proposeNow`): the way to get one in manual mode, and to get
--- back a kind the server learnt you did not want (it shows it when you ask). The proposal comes as
--- any other; when there is none, says why.
function M.propose_now()
  with_client(function(client)
    execute(client, 'proactive.proposeNow', {}, function(result)
      if type(result) == 'table' and type(result.proposed) == 'table' and #result.proposed == 0 then
        notify('nothing to propose now (' .. tostring(result.lastDecision) .. ')')
      end
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

--- For a statusline (`%{v:lua.require'proactive'.statusline()}`): '' when idle, the pending
--- count, or 'snoozed'. It is redrawn whenever a proposal arrives or resolves.
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
    M.report(result)
    if result.exitCode ~= 0 then
      notify(('`%s` exited with %d'):format(cmd, result.exitCode), vim.log.levels.WARN)
    end
  end)
end

--- Tells the server of the workspace of `result.cwd` about a finished command.
---@param result {commandLine: string, cwd: string?, exitCode: integer?, output: string?, durationMs: integer?}
function M.report(result)
  state.reported = (state.reported or 0) + 1
  state.reports = state.reports or {}
  table.insert(state.reports, result)
  if #state.reports > 20 then
    table.remove(state.reports, 1)
  end
  with_client(function(client)
    client:notify('proactive/terminalCommand', result)
  end, nil, result.cwd)
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
    state.forwarded = (state.forwarded or 0) + 1
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

--- A code action's command (`proactive.accept` / `proactive.reject` with the proposal id) runs
--- here, client-side, so the plugin's own state follows it like any other answer.
local function code_action_command(answer)
  return function(command, ctx)
    local id = command.arguments and command.arguments[1]
    if type(id) == 'table' then
      id = id.id
    end
    if state.proposals[id] then
      return M.answer(answer, id)
    end
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    if client then
      execute(client, command.command, command.arguments, function()
        forget(id, answer == 'accept' and 'accepted' or 'rejected')
      end)
    end
  end
end

--- The vim.lsp.config of the server (what lsp/proactive_ls.lua returns).
---@return vim.lsp.Config
function M.lsp_config()
  local o = state.opts
  local markers = o.root_markers
  return {
    cmd = o.cmd,
    filetypes = o.filetypes,
    root_dir = function(bufnr, on_dir)
      if vim.bo[bufnr].buftype ~= '' then
        return -- terminals, help, scratch buffers: commands reach the server another way
      end
      on_dir(vim.fs.root(bufnr, markers) or vim.fn.getcwd())
    end,
    init_options = next(o.settings) and o.settings or vim.empty_dict(),
    capabilities = { experimental = { proactive = { proposals = true } } },
    handlers = {
      ['proactive/proposal'] = function(...)
        return M.on_proposal(...)
      end,
      ['proactive/proposalResolved'] = function(...)
        return M.on_resolved(...)
      end,
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
  }
end

--- Options: `setup(opts)` over `vim.g.proactive` over the defaults.
---@return proactive.Opts
function M.options()
  return state.opts
end

--- Was setup() called (by the user, or by plugin/proactive.lua)?
function M.configured()
  return state.configured
end

--- Registers and enables the server, and starts forwarding. Optional (plugin/proactive.lua calls it
--- with `vim.g.proactive`); calling it again reconfigures.
---@param opts? proactive.Opts
function M.setup(opts)
  local from_g = type(vim.g.proactive) == 'table' and vim.g.proactive or {}
  state.opts = vim.tbl_deep_extend('force', vim.deepcopy(defaults), from_g, opts or {})
  state.configured = true
  local o = state.opts
  vim.lsp.config(NAME, M.lsp_config())
  if o.enable then
    vim.lsp.enable(NAME)
  end
  vim.lsp.commands['proactive.accept'] = code_action_command('accept')
  vim.lsp.commands['proactive.reject'] = code_action_command('reject')

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
  if o.terminal then
    require('proactive.terminal').setup(group, M.report, { env = true })
  end
end

--- The last (up to 20) commands reported to the server, oldest first.
---@return table[]
function M.reports()
  return state.reports or {}
end

--- How many times other sources' diagnostics were forwarded.
---@return integer
function M.forwarded()
  return state.forwarded or 0
end

--- Commands reported to the server by this Neovim so far (for :checkhealth).
---@return integer
function M.reported()
  return state.reported or 0
end

return M
