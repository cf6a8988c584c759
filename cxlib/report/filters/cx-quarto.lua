--[[
cx-quarto.lua: the CX Workbook report's Quarto filter (named in _quarto.yml; the pandoc
route has its own, cx-notebook.lua).

Quarto 1.7 drops, in Typst, the caption of a table that has no cross-reference label
(a `: caption` under a Markdown table that a cell prints without `#| label: tbl-...`),
so the PDF would lose text that the HTML shows.  The pandoc route prints such a caption
above its table, unnumbered; this filter does the same for Quarto's Typst output.
Labelled tables (`{#tbl-x}` on the table, or the label of their cell) are Quarto's.
]]

if not quarto.doc.is_format("typst") then
  return {}
end

return {
  {
    traverse = "topdown",
    Div = function(div)
      if div.identifier:match("^tbl%-") then
        return div, false -- a labelled cell: Quarto numbers and captions its table
      end
    end,
    Table = function(tbl)
      local long = tbl.caption.long
      if tbl.identifier ~= "" or long == nil or #long == 0 then
        return nil
      end
      local text = pandoc.write(pandoc.Pandoc(long), "typst")
      tbl.caption = pandoc.Caption()
      return {
        pandoc.RawBlock("typst", "#align(center, text(size: 9pt)[" .. text:gsub("%s+$", "") .. "])"),
        tbl,
      }
    end,
  },
}
