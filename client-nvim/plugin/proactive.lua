-- proactive-ls for Neovim: commands, <Plug> mappings, and the server set up with vim.g.proactive.
-- Everything heavy is required on first use. `require('proactive').setup(opts)` is optional; it
-- reconfigures. Set vim.g.proactive = false before this file runs to do nothing at all.
if vim.g.loaded_proactive or vim.fn.has('nvim-0.11') == 0 then
  return
end
vim.g.loaded_proactive = true
if vim.g.proactive == false or vim.g.proactive == 0 then
  return
end

local function p()
  return require('proactive')
end

local function id_arg(a)
  return a.args ~= '' and a.args or nil
end

local function complete_ids(lead)
  return vim.tbl_filter(function(id)
    return id:sub(1, #lead) == lead
  end, p().ids())
end

local cmd = vim.api.nvim_create_user_command
cmd('ProactiveAccept', function(a)
  p().accept(id_arg(a))
end, { nargs = '?', complete = complete_ids, desc = 'Accept the latest (or the given) proactive proposal' })
cmd('ProactiveReject', function(a)
  p().reject(id_arg(a))
end, { nargs = '?', complete = complete_ids, desc = 'Reject the latest (or the given) proactive proposal' })
cmd('ProactivePrompt', function(a)
  p().prompt(id_arg(a))
end, { nargs = '?', complete = complete_ids, desc = 'Answer the latest proactive proposal with a menu' })
cmd('ProactiveProposeNow', function()
  p().propose_now()
end, { desc = 'Ask proactive-ls for a proposal now (also brings back a kind it learnt you turn down)' })
cmd('ProactiveStatus', function()
  p().status()
end, { desc = 'Show proactive-ls counts and snooze state' })
cmd('ProactiveSnooze', function(a)
  local minutes = tonumber(a.args)
  if not minutes or minutes <= 0 then
    vim.notify('usage: :ProactiveSnooze {minutes}', vim.log.levels.ERROR, { title = 'proactive' })
    return
  end
  p().snooze(minutes)
end, { nargs = 1, desc = 'Pause proactive proposals for {minutes}' })
cmd('ProactiveRun', function(a)
  p().run(vim.fn.expandcmd(a.args))
end, { nargs = '+', complete = 'shellcmd', desc = 'Run a shell command and let proactive-ls see how it went' })

-- <Plug> mappings, in every mode where one could want them (accepting leaves insert/terminal mode).
local plug = {
  ['<Plug>(proactive-accept)'] = function()
    p().accept()
  end,
  ['<Plug>(proactive-reject)'] = function()
    p().reject()
  end,
  ['<Plug>(proactive-prompt)'] = function()
    p().prompt()
  end,
  ['<Plug>(proactive-snooze)'] = function()
    p().snooze(tonumber(vim.g.proactive_snooze_minutes) or 30)
  end,
}
for lhs, fn in pairs(plug) do
  vim.keymap.set({ 'n', 'i', 't', 'x' }, lhs, fn, { desc = lhs:match('%((.-)%)') })
end

if not p().configured() then
  p().setup()
end
