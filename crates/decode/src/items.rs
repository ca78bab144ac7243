//! One row per line pointer, in the same shape for heap and glassheap pages
//! (glassheap.page_items). Fields a line pointer does not have (a redirect, an unused
//! slot, a damaged tuple) are None, with `error` saying why when something is wrong.

use crate::heap::{bits_text, HeapHeader, HEAP_HEADER_SIZE};
use glassheap_format::page::{line_pointers, lp_flags_name, LinePointer, PageError, LP_NORMAL};
use glassheap_format::tuple::{
    TupleFlags, TupleHeader, XmaxMode, HEADER_SIZE, NEXT_MOVED_PARTITIONS, NEXT_SPECULATIVE,
};
use glassheap_format::MAXALIGN;
use serde::Serialize;

/// Names of the set flags plus the xmax mode, snake_case, for inspection.
pub fn flag_names(h: &TupleHeader) -> Vec<String> {
    use heck::ToSnakeCase;
    let mut out: Vec<String> = h
        .flags()
        .iter_names()
        .map(|(name, _)| name.to_snake_case())
        .collect();
    if h.xmin_frozen() {
        out.push("xmin_frozen".into());
    }
    if !h.xmax_invalid() || h.xmax != 0 {
        out.push(format!("xmax_{}", h.xmax_mode().name()));
    }
    if h.is_speculative() {
        out.push("speculative".into());
    }
    if h.moved_partitions() {
        out.push("moved_partitions".into());
    }
    out
}

/// Every raw field of the header, for `page_items(...).header` and WAL decoding.
#[derive(Debug, Clone, Serialize)]
pub struct HeaderFields {
    pub xmin: u32,
    pub xmax: u32,
    pub aux: u32,
    pub info: u32,
    pub next_off: u16,
    pub natts: u16,
    pub xmax_mode: u8,
    pub xmax_mode_name: Option<&'static str>,
    pub flags: Vec<String>,
    pub hoff: usize,
}

