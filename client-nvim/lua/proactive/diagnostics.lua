--- Diagnostics of other sources, converted to LSP for `proactive/diagnostics`.
local M = {}

--- Namespaces this plugin must not forward: the diagnostics of the proactive client itself.
---@param client_name string
---@return table<integer, true>
function M.own_namespaces(client_name)
  local own = {}
  local prefix = 'vim.lsp.' .. client_name .. '.'
  for name, id in pairs(vim.api.nvim_get_namespaces()) do
    if name:sub(1, #prefix) == prefix then
      own[id] = true
    end
  end
  return own
end

--- A byte column on a line as a column in the client's position encoding.
---@param line string?
---@param col integer 0-based byte column
---@param encoding string 'utf-8'|'utf-16'|'utf-32'
local function encode_col(line, col, encoding)
  if not line or encoding == 'utf-8' then
    return col
  end
  col = math.min(col, #line)
  local ok, idx = pcall(vim.str_utfindex, line, encoding, col, false)
  return ok and idx or col
end

---@param bufnr integer
---@param lnum integer 0-based
---@return string?
local function buf_line(bufnr, lnum)
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    return nil
  end
  return vim.api.nvim_buf_get_lines(bufnr, lnum, lnum + 1, false)[1]
end

--- One vim.Diagnostic as an LSP Diagnostic.
---@param bufnr integer
---@param d vim.Diagnostic
---@param encoding string
---@return table
function M.to_lsp(bufnr, d, encoding)
  local end_lnum = d.end_lnum or d.lnum
  local end_col = d.end_col or d.col
  local out = {
    range = {
      start = { line = d.lnum, character = encode_col(buf_line(bufnr, d.lnum), d.col, encoding) },
      ['end'] = { line = end_lnum, character = encode_col(buf_line(bufnr, end_lnum), end_col, encoding) },
    },
    message = d.message,
    severity = d.severity or vim.diagnostic.severity.ERROR,
  }
  if d.source then
    out.source = d.source
  end
  if type(d.code) == 'string' or type(d.code) == 'number' then
    out.code = d.code
  end
  return out
end

--- The `proactive/diagnostics` params for a buffer: every diagnostic but our own.
---@param bufnr integer
---@param client_name string
---@param encoding string
---@return table? params, nil when the buffer is not a file
function M.params(bufnr, client_name, encoding)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  local uri = vim.uri_from_bufnr(bufnr)
  if uri:sub(1, 7) ~= 'file://' then
    return nil
  end
  local own = M.own_namespaces(client_name)
  local items = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if not own[d.namespace] and not (type(d.source) == 'string' and d.source:match('^proactive')) then
      table.insert(items, M.to_lsp(bufnr, d, encoding))
    end
  end
  return { uri = uri, diagnostics = items }
end

return M
