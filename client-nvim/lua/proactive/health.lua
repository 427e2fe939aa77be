--- :checkhealth proactive
local M = {}

function M.check()
  vim.health.start('proactive')
  if vim.fn.has('nvim-0.11') == 1 then
    vim.health.ok('Neovim ' .. tostring(vim.version()))
  else
    vim.health.error('Neovim 0.11 or newer is needed (vim.lsp.config / vim.lsp.enable)')
  end
  local config = vim.lsp.config.proactive
  if not config then
    vim.health.warn("require('proactive').setup() has not been called")
    return
  end
  local exe = config.cmd and config.cmd[1]
  if type(exe) == 'string' and vim.fn.executable(exe) == 1 then
    vim.health.ok('server command: ' .. table.concat(config.cmd, ' '))
  else
    vim.health.error(('server command not found: %s'):format(tostring(exe)), {
      'pip install proactive-ls, or pass cmd = {"/path/to/proactive-ls", "serve"} to setup()',
    })
  end
  local clients = vim.lsp.get_clients({ name = 'proactive' })
  if #clients == 0 then
    vim.health.info('no proactive client running (it starts when a file is opened)')
  end
  for _, c in ipairs(clients) do
    vim.health.ok(('client %d: root %s, %s'):format(c.id, tostring(c.root_dir), c.initialized and 'initialized' or 'starting'))
  end
end

return M
