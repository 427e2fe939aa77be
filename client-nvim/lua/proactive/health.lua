--- :checkhealth proactive
local M = {}

--- The server command with `--version` in place of `serve ...` (so a venv's python -m works too).
local function version_argv(cmd)
  local argv = {}
  for _, word in ipairs(cmd) do
    if word == 'serve' then
      break
    end
    table.insert(argv, word)
  end
  table.insert(argv, '--version')
  return argv
end

local function server_version(cmd)
  local ok, obj = pcall(function()
    return vim.system(version_argv(cmd), { text = true }):wait(15000)
  end)
  if not ok or obj.code ~= 0 then
    return nil, ok and vim.trim((obj.stderr or '') .. (obj.stdout or '')) or tostring(obj)
  end
  return vim.trim(obj.stdout or '')
end

function M.check()
  local p = require('proactive')
  vim.health.start('proactive: Neovim and the plugin')
  if vim.fn.has('nvim-0.11') == 1 then
    vim.health.ok('Neovim ' .. tostring(vim.version()))
  else
    vim.health.error('Neovim 0.11 or newer is needed (vim.lsp.config / vim.lsp.enable, TermRequest)')
  end
  if not p.configured() then
    vim.health.warn('not set up: plugin/proactive.lua did not run (vim.g.proactive = false?) and setup() was not called')
    return
  end

  vim.health.start('proactive: server')
  local config = vim.lsp.config[p.NAME]
  local cmd = config and config.cmd
  local exe = type(cmd) == 'table' and cmd[1] or nil
  if type(exe) == 'string' and vim.fn.executable(exe) == 1 then
    vim.health.ok(('server command found: %s (%s)'):format(table.concat(cmd, ' '), vim.fn.exepath(exe)))
    local version, problem = server_version(cmd)
    if version then
      vim.health.ok('server version: ' .. version)
    else
      vim.health.error('the server command does not run: ' .. tostring(problem))
    end
  else
    vim.health.error(('server command not found: %s'):format(tostring(exe)), {
      'pip install proactive-ls, or set cmd = {"/path/to/proactive-ls", "serve"} (setup() or vim.g.proactive)',
    })
  end

  local clients = vim.lsp.get_clients({ name = p.NAME })
  if #clients == 0 then
    vim.health.info('no client yet: one starts when a file is opened or a command is reported')
  end
  for _, c in ipairs(clients) do
    if not c.initialized then
      vim.health.info(('client %d (root %s) is starting'):format(c.id, tostring(c.root_dir)))
    else
      local answer = c:request_sync('workspace/executeCommand', { command = 'proactive.status', arguments = {} }, 5000)
      local status = answer and answer.result
      if type(status) == 'table' then
        vim.health.ok(('client %d: root %s, server %s, proposer %s'):format(
          c.id, tostring(c.root_dir), tostring(status.version), tostring(status.proposer)))
        vim.health.ok('feedback log: ' .. tostring(status.feedbackLog))
        local hook = type(status.shellHook) == 'table' and status.shellHook or {}
        if type(hook.socket) == 'string' then
          vim.health.ok(('shell-hook socket: %s (%d commands from shells outside Neovim)'):format(hook.socket, hook.commands or 0))
        else
          vim.health.info('shell-hook socket: none (see docs/shell-hook.md)')
        end
      else
        vim.health.warn(('client %d (root %s) did not answer proactive.status'):format(c.id, tostring(c.root_dir)))
      end
    end
  end

  vim.health.start('proactive: terminal integration')
  local terminal = require('proactive.terminal')
  if not p.options().terminal then
    vim.health.info('off (terminal = false)')
    return
  end
  if terminal.env_installed() then
    vim.health.ok(('active: bash and zsh in :terminal get prompt marks (%s, %s)'):format(terminal.BASH_HOOK, terminal.ZSH_DIR))
  else
    vim.health.warn('the environment for :terminal shells is not set (PROMPT_COMMAND / ZDOTDIR)')
  end
  local shell = vim.fn.fnamemodify(vim.o.shell, ':t')
  if shell ~= 'bash' and shell ~= 'zsh' then
    vim.health.info(("'shell' is %s: only bash and zsh send prompt marks; use :ProactiveRun or `:terminal {cmd}`"):format(shell))
  end
  vim.health.info(('%d terminal(s) with prompt marks now; %d command(s) reported (terminals, :make, :!, :ProactiveRun)'):format(
    terminal.integrated_count(), p.reported()))
end

return M
