/**
 * The Redis Functions library that updates rows on the server, atomically: a function runs
 * alone on its node, so two processes training the same rows never interleave inside one
 * block's update. The source is a constant of this package (never built from user strings);
 * it is loaded once per master (`FUNCTION LOAD`, reloaded only when a node lacks it) and
 * replicated to replicas by Redis itself.
 *
 * Every function takes the keys of one block (same hash tag, so same slot): the row hash
 * `…:w` and, for optimizers, the state hash `…:s` beside it. Rows are packed float32
 * little-endian; row numbers inside the block come packed as uint32. Lua computes in
 * float64 and rounds each stored value to float32 (`struct.pack('<f')`), as a Float32Array
 * does, with the optimizer state rounded to float32 where core's optimizers round it.
 *
 * @internal
 */
export const LIBRARY_NAME = 'embedding_layer_v2';

/** @internal The Lua source of {@link LIBRARY_NAME}. */
export const LIBRARY_SOURCE = `#!lua name=${LIBRARY_NAME}
local CHUNK = 100
local formats = {}
local function fmt(k)
  local f = formats[k]
  if not f then f = '<' .. string.rep('f', k); formats[k] = f end
  return f
end
-- n float32 values of s from byte pos (1-based) into a new table
local function unpackf(s, n, pos)
  local out = {}
  local i = 0
  while i < n do
    local k = math.min(CHUNK, n - i)
    local vals = { struct.unpack(fmt(k), s, pos) }
    for j = 1, k do out[i + j] = vals[j] end
    pos = pos + 4 * k
    i = i + k
  end
  return out
end
local function packf(t, n)
  local parts = {}
  local i = 0
  while i < n do
    local k = math.min(CHUNK, n - i)
    parts[#parts + 1] = struct.pack(fmt(k), unpack(t, i + 1, i + k))
    i = i + k
  end
  return table.concat(parts)
end
local function fround(x)
  return (struct.unpack('<f', struct.pack('<f', x)))
end
local function fields_of(packed)
  local n = #packed / 4
  local names = {}
  for i = 1, n do names[i] = tostring((struct.unpack('<I4', packed, (i - 1) * 4 + 1))) end
  return names, n
end
local function read_rows(key, names, n, rb)
  if redis.call('EXISTS', key) == 0 then
    return nil, 'EL_STALE block ' .. key .. ' does not exist (the table was replaced or dropped)'
  end
  local rows = redis.call('HMGET', key, unpack(names))
  for i = 1, n do
    if not rows[i] or #rows[i] ~= rb then
      return nil, 'EL_CORRUPT row ' .. names[i] .. ' of ' .. key .. ' is missing or not ' .. rb .. ' bytes'
    end
  end
  return rows
end

-- el_add: w[row] += delta (float32 storage). keys: w. args: d, rows (uint32), deltas (float32)
local function el_add(keys, args)
  local d = tonumber(args[1])
  local names, n = fields_of(args[2])
  local deltas = args[3]
  if #deltas ~= n * d * 4 then return redis.error_reply('EL_ARGS deltas are ' .. #deltas .. ' bytes, expected ' .. (n * d * 4)) end
  if n == 0 then return 0 end
  local rows, err = read_rows(keys[1], names, n, d * 4)
  if not rows then return redis.error_reply(err) end
  local out = {}
  for i = 1, n do
    local w = unpackf(rows[i], d, 1)
    local g = unpackf(deltas, d, (i - 1) * d * 4 + 1)
    for c = 1, d do w[c] = w[c] + g[c] end
    out[2 * i - 1] = names[i]
    out[2 * i] = packf(w, d)
  end
  redis.call('HSET', keys[1], unpack(out))
  return n
end

-- el_step: one optimizer step on the given rows with their gradients, the state in s beside w.
-- keys: w, s. args: kind, d, rows (uint32), grads (float32), step, lr, a, b, c
--   sgd:     w -= lr * g
--   adagrad: acc = fround(acc + g^2) (acc starts at a = initial_accumulator_value); w -= lr * g / sqrt(acc + b) (b = epsilon)
--   rmsprop: v = fround(rho * v * rho^idle + (1 - rho) g^2) (a = rho, b = epsilon, c = centered 0/1);
--            centered: mg likewise with g; w -= lr * g / sqrt(v [- mg^2] + epsilon)
local function el_step(keys, args)
  local kind = args[1]
  local d = tonumber(args[2])
  local names, n = fields_of(args[3])
  local grads = args[4]
  local step = tonumber(args[5])
  local lr = tonumber(args[6])
  local a = tonumber(args[7])
  local b = tonumber(args[8])
  local centered = tonumber(args[9]) == 1
  if #grads ~= n * d * 4 then return redis.error_reply('EL_ARGS gradients are ' .. #grads .. ' bytes, expected ' .. (n * d * 4)) end
  if kind ~= 'sgd' and kind ~= 'adagrad' and kind ~= 'rmsprop' then return redis.error_reply('EL_ARGS unknown optimizer ' .. kind) end
  if n == 0 then return 0 end
  local rows, err = read_rows(keys[1], names, n, d * 4)
  if not rows then return redis.error_reply(err) end
  local snames = {}
  for i = 1, n do snames[i] = kind .. ':' .. names[i] end
  local state = nil
  if kind ~= 'sgd' then state = redis.call('HMGET', keys[2], unpack(snames)) end
  local out, sout = {}, {}
  for i = 1, n do
    local w = unpackf(rows[i], d, 1)
    local g = unpackf(grads, d, (i - 1) * d * 4 + 1)
    if kind == 'sgd' then
      for c = 1, d do w[c] = w[c] + fround(-(lr * g[c])) end
    elseif kind == 'adagrad' then
      local acc
      if state[i] then acc = unpackf(state[i], d, 1) else acc = {}; for c = 1, d do acc[c] = fround(a) end end
      for c = 1, d do
        local s = fround(acc[c] + g[c] * g[c])
        acc[c] = s
        w[c] = w[c] + fround(-(lr * g[c]) / math.sqrt(s + b))
      end
      sout[#sout + 1] = snames[i]
      sout[#sout + 1] = packf(acc, d)
    else
      local last, v, mg = 0, nil, nil
      local width = centered and 2 * d or d
      if state[i] then
        last = (struct.unpack('<d', state[i], 1))
        local all = unpackf(state[i], width, 9)
        v = {}
        for c = 1, d do v[c] = all[c] end
        if centered then mg = {}; for c = 1, d do mg[c] = all[d + c] end end
      else
        v = {}
        for c = 1, d do v[c] = 0 end
        if centered then mg = {}; for c = 1, d do mg[c] = 0 end end
      end
      local idle = step - last - 1
      local decay = 1
      if last > 0 and idle > 0 then decay = a ^ idle end
      for c = 1, d do
        local vc = v[c]
        if decay ~= 1 then vc = fround(vc * decay) end
        vc = fround(a * vc + (1 - a) * g[c] * g[c])
        v[c] = vc
        local den = vc + b
        if centered then
          local m = mg[c]
          if decay ~= 1 then m = fround(m * decay) end
          m = fround(a * m + (1 - a) * g[c])
          mg[c] = m
          den = vc - m * m + b
        end
        w[c] = w[c] + fround(-((lr * g[c]) / math.sqrt(den)))
      end
      local packed = struct.pack('<d', step) .. packf(v, d)
      if centered then packed = packed .. packf(mg, d) end
      sout[#sout + 1] = snames[i]
      sout[#sout + 1] = packed
    end
    out[2 * i - 1] = names[i]
    out[2 * i] = packf(w, d)
  end
  redis.call('HSET', keys[1], unpack(out))
  if #sout > 0 then redis.call('HSET', keys[2], unpack(sout)) end
  return n
end

-- el_commit: switch a table's pointer to a new version. keys: meta.
-- args: mode ('create' | 'replace'), version, input_dim, output_dim, storage, block_rows, layout.
-- create: when the table already exists returns its current version (the caller drops its own);
-- replace: the shape must match. Returns { previous version or '', current version }.
local function el_commit(keys, args)
  local meta = keys[1]
  local mode, version = args[1], args[2]
  local cur = redis.call('HMGET', meta, 'version', 'input_dim', 'output_dim', 'storage', 'block_rows', 'layout')
  if cur[1] then
    if cur[2] ~= args[3] or cur[3] ~= args[4] or cur[4] ~= args[5] or cur[5] ~= args[6] or cur[6] ~= args[7] then
      return redis.error_reply('EL_SHAPE ' .. meta .. ' holds input_dim=' .. tostring(cur[2]) .. ' output_dim=' .. tostring(cur[3]) ..
        ' storage=' .. tostring(cur[4]) .. ' block_rows=' .. tostring(cur[5]) .. ' layout=' .. tostring(cur[6]))
    end
    if mode == 'create' then return { cur[1], cur[1] } end
  end
  redis.call('HSET', meta, 'version', version, 'input_dim', args[3], 'output_dim', args[4], 'storage', args[5], 'block_rows', args[6], 'layout', args[7])
  return { cur[1] or '', version }
end

-- el_gather: rows of several blocks of one hash-tag group, concatenated in order. keys: the blocks.
-- args: row bytes, counts (uint32 per key), rows (uint32, all keys' rows in order)
local function el_gather(keys, args)
  local rb = tonumber(args[1])
  local counts, fields = args[2], args[3]
  local out = {}
  local pos = 0
  for k = 1, #keys do
    local n = struct.unpack('<I4', counts, (k - 1) * 4 + 1)
    local names = {}
    for i = 1, n do names[i] = tostring((struct.unpack('<I4', fields, (pos + i - 1) * 4 + 1))) end
    pos = pos + n
    local rows = redis.call('HMGET', keys[k], unpack(names))
    for i = 1, n do
      local r = rows[i]
      if not r or #r ~= rb then return redis.error_reply('EL_STALE row ' .. names[i] .. ' of ' .. keys[k] .. ' is missing') end
      out[#out + 1] = r
    end
  end
  return table.concat(out)
end

redis.register_function{ function_name = 'el_gather', callback = el_gather, flags = { 'no-writes' } }
redis.register_function('el_add', el_add)
redis.register_function('el_step', el_step)
redis.register_function('el_commit', el_commit)
`;