impl From<&TupleHeader> for HeaderFields {
    fn from(h: &TupleHeader) -> Self {
        HeaderFields {
            xmin: h.xmin,
            xmax: h.xmax,
            aux: h.aux,
            info: h.info,
            next_off: h.next_off(),
            natts: h.natts(),
            xmax_mode: h.xmax_mode_bits(),
            xmax_mode_name: XmaxMode::from_bits(h.xmax_mode_bits()).map(|m| m.name()),
            flags: flag_names(h),
            hoff: h.hoff(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Am {
    Heap,
    Glassheap,
}

impl Am {
    pub fn from_name(s: &str) -> Option<Am> {
        match s {
            "heap" => Some(Am::Heap),
            "glassheap" => Some(Am::Glassheap),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ItemRow {
    pub lp: u16,
    pub lp_flags: &'static str,
    /// lp_flags as the number pageinspect's heap_page_items shows (0 unused, 1 normal,
    /// 2 redirect, 3 dead)
    pub lp_flags_raw: u8,
    pub lp_off: u16,
    pub lp_len: u16,
    pub xmin: Option<u32>,
    pub xmax: Option<u32>,
    pub cid: Option<u32>,
    pub ctid: Option<(u32, u16)>,
    pub flags: Vec<String>,
    /// A heap tuple's raw t_infomask2 and t_infomask (pageinspect's columns), which
    /// `flags` names; None for glassheap tuples, whose flags live in `info`.
    pub t_infomask2: Option<u16>,
    pub t_infomask: Option<u16>,
    /// A glassheap tuple's raw info word (next_off, natts, xmax mode and flags;
    /// docs/FORMAT.md section 2); None for heap tuples.
    pub info: Option<u32>,
    pub natts: Option<u16>,
    pub hoff: Option<u16>,
    pub nulls: Option<String>,
    pub data: Option<Vec<u8>>,
    pub header: Option<serde_json::Value>,
    pub error: Option<String>,
}

fn base(lp: &LinePointer) -> ItemRow {
    ItemRow {
        lp: lp.lp,
        lp_flags: lp_flags_name(lp.flags),
        lp_flags_raw: lp.flags,
        lp_off: lp.off,
        lp_len: lp.len,
        ..Default::default()
    }
}

/// The item's bytes when it has storage that lies inside the page at an aligned offset.
fn stored<'a>(
    page: &'a [u8],
    lp: &LinePointer,
    min_len: usize,
) -> Result<Option<&'a [u8]>, String> {
    if !lp.has_storage() {
        return Ok(None);
    }
    if !(lp.off as usize).is_multiple_of(MAXALIGN) {
        return Err(format!("lp_off {} is not MAXALIGNed", lp.off));
    }
    if (lp.len as usize) < min_len {
        return Err(format!("lp_len {} is shorter than a tuple header", lp.len));
    }
    lp.item(page)
        .map(Some)
        .ok_or_else(|| format!("item at {}+{} extends past the page", lp.off, lp.len))
}

/// The stored item of `lp` and its decoded header: None when the line pointer holds no
/// tuple, an error text when the item or its header cannot be read.
fn header_of<'a, H, E: std::fmt::Display>(
    page: &'a [u8],
    lp: &LinePointer,
    min_len: usize,
    decode: impl Fn(&'a [u8]) -> Result<H, E>,
) -> Result<Option<(&'a [u8], H)>, String> {
    let Some(item) = stored(page, lp, min_len)? else {
        return Ok(None);
    };
    let h = decode(item).map_err(|e| e.to_string())?;
    Ok(Some((item, h)))
}

fn heap_row(page: &[u8], lp: &LinePointer) -> ItemRow {
    let mut row = base(lp);
    let (item, h) = match header_of(page, lp, HEAP_HEADER_SIZE, HeapHeader::decode) {
        Ok(Some(x)) => x,
        Ok(None) => return row,
        Err(e) => {
            row.error = Some(e);
            return row;
        }
    };
    row.xmin = Some(h.xmin);
    row.xmax = Some(h.xmax);
    row.cid = Some(h.field3);
    row.ctid = Some(h.ctid);
    row.flags = h.flag_names();
    row.t_infomask2 = Some(h.infomask2);
    row.t_infomask = Some(h.infomask);
    row.natts = Some(h.natts());
    row.hoff = Some(h.hoff as u16);
    row.header = Some(h.fields_json());
    let hoff = h.hoff as usize;
    if hoff < HEAP_HEADER_SIZE || hoff > item.len() || !hoff.is_multiple_of(MAXALIGN) {
        row.error = Some(format!(
            "t_hoff {hoff} is not a valid header length for a {}-byte item",
            item.len()
        ));
        return row;
    }
    match h.null_bits(item) {
        Ok(n) => row.nulls = n,
        Err(e) => row.error = Some(e.to_string()),
    }
    row.data = Some(item[hoff..].to_vec());
    row
}

fn glassheap_row(page: &[u8], lp: &LinePointer, blkno: u32) -> ItemRow {
    let mut row = base(lp);
    let (item, h) = match header_of(page, lp, HEADER_SIZE, TupleHeader::decode) {
        Ok(Some(x)) => x,
        Ok(None) => return row,
        Err(e) => {
            row.error = Some(e);
            return row;
        }
    };
    row.xmin = Some(h.xmin);
    row.xmax = Some(h.xmax);
    row.cid = h.aux_is_cid().then_some(h.aux);
    row.ctid = Some(if h.is_speculative() {
        (h.aux, 0xfffe)
    } else if h.next_off() == NEXT_MOVED_PARTITIONS {
        (u32::MAX, 0xfffd)
    } else {
        h.next_tid(blkno).unwrap_or((blkno, lp.lp))
    });
    row.flags = flag_names(&h);
    row.info = Some(h.info);
    row.natts = Some(h.natts());
    row.hoff = Some(h.hoff() as u16);
    row.header = serde_json::to_value(HeaderFields::from(&h)).ok();
    if let Err(e) = h.validate() {
        row.error = Some(e.to_string());
    }
    let hoff = h.hoff();
    if hoff > item.len() {
        row.error = Some(format!(
            "header with {} attributes needs {hoff} bytes; item has {}",
            h.natts(),
            item.len()
        ));
        return row;
    }
    if h.has(TupleFlags::HAS_NULLS) {
        let n = glassheap_format::tuple::bitmap_len(h.natts());
        row.nulls = Some(bits_text(&item[HEADER_SIZE..HEADER_SIZE + n]));
    }
    row.data = Some(item[hoff..].to_vec());
    row
}

/// Rows for every line pointer of `page`, decoded as `am`'s tuples. `blkno` is the page's
/// block number (glassheap's version pointer names a block only when it leaves the page).
pub fn page_items(page: &[u8], am: Am, blkno: u32) -> Result<Vec<ItemRow>, PageError> {
    let lps = line_pointers(page)?;
    Ok(lps
        .iter()
        .map(|lp| match am {
            Am::Heap => heap_row(page, lp),
            Am::Glassheap => glassheap_row(page, lp, blkno),
        })
        .collect())
}

/// Is this line pointer a tuple with storage (for callers counting live items)?
pub fn is_normal(lp: &LinePointer) -> bool {
    lp.flags == LP_NORMAL && lp.has_storage()
}

/// The speculative-token marker a heap ctid uses, for comparisons in tests.
pub const SPEC_TOKEN_OFFSET: u16 = 0xfffe;
const _: () = assert!(NEXT_SPECULATIVE == 511);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    pub use glassheap_format::testpages::{glassheap_page, tuple};
    use proptest::prelude::*;

    #[test]
    fn flag_names_are_snake_case() {
        let mut h = TupleHeader::new_insert(5, 0, 1, true);
        h.set_flags(TupleFlags::XMIN_COMMITTED | TupleFlags::HEAP_ONLY);
        let names = flag_names(&h);
        assert!(names.contains(&"xmin_committed".to_string()));
        assert!(names.contains(&"heap_only".to_string()));
        assert!(names.contains(&"has_nulls".to_string()));
        assert!(names.contains(&"xmax_invalid".to_string()));
    }

    /// A glassheap page holding the given tuples (bytes), packed like PageAddItem does.
    #[test]
    fn glassheap_items() {
        let mut upd = TupleHeader::new_insert(700, 1, 2, true);
        upd.xmax = 701;
        upd.clear_flags(TupleFlags::XMAX_INVALID);
        upd.set_next_off(2);
        let mut t1 = upd.to_bytes().to_vec();
        t1.extend_from_slice(&[0b01, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0]);
        let p = glassheap_page(&[t1, tuple(701, &[1, 0, 0, 0, 2, 0, 0, 0])]);
        let rows = page_items(&p, Am::Glassheap, 5).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].xmax, Some(701));
        assert_eq!(rows[0].ctid, Some((5, 2)));
        assert_eq!(rows[0].nulls.as_deref(), Some("10000000"));
        assert_eq!(rows[0].hoff, Some(24));
        assert_eq!(rows[0].data.as_deref(), Some(&[9u8, 0, 0, 0][..]));
        assert_eq!(rows[1].ctid, Some((5, 2)));
        assert_eq!(rows[1].lp_len, 24);
        assert!(rows.iter().all(|r| r.error.is_none()));
        // the raw numbers beside the names: lp_flags 1 (normal), glassheap's info word
        assert!(rows
            .iter()
            .all(|r| r.lp_flags == "normal" && r.lp_flags_raw == 1));
        assert_eq!(rows[0].info, Some(upd.info));
        assert_eq!((rows[0].t_infomask, rows[0].t_infomask2), (None, None));
    }

    #[test]
    fn damaged_items_get_errors_not_panics() {
        let mut p = glassheap_page(&[tuple(5, &[1, 2, 3, 4, 5, 6, 7, 8])]);
        // line pointer 1 now claims 200 bytes starting 8 bytes before the page end
        let w = (glassheap_format::BLCKSZ as u32 - 8) | (1 << 15) | (200 << 17);
        p[24..28].copy_from_slice(&w.to_ne_bytes());
        let rows = page_items(&p, Am::Glassheap, 0).unwrap();
        assert!(rows[0].error.is_some());
        assert!(rows[0].xmin.is_none());
    }

    proptest! {
        #[test]
        fn garbage_pages_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..9000), heap: bool) {
            let _ = page_items(&bytes, if heap { Am::Heap } else { Am::Glassheap }, 0);
        }

        #[test]
        fn corrupted_glassheap_pages_never_panic(flips in proptest::collection::vec((0usize..8192, any::<u8>()), 1..40)) {
            let mut p = glassheap_page(&[tuple(5, &[1, 0, 0, 0, 2, 0, 0, 0]), tuple(6, &[3, 0, 0, 0, 4, 0, 0, 0])]);
            for (at, v) in flips { p[at] = v; }
            let _ = page_items(&p, Am::Glassheap, 0);
            let _ = page_items(&p, Am::Heap, 0);
        }
    }
}
