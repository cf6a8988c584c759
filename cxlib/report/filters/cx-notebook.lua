--[[
cx-notebook.lua: turn pandoc's reading of an executed Jupyter notebook into a report.

Used by cxlib.report.render (pandoc fallback when Quarto is absent).  The Python
side has already: assembled the notebooks, dropped parameter cells, stderr
streams and `include: false` cells, moved each code cell's `#|` options into
cell metadata (which pandoc exposes as Div attributes `cx-echo`, `cx-label`,
`cx-fig-cap`, `cx-tbl-cap`, `cx-fig-alt`, `cx-output`), and kept one MIME type
per output.  This filter:

  * unwraps cell Divs; hides code unless `cx-echo` is "true";
  * parses `text/markdown` outputs (RawBlock "markdown") as Markdown, and turns
    HTML tables (pandas) into real pandoc tables, so Typst gets a table too;
  * wraps labelled figure cells in Figure blocks and puts labels/captions on tables;
  * numbers figures and tables in document order ("Figure 3: ...");
  * resolves `@fig-x` / `@tbl-x` citations into links reading "Figure 3";
  * for Typst, places the table of contents after the first chapter, so the
    first page is the title and the first chapter (the scorecard).
]]

local is_typst = FORMAT:match("typst") ~= nil
local KIND = { fig = "Figure", tbl = "Table" }

local function warn(msg)
  io.stderr:write("[cx-notebook] WARNING: " .. msg .. "\n")
end

-- [hostile data, issue 19] Text printed by a notebook is parsed as Markdown, and Markdown lets raw HTML,
-- raw Typst/LaTeX (`x`{=typst}), script links and remote images through. cxlib escapes the data it
-- prints (cxlib.escape); as a second line of defence nothing raw from an output reaches the report:
-- raw elements become their literal text, links with a script or data scheme and images from the
-- network become their text.
local UNSAFE_LINK = { "^%s*javascript:", "^%s*vbscript:", "^%s*data:" }

local function unsafe_target(target)
  local lower = target:lower()
  for _, pattern in ipairs(UNSAFE_LINK) do
    if lower:match(pattern) then return true end
  end
  return false
end

-- event handlers (onclick=...), inline styles and script URLs in attributes: Markdown's {key=value}
-- and <div onclick=...> (native divs and spans) would write them into the HTML as they are
local function clean_attributes(el)
  if el.attributes == nil then return el end
  local keep = {}
  for k, v in pairs(el.attributes) do
    local key = k:lower()
    if not (key:match("^on") or key == "style" or key == "srcdoc" or unsafe_target(v)) then keep[k] = v end
  end
  el.attributes = keep
  return el
end

local function literal_raw(blocks)
  return pandoc.Blocks(blocks):walk({
    RawInline = function(r) return pandoc.Str(r.text) end,
    RawBlock = function(r) return pandoc.Para({ pandoc.Str((r.text:gsub("%s+", " "))) }) end,
    Link = function(l)
      if unsafe_target(l.target) then return l.content end
      return clean_attributes(l)
    end,
    Image = function(img)
      if img.src:match("^%a[%w+.-]*:") or img.src:match("^//") then return img.caption end
      return clean_attributes(img)
    end,
    Div = clean_attributes, Span = clean_attributes, Code = clean_attributes, CodeBlock = clean_attributes,
    Header = clean_attributes, Table = clean_attributes, Figure = clean_attributes,
  })
end

local function md_blocks(text)
  if text == nil or text == "" then return pandoc.List() end
  return literal_raw(pandoc.read(text, "markdown").blocks)
end

local function caption_inlines(text)
  local blocks = md_blocks(text)
  if #blocks == 0 then return pandoc.Inlines({}) end
  return pandoc.utils.blocks_to_inlines(blocks)
end

-- One output Div (class "output") -> report blocks.
local function output_blocks(div, asis)
  local out = pandoc.List()
  for _, b in ipairs(div.content) do
    if b.t == "RawBlock" and (b.format == "markdown" or b.format == "ipynb") then
      out:extend(md_blocks(b.text))
    elseif b.t == "RawBlock" and b.format == "html" then
      if b.text:find("<table") then
        -- keep the table, drop pandas' <style scoped> and other raw HTML around it
        out:extend(pandoc.read(b.text, "html").blocks:walk({
          RawBlock = function() return {} end,
          RawInline = function() return {} end,
        }))
      elseif not is_typst then
        out:insert(b)
      end
    elseif b.t == "RawBlock" and b.format == "latex" then
      if not is_typst then out:insert(b) end
    elseif b.t == "CodeBlock" then
      if asis then
        out:extend(md_blocks(b.text))
      else
        b.classes = pandoc.List({ "cell-output" })
        out:insert(b)
      end
    else
      out:insert(b)
    end
  end
  return out
