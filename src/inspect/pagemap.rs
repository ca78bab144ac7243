//! glassheap.page_map: a picture of a relation, one cell per page, showing how full each
//! page is and its mix of live, dead and frozen versions and the all-visible flag. The
//! counts are glassheap.stats' per page (dirty snapshot, nothing pruned).

use super::stats::{census, PageCensus};
use pgrx::prelude::*;
use pgrx::PgRelation;

/// Usable bytes of a page: BLCKSZ minus the page header (a page's free space is at most
/// this, so fill = 1 - free / usable).
const USABLE: f64 = (8192 - 24) as f64;
const CELLS_PER_ROW: usize = 16;

fn fill(p: &PageCensus) -> f64 {
    if p.is_new {
        return 0.0;
    }
    (1.0 - p.free as f64 / USABLE).clamp(0.0, 1.0)
}

/// One letter for what a page mostly holds.
fn state_letter(p: &PageCensus) -> char {
    if p.is_new {
        'n'
    } else if p.undecodable > 0 {
        'X'
    } else if p.live + p.dead == 0 {
        '.'
    } else if p.dead > p.live {
        'D'
    } else if p.all_visible {
        'V'
    } else if p.live > 0 && p.frozen == p.live {
        'F'
    } else {
        'L'
    }
}

fn fill_digit(p: &PageCensus) -> char {
    let f = fill(p);
    if f >= 0.95 {
        '#'
    } else {
        char::from(b'0' + (f * 10.0) as u8)
    }
}

fn text_map(name: &str, pages: &[PageCensus]) -> String {
    let mut s = format!(
        "page map of \"{name}\": {} pages\n\
         cell = fill (0-9 tenths full, # full) + what the page holds:\n\
         \x20 L live  D mostly dead  F all live versions frozen  V all-visible  . no versions  n new (uninitialised)\n",
        pages.len()
    );
    for (row, chunk) in pages.chunks(CELLS_PER_ROW).enumerate() {
        s.push_str(&format!("{:>8} |", row * CELLS_PER_ROW));
        for p in chunk {
            s.push(' ');
            s.push(fill_digit(p));
            s.push(state_letter(p));
        }
        s.push('\n');
    }
    let (live, dead, frozen) = pages.iter().fold((0, 0, 0), |a, p| {
        (a.0 + p.live, a.1 + p.dead, a.2 + p.frozen)
    });
    let visible = pages.iter().filter(|p| p.all_visible).count();
    s.push_str(&format!(
        "totals: {live} live, {dead} dead, {frozen} frozen versions; {visible} all-visible pages\n"
    ));
    s.push_str(&damage_line(pages));
    s
}

