//! Standalone HTML documents for glassheap.page_html and glassheap.record_html: an 8 kB
//! heap or glassheap page drawn to scale (page header, line pointers, free space, tuples,
//! special space; hovering a line pointer or a tuple highlights both and shows the
//! tuple's decoded header), and a WAL record's bytes broken down field by field.
//!
//! Pure: page bytes (or a record's bytes and its decoded JSON) in, a `String` out. The
//! document needs no network: styles and script are inline, no fonts or images are
//! loaded. Every text taken from the page or the record is escaped for HTML
//! ([`esc`]), and the JSON the script reads is embedded so that it cannot end its
//! `<script>` element ([`script_json`]).

use crate::durability::LsnStyle;
use crate::items::{page_items, Am, ItemRow};
use crate::xlogrecord::{layout, Field};
use glassheap_format::page::{PageHeader, LP_DEAD, LP_NORMAL, LP_REDIRECT};
use glassheap_format::{BLCKSZ, PAGE_HEADER_SIZE};
use serde_json::Value;
use std::fmt::Write;

/// Bytes drawn per row, and the size of one byte's cell in pixels.
pub const BYTES_PER_ROW: usize = 128;
const CELL_W: usize = 6;
const CELL_H: usize = 9;

/// HTML-escapes text for element content and quoted attribute values. (Five
/// characters; a crate for this would add a dependency for one `match`.)
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON text safe inside `<script type="application/json">`: `<`, `>` and `&` occur
/// only inside JSON strings, where their `\u` escapes mean the same.
pub fn script_json(v: &Value) -> String {
    serde_json::to_string(v)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The rectangles (x, y, w, h in pixels) that draw bytes `start..end` of the page, one
/// per row the range touches.
pub fn segments(start: usize, end: usize) -> Vec<(usize, usize, usize, usize)> {
    let (start, end) = (start.min(BLCKSZ), end.min(BLCKSZ));
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let row = at / BYTES_PER_ROW;
        let row_end = ((row + 1) * BYTES_PER_ROW).min(end);
        out.push((
            (at % BYTES_PER_ROW) * CELL_W,
            row * CELL_H,
            (row_end - at) * CELL_W,
            CELL_H,
        ));
        at = row_end;
    }
    out
}

fn rects(out: &mut String, start: usize, end: usize, attrs: &str, title: &str) {
    for (x, y, w, h) in segments(start, end) {
        let _ = write!(
            out,
            r#"<rect x="{x}" y="{y}" width="{w}" height="{h}"{attrs}><title>{}</title></rect>"#,
            esc(title)
        );
    }
}