end

-- First table among blocks (also nested in Divs), or nil.
local function first_table(blocks)
  local found = nil
  pandoc.Blocks(blocks):walk({
    Table = function(t)
      if found == nil then found = t end
    end,
  })
  return found
end

-- Cell metadata arrive as Div attributes; pandoc JSON-encodes values that
-- would otherwise read as numbers or booleans ("\"2025\""), so decode those.
local function cell_attrs(div)
  local out = {}
  for k, v in pairs(div.attributes) do
    if v:match('^".*"$') then
      local ok, decoded = pcall(pandoc.json.decode, v)
      out[k] = (ok and type(decoded) == "string") and decoded or v
    else
      out[k] = v
    end
  end
  return out
end

local function code_cell(div)
  local attrs = cell_attrs(div)
  local echo = attrs["cx-echo"] == "show"
  local asis = attrs["cx-output"] == "asis"
  local label = attrs["cx-label"]
  local code, outputs = pandoc.List(), pandoc.List()
  for _, b in ipairs(div.content) do
    if b.t == "CodeBlock" then
      if echo then code:insert(b) end
    elseif b.t == "Div" and b.classes:includes("output") then
      outputs:extend(output_blocks(b, asis))
    else
      outputs:insert(b)
    end
  end

  local fig_cap = attrs["cx-fig-cap"]
  local is_fig = label ~= nil and label:match("^fig%-") ~= nil
  if is_fig and #outputs == 0 then
    warn("cell labelled '" .. label .. "' has no displayable output (an object-API Figure left as the "
      .. "last expression? use cxlib.report.figures.show_figure)")
  end
  if (is_fig or fig_cap ~= nil) and #outputs > 0 then
    local cap = caption_inlines(fig_cap)
    local alt = attrs["cx-fig-alt"] or pandoc.utils.stringify(cap)
    outputs = pandoc.Blocks(outputs):walk({
      Image = function(img)
        if #img.caption == 0 then img.caption = pandoc.Inlines({ pandoc.Str(alt) }) end
        return img
      end,
    })
    local fig = pandoc.Figure(outputs, { long = { pandoc.Plain(cap) } },
      pandoc.Attr(is_fig and label or "", { "cx-figure" }))
    outputs = pandoc.List({ fig })
  elseif label ~= nil and label:match("^tbl%-") then
    local tbl_cap = attrs["cx-tbl-cap"]
    if first_table(outputs) == nil then
      warn("cell labelled '" .. label .. "' has no table output; label ignored")
    else
      local done = false
      outputs = pandoc.Blocks(outputs):walk({
        Table = function(t)
          if done then return nil end
          done = true
          t.identifier = label
          if tbl_cap ~= nil then t.caption = { long = { pandoc.Plain(caption_inlines(tbl_cap)) } } end
          return t
        end,
      })
    end
  elseif label ~= nil then
    outputs = pandoc.List({ pandoc.Div(outputs, pandoc.Attr(label)) })
  end
  code:extend(outputs)
  return code
end

local function unwrap_cells(blocks)
  local out = pandoc.List()
  for _, b in ipairs(blocks) do
    if b.t == "Div" and b.classes:includes("cell") then
      if b.classes:includes("code") then
        out:extend(code_cell(b))
      elseif b.classes:includes("raw") then
        for _, r in ipairs(b.content) do
          if not (r.t == "RawBlock" and r.format == "ipynb") then out:insert(r) end
        end
      else
        out:extend(b.content)
      end
    else
      out:insert(b)
    end
  end
  return out
end

local function prefix_caption(caption, words)
  local long = caption.long or pandoc.Blocks({})
  local lead = pandoc.Inlines({ pandoc.Str(words) })
  if #long == 0 or #pandoc.utils.blocks_to_inlines(long) == 0 then
    return { long = { pandoc.Plain(lead) }, short = caption.short }
  end
  lead:extend({ pandoc.Str(":"), pandoc.Space() })
  local first = long[1]
  if first.t == "Plain" or first.t == "Para" then
    first.content = lead .. first.content
  else
    long:insert(1, pandoc.Plain(lead))
  end
  caption.long = long
  return caption
