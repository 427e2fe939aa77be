-- `vim.lsp.enable('proactive_ls')`: the proactive-ls server, configured from require('proactive')
-- (its setup() options, or vim.g.proactive).
return require('proactive').lsp_config()