const STYLE: &str = r#"
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 8px 0 4px; }
.sub { color: #555; margin: 0 0 12px; }
.wrap { display: flex; gap: 16px; align-items: flex-start; }
svg { border: 1px solid #888; background: #eee; flex: none; }
rect.header { fill: #9e9e9e; } rect.lp { fill: #3f7fd9; stroke: #fff; stroke-width: 0.5; }
rect.lp.redirect { fill: #a46ad1; } rect.lp.dead { fill: #555; } rect.lp.unused { fill: #bcd; }
rect.free { fill: #fff; } .tuple rect { fill: #5cb85c; stroke: #2d6a2d; stroke-width: 0.3; }
.tuple.dead-version rect { fill: #c9a227; } .tuple.bad rect { fill: #d9534f; }
.special rect { fill: #b07cc6; }
.hl rect, rect.hl { fill: #ff7f0e !important; }
#side { min-width: 320px; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: 1px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; }
tr.hl td { background: #ffe0c0; }
.legend span { display: inline-block; padding: 0 6px; margin-right: 4px; color: #fff; }
.problems { color: #a00; }
code, td.mono, .hex { font-family: ui-monospace, monospace; }
.hex span { padding: 0 1px; } .hex span.hl { background: #ff7f0e; color: #fff; }
.p-header { background: #ddd; } .p-blockhdr { background: #cfe0f7; } .p-mainhdr { background: #e5d3f0; }
.p-image { background: #f7e3c6; } .p-data { background: #d3f0d3; } .p-main { background: #f0d3d3; } .p-other { background: #eee; }
pre { background: #f7f7f7; padding: 8px; overflow: auto; max-height: 480px; }
"#;

fn doc_start(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(title)
    );
}

/// One line pointer's fields as the side panel shows them: (name, value) pairs, the
/// names and values glassheap.page_items returns.
pub fn item_fields(r: &ItemRow) -> Vec<(String, String)> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    let mut f = vec![
        ("lp".to_string(), r.lp.to_string()),
        ("lp_flags".into(), r.lp_flags.to_string()),
        ("lp_off".into(), r.lp_off.to_string()),
        ("lp_len".into(), r.lp_len.to_string()),
        ("xmin".into(), opt(r.xmin.map(|v| v.to_string()))),
        ("xmax".into(), opt(r.xmax.map(|v| v.to_string()))),
        ("cid".into(), opt(r.cid.map(|v| v.to_string()))),
        (
            "ctid".into(),
            opt(r.ctid.map(|(b, o)| format!("({b},{o})"))),
        ),
        (
            "flags".into(),
            if r.xmin.is_some() {
                r.flags.join(" ")
            } else {
                String::new()
            },
        ),
        ("natts".into(), opt(r.natts.map(|v| v.to_string()))),
        ("hoff".into(), opt(r.hoff.map(|v| v.to_string()))),
        ("nulls".into(), opt(r.nulls.clone())),
        (
            "data_length".into(),
            opt(r.data.as_ref().map(|d| d.len().to_string())),
        ),
        ("problem".into(), opt(r.error.clone())),
    ];
    if let Some(Value::Object(h)) = &r.header {
        for (k, v) in h {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            f.push((format!("header.{k}"), v));
        }
    }
    f
}

/// The whole document for one page. `title` names the relation; `blkno` the block;
/// `l` how LSNs are printed.
pub fn page_html(page: &[u8], am: Am, blkno: u32, title: &str, l: LsnStyle) -> String {
    let am_name = match am {
        Am::Heap => "heap",
        Am::Glassheap => "glassheap",
    };
    let doc_title = format!("{title}, block {blkno} ({am_name} page)");
    let mut out = String::new();
    doc_start(&mut out, &doc_title);
    let _ = writeln!(
        out,
        "<h1>{}</h1><p class=\"sub\">{} bytes drawn to scale: {BYTES_PER_ROW} bytes a row, \
         one {CELL_W}&times;{CELL_H} cell per byte, byte 0 at the top left. Hover a line \
         pointer or a tuple.</p>",
        esc(&doc_title),
        page.len()
    );
    let mut problems: Vec<String> = Vec::new();
    if page.len() != BLCKSZ {
        problems.push(format!("the page has {} bytes, not {BLCKSZ}", page.len()));
    }
    let header = PageHeader::decode(page).ok();
    let items: Vec<ItemRow> = match &header {
        Some(h) if !h.is_new() => {
            problems.extend(h.problems(page.len()));
            page_items(page, am, blkno).unwrap_or_default()
        }
        Some(_) => {
            problems.push("a new (all-zero header) page: nothing to draw but bytes".into());
            Vec::new()
        }
        None => Vec::new(),
    };
    if !problems.is_empty() {
        out.push_str("<ul class=\"problems\" id=\"problems\">");
        for p in &problems {
            let _ = write!(out, "<li>{}</li>", esc(p));
        }
        out.push_str("</ul>\n");
    }
    out.push_str(
        "<p class=\"legend\"><span style=\"background:#9e9e9e\">page header</span>\
         <span style=\"background:#3f7fd9\">line pointer</span>\
         <span style=\"background:#fff;color:#222;border:1px solid #888\">free space</span>\
         <span style=\"background:#5cb85c\">tuple</span>\
         <span style=\"background:#c9a227\">tuple with xmax</span>\
         <span style=\"background:#b07cc6\">special space</span>\
         <span style=\"background:#eee;color:#222;border:1px solid #888\">unused</span></p>\n",
    );
    let len = page.len().min(BLCKSZ);
    let rows = len.div_ceil(BYTES_PER_ROW).max(1);
    let (w, h) = (BYTES_PER_ROW * CELL_W, rows * CELL_H);
    let _ = write!(
        out,
        "<div class=\"wrap\"><svg id=\"page\" xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">"
    );
    if let Some(hd) = &header {
        rects(
            &mut out,
            0,
            PAGE_HEADER_SIZE,
            " class=\"header\"",
            "page header: bytes 0..24",
        );
        if !hd.is_new() {
            let (lower, upper, special) =
                (hd.lower as usize, hd.upper as usize, hd.special as usize);
            if lower < upper {
                out.push_str("<g class=\"free\" id=\"free\">");
                rects(
                    &mut out,
                    lower,
                    upper,
                    " class=\"free\"",
                    &format!(
                        "free space: bytes {lower}..{upper} ({} bytes)",
                        upper - lower
                    ),
                );
                out.push_str("</g>");
            }
            if special < len {
                out.push_str("<g class=\"special\" id=\"special\">");
                rects(
                    &mut out,
                    special,
                    len,
                    "",
                    &format!("special space: bytes {special}..{len}"),
                );
                out.push_str("</g>");
            }
            for r in &items {
                let n = r.lp;
                if r.lp_flags_code() == LP_NORMAL && r.lp_len > 0 {
                    let class = if r.error.is_some() {
                        "tuple bad"
                    } else if r.xmax.is_some_and(|x| x != 0) {
                        "tuple dead-version"
                    } else {
                        "tuple"
                    };
                    let (s, e) = (r.lp_off as usize, r.lp_off as usize + r.lp_len as usize);
                    let _ = write!(
                        out,
                        "<g class=\"{class}\" id=\"tuple-{n}\" data-lp=\"{n}\">"
                    );
                    rects(
                        &mut out,
                        s,
                        e,
                        "",
                        &format!("tuple of line pointer {n}: bytes {s}..{e}"),
                    );
                    out.push_str("</g>");
                }
            }
            for r in &items {
                let n = r.lp as usize;
                let at = PAGE_HEADER_SIZE + 4 * (n - 1);
                let kind = match r.lp_flags_code() {
                    LP_NORMAL => "normal",
                    LP_REDIRECT => "redirect",
                    LP_DEAD => "dead",
                    _ => "unused",
                };
                // 4-byte line pointers at 4-byte offsets never cross a row: one rect each
                for (x, y, w, h) in segments(at, at + 4) {
                    let _ = write!(
                        out,
                        "<rect class=\"lp {kind}\" id=\"lp-{n}\" data-lp=\"{n}\" x=\"{x}\" \
                         y=\"{y}\" width=\"{w}\" height=\"{h}\"><title>line pointer {n}: {}, \
                         off {} len {}</title></rect>",
                        esc(r.lp_flags),
                        r.lp_off,
                        r.lp_len
                    );
                }
            }
        }
    }
    out.push_str("</svg>\n<div id=\"side\">");
    if let Some(hd) = &header {
        out.push_str("<h2>Page header</h2><table id=\"header\">");
        let fields: Vec<(&str, String)> = vec![
            ("lsn", l.fmt(hd.lsn)),
            ("checksum", hd.checksum.to_string()),
            ("flags", hd.flag_names().join(" ")),
            ("lower", hd.lower.to_string()),
            ("upper", hd.upper.to_string()),
            ("special", hd.special.to_string()),
            ("page_size", hd.page_size().to_string()),
            ("version", hd.layout_version().to_string()),
            ("prune_xid", hd.prune_xid.to_string()),
            ("free_space", hd.free_space().to_string()),
            ("line_pointers", hd.line_pointer_count().to_string()),
        ];
        for (k, v) in fields {
            let _ = write!(
                out,
                "<tr data-field=\"{k}\"><th>{k}</th><td class=\"mono\">{}</td></tr>",
                esc(&v)
            );
        }
        out.push_str("</table>");
    }
    out.push_str(
        "<div id=\"details\"><p>Hover a line pointer (or a tuple) to see its fields.</p></div>\
         </div></div>\n",
    );
    // The same fields as a plain table (readable without the script).
    out.push_str("<h2>Line pointers</h2><table id=\"items\"><tr>");
    let names: Vec<String> = items
        .first()
        .map(|r| {
            item_fields(r)
                .into_iter()
                .map(|(k, _)| k)
                .take(14)
                .collect()
        })
        .unwrap_or_default();
    for k in &names {
        let _ = write!(out, "<th>{}</th>", esc(k));
    }
    out.push_str("</tr>");
    for r in &items {
        let _ = write!(out, "<tr id=\"row-{}\" data-lp=\"{}\">", r.lp, r.lp);
        for (_, v) in item_fields(r).into_iter().take(14) {
            let _ = write!(out, "<td class=\"mono\">{}</td>", esc(&v));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>\n");
    let data: Vec<Value> = items
        .iter()
        .map(|r| {
            serde_json::json!({
                "lp": r.lp,
                "fields": item_fields(r),
            })
        })
        .collect();
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"items-data\">{}</script>\n<script>{PAGE_JS}</script>\n</body></html>\n",
        script_json(&Value::Array(data))
    );
    out
}

const PAGE_JS: &str = r#"
(function () {
  "use strict";
  var items = JSON.parse(document.getElementById("items-data").textContent);
  var byLp = {};
  items.forEach(function (it) { byLp[String(it.lp)] = it; });
  var details = document.getElementById("details");
  function clear() {
    Array.prototype.forEach.call(document.querySelectorAll(".hl"), function (e) { e.classList.remove("hl"); });
  }
  function show(n) {
    var it = byLp[n];
    if (!it) { return; }
    clear();
    ["lp-" + n, "tuple-" + n, "row-" + n].forEach(function (id) {
      var e = document.getElementById(id);
      if (e) { e.classList.add("hl"); }
    });
    details.textContent = "";
    var h = document.createElement("h2");
    h.textContent = "Line pointer " + n;
    details.appendChild(h);
    var t = document.createElement("table");
    t.id = "fields";
    it.fields.forEach(function (kv) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-field", kv[0]);
      var th = document.createElement("th");
      th.textContent = kv[0];
      var td = document.createElement("td");
      td.className = "mono";
      td.textContent = kv[1];
      tr.appendChild(th);
      tr.appendChild(td);
      t.appendChild(tr);
    });
    details.appendChild(t);
    details.setAttribute("data-lp", n);
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-lp]"), function (e) {
    if (e.id === "details") { return; }
    e.addEventListener("mouseenter", function () { show(e.getAttribute("data-lp")); });
  });
})();
"#;

impl ItemRow {
    /// The line pointer's flag bits (lp_flags names them).
    pub fn lp_flags_code(&self) -> u8 {
        match self.lp_flags {
            "normal" => LP_NORMAL,
            "redirect" => LP_REDIRECT,
            "dead" => LP_DEAD,
            _ => 0,
        }
    }
}

/// What record_html shows about a record besides its bytes (the columns of
/// glassheap.wal_records).
pub struct RecordInfo<'a> {
    pub start: u64,
    pub end: u64,
    pub prev: u64,
    pub xid: u32,
    pub rmgr: &'a str,
    pub record_type: &'a str,
    pub description: &'a str,
    pub main_len: u32,
    pub fpi_len: u32,
    pub blocks: &'a Value,
    pub decoded: &'a Value,
}

fn part_class(part: &str) -> &'static str {
    if part == "header" {
        "p-header"
    } else if part == "main data header" {
        "p-mainhdr"
    } else if part == "main data" {
        "p-main"
    } else if part.ends_with(" header") {
        "p-blockhdr"
    } else if part.ends_with(" image") {
        "p-image"
    } else if part.ends_with(" data") {
        "p-data"
    } else {
        "p-other"
    }
}

fn hex(b: &[u8], max: usize) -> String {
    let mut s: Vec<String> = b.iter().take(max).map(|x| format!("{x:02x}")).collect();
    if b.len() > max {
        s.push(format!("… ({} bytes)", b.len()));
    }
    s.join(" ")
}

/// The whole document for one WAL record: `rec` is the record's bytes (`xl_tot_len` of
/// them, as the WAL reader returns it).
pub fn record_html(rec: &[u8], info: &RecordInfo<'_>, l: LsnStyle) -> String {
    let title = format!(
        "WAL record at {}: {} {}",
        l.fmt(info.start),
        info.rmgr,
        info.record_type
    );
    let mut out = String::new();
    doc_start(&mut out, &title);
    let lay = layout(rec, info.rmgr, info.record_type);
    let _ = writeln!(
        out,
        "<h1>{}</h1><p class=\"sub\">{} bytes, field by field. Hover a field or a byte.</p>",
        esc(&title),
        rec.len()
    );
    out.push_str("<table id=\"summary\">");
    let rows: Vec<(&str, String)> = vec![
        ("start_lsn", l.fmt(info.start)),
        ("end_lsn", l.fmt(info.end)),
        ("prev_lsn", l.fmt(info.prev)),
        ("xid", info.xid.to_string()),
        ("rmgr", info.rmgr.to_string()),
        ("record_type", info.record_type.to_string()),
        ("record_length", rec.len().to_string()),
        ("main_data_length", info.main_len.to_string()),
        ("fpi_length", info.fpi_len.to_string()),
        ("description", info.description.to_string()),
    ];
    for (k, v) in rows {
        let _ = write!(
            out,
            "<tr data-field=\"{k}\"><th>{k}</th><td class=\"mono\">{}</td></tr>",
            esc(&v)
        );
    }
    out.push_str("</table>\n");
    if let Some(e) = &lay.error {
        let _ = write!(
            out,
            "<p class=\"problems\" id=\"problems\">The record's bytes do not decode past this \
             point: {}</p>",
            esc(e)
        );
    }
    // Bytes, colored by part, each field's bytes in one span group.
    out.push_str("<h2>Bytes</h2><div class=\"hex\" id=\"hex\">");
    let covered: usize = lay.fields.iter().map(|f| f.len).sum();
    let mut shown = 0usize;
    for (i, f) in lay.fields.iter().enumerate() {
        let _ = write!(
            out,
            "<span class=\"{}\" id=\"bytes-{i}\" data-f=\"{i}\" title=\"{}: {}\">{}</span> ",
            part_class(&f.part),
            esc(&f.part),
            esc(&f.name),
            hex(&rec[f.offset..f.offset + f.len], 64)
        );
        shown += f.len;
    }
    if covered < rec.len() {
        let _ = write!(
            out,
            "<span class=\"p-other\" title=\"not decoded\">{}</span>",
            hex(&rec[shown..], 256)
        );
    }
    out.push_str("</div>\n<h2>Fields</h2><table id=\"fields\"><tr><th>offset</th><th>length</th><th>part</th><th>field</th><th>value</th></tr>");
    for (i, f) in lay.fields.iter().enumerate() {
        let Field {
            offset,
            len,
            part,
            name,
            value,
        } = f;
        let _ = write!(
            out,
            "<tr id=\"field-{i}\" data-f=\"{i}\" class=\"{}\"><td>{offset}</td><td>{len}</td>\
             <td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
            part_class(part),
            esc(part),
            esc(name),
            esc(value)
        );
    }
    out.push_str("</table>\n");
    // Totals by part: the breakdown docs/INSPECT.md writes by hand.
    out.push_str(
        "<h2>Where the bytes go</h2><table id=\"parts\"><tr><th>part</th><th>bytes</th></tr>",
    );
    let mut parts: Vec<(String, usize)> = Vec::new();
    for f in &lay.fields {
        match parts.iter_mut().find(|(p, _)| *p == f.part) {
            Some(p) => p.1 += f.len,
            None => parts.push((f.part.clone(), f.len)),
        }
    }
    for (p, n) in &parts {
        let _ = write!(out, "<tr><td>{}</td><td>{n}</td></tr>", esc(p));
    }
    let _ = writeln!(
        out,
        "<tr><th>total (record_length)</th><th>{}</th></tr></table>",
        rec.len()
    );
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
    let _ = writeln!(
        out,
        "<h2>Decoded (glassheap.wal_records' decoded)</h2><pre id=\"decoded\">{}</pre>\
         <h2>Block references (blocks)</h2><pre id=\"blocks\">{}</pre>",
        esc(&pretty(info.decoded)),
        esc(&pretty(info.blocks))
    );
    let _ = write!(out, "<script>{RECORD_JS}</script>\n</body></html>\n");
    out
}

const RECORD_JS: &str = r#"
(function () {
  "use strict";
  function clear() {
    Array.prototype.forEach.call(document.querySelectorAll(".hl"), function (e) { e.classList.remove("hl"); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-f]"), function (e) {
    e.addEventListener("mouseenter", function () {
      clear();
      var i = e.getAttribute("data-f");
      ["bytes-" + i, "field-" + i].forEach(function (id) {
        var x = document.getElementById(id);
        if (x) { x.classList.add("hl"); }
      });
    });
  });
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::tests::{glassheap_page, tuple};
    use proptest::prelude::*;

    const L: LsnStyle = LsnStyle { pad_low: false };

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let v = serde_json::json!({"k": "</script><b>&"});
        let s = script_json(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        assert_eq!(serde_json::from_str::<Value>(&s).unwrap(), v);
    }

    #[test]
    fn segments_split_at_rows() {
        assert_eq!(segments(0, 24), vec![(0, 0, 24 * CELL_W, CELL_H)]);
        let s = segments(120, 300);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0], (120 * CELL_W, 0, 8 * CELL_W, CELL_H));
        assert_eq!(s[1], (0, CELL_H, 128 * CELL_W, CELL_H));
        assert_eq!(s[2], (0, 2 * CELL_H, 44 * CELL_W, CELL_H));
        assert!(segments(9000, 9100).is_empty());
        let total: usize = segments(0, BLCKSZ).iter().map(|r| r.2 / CELL_W).sum();
        assert_eq!(total, BLCKSZ);
    }

    #[test]
    fn a_glassheap_page() {
        let p = glassheap_page(&[
            tuple(740, &[1, 0, 0, 0, 2, 0, 0, 0]),
            tuple(741, &[3, 0, 0, 0]),
        ]);
        let html = page_html(&p, Am::Glassheap, 0, "t <&>", L);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>t &lt;&amp;&gt;, block 0 (glassheap page)</title>"));
        assert_eq!(html.matches("class=\"lp ").count(), 2);
        assert!(html.contains("id=\"lp-1\"") && html.contains("id=\"tuple-2\""));
        assert!(html.contains("<g class=\"free\" id=\"free\">"));
        assert!(html.contains("<g class=\"special\" id=\"special\">"));
        // no network: nothing is loaded from anywhere
        for bad in ["http:", "https:", "src=", "@import", "url("] {
            let n = html.matches(bad).count();
            let allowed = if bad == "http:" { 1 } else { 0 }; // the SVG namespace URI
            assert_eq!(n, allowed, "{bad}");
        }
        // the embedded data round-trips and carries xmin
        let start = html.find("id=\"items-data\">").unwrap() + "id=\"items-data\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        let v: Value = serde_json::from_str(&html[start..end]).unwrap();
        let fields = &v[1]["fields"];
        assert!(fields
            .as_array()
            .unwrap()
            .iter()
            .any(|kv| kv[0] == "xmin" && kv[1] == "741"));
    }

    #[test]
    fn a_heap_page_shows_heap_header_fields() {
        // a heap tuple: 23-byte header, t_hoff 24, xmin 750
        let mut p = vec![0u8; BLCKSZ];
        p[16..18].copy_from_slice(&(BLCKSZ as u16).to_ne_bytes());
        p[18..20].copy_from_slice(&(0x2000u16 | 4).to_ne_bytes());
        let mut t = vec![0u8; 32];
        t[0..4].copy_from_slice(&750u32.to_le_bytes());
        t[18..20].copy_from_slice(&2u16.to_le_bytes()); // natts
        t[20..22].copy_from_slice(&0x0800u16.to_le_bytes()); // XMAX_INVALID
        t[22] = 24;
        let off = BLCKSZ - 32;
        p[off..].copy_from_slice(&t);
        let w = off as u32 | (1 << 15) | (32 << 17);
        p[24..28].copy_from_slice(&w.to_ne_bytes());
        p[12..14].copy_from_slice(&28u16.to_ne_bytes());
        p[14..16].copy_from_slice(&(off as u16).to_ne_bytes());
        let html = page_html(&p, Am::Heap, 3, "h", L);
        assert!(html.contains("(heap page)"));
        assert!(html.contains("[\"xmin\",\"750\"]"), "{html}");
        assert!(html.contains("header.t_infomask"));
        assert!(!html.contains("id=\"special\""));
    }

    #[test]
    fn text_from_the_page_is_escaped() {
        let r = ItemRow {
            lp: 1,
            lp_flags: "normal",
            error: Some("<script>alert(1)</script>".into()),
            ..Default::default()
        };
        let f = item_fields(&r);
        assert!(f
            .iter()
            .any(|(k, v)| k == "problem" && v.contains("<script>")));
        // in the document it is escaped (table) or \u-escaped (script data)
        let p = glassheap_page(&[tuple(5, &[1, 0, 0, 0])]);
        let html = page_html(&p, Am::Glassheap, 0, "<script>alert(1)</script>", L);
        assert!(!html.contains("<script>alert"));
    }

    #[test]
    fn a_record() {
        let rec = crate::xlogrecord::tests::sample_record();
        let decoded = serde_json::json!({"record_type": "INSERT+INIT", "note": "</pre><b>"});
        let blocks = serde_json::json!([]);
        let info = RecordInfo {
            start: 0x1_0000_0050,
            end: 0x1_0000_0090,
            prev: 0x1_0000_0028,
            xid: 740,
            rmgr: "Heap",
            record_type: "INSERT+INIT",
            description: "off 1 flags 0x00",
            main_len: 3,
            fpi_len: 0,
            blocks: &blocks,
            decoded: &decoded,
        };
        let html = record_html(&rec, &info, L);
        assert!(html.contains("<title>WAL record at 1/50: Heap INSERT+INIT</title>"));
        assert!(html.contains("<td>xl_tot_len</td>"));
        assert!(html.contains("<td>block 0 data</td>"));
        assert!(html.contains("&lt;/pre&gt;&lt;b&gt;"));
        assert!(!html.contains("id=\"problems\""));
        let n = crate::xlogrecord::layout(&rec, "Heap", "INSERT+INIT")
            .fields
            .len();
        assert_eq!(html.matches("<tr id=\"field-").count(), n);
        assert!(html.contains(&format!(
            "<tr><th>total (record_length)</th><th>{}</th></tr>",
            rec.len()
        )));
    }

    proptest! {
        #[test]
        fn garbage_pages_render(bytes in proptest::collection::vec(any::<u8>(), 0..9000), heap: bool) {
            let html = page_html(&bytes, if heap { Am::Heap } else { Am::Glassheap }, 0, "x", L);
            prop_assert!(html.ends_with("</html>\n"));
        }

        #[test]
        fn damaged_pages_render(flips in proptest::collection::vec((0usize..8192, any::<u8>()), 1..40)) {
            let mut p = glassheap_page(&[tuple(5, &[1, 0, 0, 0, 2, 0, 0, 0]), tuple(6, &[3, 0, 0, 0])]);
            for (at, v) in flips { p[at] = v; }
            let html = page_html(&p, Am::Glassheap, 0, "x", L);
            prop_assert!(html.ends_with("</html>\n"));
        }

        #[test]
        fn garbage_records_render(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let v = Value::Null;
            let info = RecordInfo { start: 0, end: 0, prev: 0, xid: 0, rmgr: "x", record_type: "y", description: "", main_len: 0, fpi_len: 0, blocks: &v, decoded: &v };
            let html = record_html(&bytes, &info, L);
            prop_assert!(html.ends_with("</html>\n"));
        }
    }
}