end

local function number_floats(doc, refs)
  local count = { fig = 0, tbl = 0 }
  local function register(id, kind)
    if refs[id] ~= nil then
      warn("label '" .. id .. "' is used twice; the second one is not numbered")
      return nil
    end
    count[kind] = count[kind] + 1
    refs[id] = { kind = KIND[kind], num = tostring(count[kind]) }
    return KIND[kind] .. " " .. refs[id].num
  end
  return doc:walk({
    traverse = "topdown",
    Figure = function(f)
      if f.identifier:match("^fig%-") then
        local words = register(f.identifier, "fig")
        if words then f.caption = prefix_caption(f.caption, words) end
      end
      return f
    end,
    Table = function(t)
      if t.identifier:match("^tbl%-") then
        local words = register(t.identifier, "tbl")
        if words then t.caption = prefix_caption(t.caption, words) end
      end
      return t
    end,
  })
end

local function resolve_refs(doc, refs)
  return doc:walk({
    Cite = function(cite)
      local out = pandoc.Inlines({})
      for i, c in ipairs(cite.citations) do
        if i > 1 then out:extend({ pandoc.Str(","), pandoc.Space() }) end
        local r = refs[c.id]
        if r ~= nil then
          local text = (c.mode == "SuppressAuthor") and r.num or (r.kind .. "\u{00A0}" .. r.num)
          out:insert(pandoc.Link(text, "#" .. c.id))
        elseif c.id:match("^fig%-") or c.id:match("^tbl%-") then
          warn("unresolved cross-reference @" .. c.id)
          out:insert(pandoc.Strong({ pandoc.Str("?@" .. c.id) }))
        else
          return cite.content -- an ordinary "@word": leave the text as written
        end
      end
      return out
    end,
  })
end

local function place_typst_toc(blocks, meta)
  if not is_typst or meta["cx-toc"] == false then return blocks end
  local depth = meta["toc-depth"] and pandoc.utils.stringify(meta["toc-depth"]) or "2"
  local toc = pandoc.RawBlock("typst", "#cx-toc(depth: " .. depth .. ")")
  local seen = 0
  for i, b in ipairs(blocks) do
    if b.t == "Header" and b.level == 1 then
      seen = seen + 1
      if seen == 2 then
        blocks:insert(i, toc)
        return blocks
      end
    end
  end
  blocks:insert(1, pandoc.RawBlock("typst", "#cx-toc(depth: " .. depth .. ", newpage: false)"))
  return blocks
end

-- Notebook outputs carry their pixel size (show_figure records it); pandoc turns it into inches at
-- 96 dpi, so a 1,500-pixel figure would be forced 15.6 in wide on an A4 page. Typst needs no size:
-- an image without one keeps its natural size and is scaled down to fit the text column.
local function drop_typst_image_sizes(blocks)
  if not is_typst then return blocks end
  return pandoc.Blocks(blocks):walk({
    Image = function(img)
      img.attributes.width = nil
      img.attributes.height = nil
      return img
    end,
  })
end

-- [hostile data, issue 19] A link to an anchor the report does not have ("[x](#nowhere)" in printed
-- text) would stop the Typst build ("label does not exist"): it becomes its text, with a warning.
local function drop_dangling_links(doc)
  local ids = {}
  doc:walk({
    Block = function(b) if b.identifier ~= nil and b.identifier ~= "" then ids[b.identifier] = true end end,
    Inline = function(i) if i.identifier ~= nil and i.identifier ~= "" then ids[i.identifier] = true end end,
  })
  return doc:walk({
    Link = function(l)
      local anchor = l.target:match("^#(.+)$")
      if anchor ~= nil and not ids[anchor] then
        warn("link to a missing anchor #" .. anchor .. " shown as text")
        return l.content
      end
      return l
    end,
  })
end

function Pandoc(doc)
  doc.blocks = drop_typst_image_sizes(unwrap_cells(doc.blocks))
  local refs = {}
  doc = number_floats(doc, refs)
  doc = resolve_refs(doc, refs)
  doc = drop_dangling_links(doc)
  doc.blocks = place_typst_toc(doc.blocks, doc.meta)
  return doc
end
