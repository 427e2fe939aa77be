--- A bounded tail of a stream of text: keeps the last `limit` bytes, never starting inside a
--- UTF-8 character. Output is kept verbatim; the server strips escape sequences.
local M = {}

M.DEFAULT_LIMIT = 64 * 1024

---@class proactive.Tail
---@field limit integer
---@field private chunks string[]
---@field private size integer
local Tail = {}
Tail.__index = Tail

---@param limit? integer bytes to keep (default 64 KiB)
---@return proactive.Tail
function M.new(limit)
  limit = limit or M.DEFAULT_LIMIT
  assert(limit > 0, 'limit must be positive')
  return setmetatable({ limit = limit, chunks = {}, size = 0 }, Tail)
end

---@param text string?
function Tail:push(text)
  if not text or text == '' then
    return
  end
  if #text >= self.limit then
    self.chunks = { text:sub(#text - self.limit + 1) }
    self.size = self.limit
    return
  end
  table.insert(self.chunks, text)
  self.size = self.size + #text
  while self.size > self.limit do
    local head = self.chunks[1]
    local excess = self.size - self.limit
    if #head <= excess then
      table.remove(self.chunks, 1)
      self.size = self.size - #head
    else
      self.chunks[1] = head:sub(excess + 1)
      self.size = self.size - excess
    end
  end
end

---@return string the kept text, without a character cut at the front of the window
function Tail:text()
  local s = table.concat(self.chunks)
  local start = 1
  -- UTF-8 continuation bytes are 0x80..0xBF: skip those the cut landed on.
  while start <= #s and start <= 4 do
    local b = s:byte(start)
    if b < 0x80 or b > 0xBF then
      break
    end
    start = start + 1
  end
  return s:sub(start)
end

---@return integer
function Tail:bytes()
  return self.size
end

return M