/// The warning for items that could not be decoded (empty when there are none).
fn damage_line(pages: &[PageCensus]) -> String {
    let items: i64 = pages.iter().map(|p| p.undecodable).sum();
    if items == 0 {
        return String::new();
    }
    let damaged = pages.iter().filter(|p| p.undecodable > 0).count();
    format!(
        "WARNING: {items} items on {damaged} pages (marked X) could not be decoded and are not counted; glassheap.page_items names them\n"
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

const LIVE: &str = "#4caf50";
const FROZEN: &str = "#2196f3";
const DEAD: &str = "#e53935";
const EMPTY: &str = "#f5f5f5";

/// A standalone SVG: one 24x24 cell per page, filled from the bottom to the page's fill
/// level, the filled part split by the share of frozen, other live and dead versions;
/// all-visible pages get a thick dark outline. A legend follows the grid.
fn svg_map(name: &str, pages: &[PageCensus]) -> String {
    let cell = 24.0;
    let gap = 4.0;
    let cols = CELLS_PER_ROW.min(pages.len().max(1));
    let rows = pages.len().div_ceil(CELLS_PER_ROW).max(1);
    let width = 40.0 + cols as f64 * (cell + gap) + 180.0;
    let grid_h = rows as f64 * (cell + gap);
    let height = 50.0 + grid_h + 110.0;
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <title>page map of {}</title>\n\
         <text x=\"10\" y=\"20\" font-size=\"14\">page map of {} ({} pages)</text>\n",
        xml_escape(name),
        xml_escape(name),
        pages.len()
    );
    for (i, p) in pages.iter().enumerate() {
        let x = 40.0 + (i % CELLS_PER_ROW) as f64 * (cell + gap);
        let y = 40.0 + (i / CELLS_PER_ROW) as f64 * (cell + gap);
        let f = fill(p);
        let total = (p.live + p.dead).max(1) as f64;
        let filled = cell * f;
        let mut segs = String::new();
        let mut top = y + cell - filled;
        for (n, color) in [
            (p.dead, DEAD),
            (p.live - p.frozen, LIVE),
            (p.frozen, FROZEN),
        ] {
            let h = filled * n as f64 / total;
            if h > 0.0 {
                segs.push_str(&format!(
                    "<rect x=\"{x:.1}\" y=\"{top:.2}\" width=\"{cell:.1}\" height=\"{h:.2}\" fill=\"{color}\"/>"
                ));
                top += h;
            }
        }
        let (stroke, sw) = if p.all_visible {
            ("#212121", 3)
        } else {
            ("#9e9e9e", 1)
        };
        s.push_str(&format!(
            "<g><title>block {i}: {:.0}% full, {} live, {} dead, {} frozen{}{}</title>\
             <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell:.1}\" height=\"{cell:.1}\" fill=\"{EMPTY}\"/>{segs}\
             <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell:.1}\" height=\"{cell:.1}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{sw}\"/></g>\n",
            f * 100.0,
            p.live,
            p.dead,
            p.frozen,
            if p.all_visible { ", all-visible" } else { "" },
            if p.undecodable > 0 {
                format!(", {} items could not be decoded", p.undecodable)
            } else {
                String::new()
            }
        ));
    }
    for r in 0..rows {
        let y = 40.0 + r as f64 * (cell + gap) + cell * 0.7;
        s.push_str(&format!(
            "<text x=\"4\" y=\"{y:.1}\" font-size=\"10\">{}</text>\n",
            r * CELLS_PER_ROW
        ));
    }
    let warn = damage_line(pages);
    if !warn.is_empty() {
        s.push_str(&format!(
            "<text x=\"10\" y=\"34\" fill=\"{DEAD}\">{}</text>\n",
            xml_escape(warn.trim_end())
        ));
    }
    let ly = 50.0 + grid_h;
    s.push_str(&format!("<g transform=\"translate(10,{ly:.0})\"><text x=\"0\" y=\"0\" font-weight=\"bold\">legend</text>\n"));
    for (i, (color, label)) in [
        (LIVE, "live versions"),
        (FROZEN, "live, frozen versions"),
        (DEAD, "dead versions"),
        (EMPTY, "free space (cell height = page fill)"),
    ]
    .iter()
    .enumerate()
    {
        let y = 10 + i * 18;
        s.push_str(&format!(
            "<rect x=\"0\" y=\"{y}\" width=\"14\" height=\"14\" fill=\"{color}\" stroke=\"#9e9e9e\"/><text x=\"20\" y=\"{}\">{label}</text>\n",
            y + 11
        ));
    }
    s.push_str("<rect x=\"0\" y=\"82\" width=\"14\" height=\"14\" fill=\"none\" stroke=\"#212121\" stroke-width=\"3\"/><text x=\"20\" y=\"93\">all-visible page</text>\n</g>\n</svg>\n");
    s
}

/// A picture of `rel`: `'text'` for psql, `'svg'` for a browser.
#[pg_extern]
fn page_map(rel: PgRelation, format: default!(&str, "'text'")) -> String {
    let name = rel.name().to_string();
    match format {
        "text" => text_map(&name, &census(&rel)),
        "svg" => svg_map(&name, &census(&rel)),
        other => super::raise_detail(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown page map format \"{other}\""),
            "Use 'text' or 'svg'.",
        ),
    }
}
