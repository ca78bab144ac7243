//! Pages and tuples built by hand, for the tests of this crate and of glassheap-decode
//! (a test of one crate cannot use another's `#[cfg(test)]` code). Not used by glassheap
//! itself: real pages are built by `pageview::PageMut`.

use crate::layout::{special_bytes, SPECIAL_OFFSET};
use crate::pageview::{PageBytes, PageMut};
use crate::tuple::{maxalign, TupleHeader};
use crate::BLCKSZ;

/// A glassheap page holding `tuples` at offsets 1.. (tuples stacked down from the
/// special space, all normal line pointers).
pub fn glassheap_page(tuples: &[Vec<u8>]) -> Vec<u8> {
    let mut p = vec![0u8; BLCKSZ];
    let mut upper = SPECIAL_OFFSET;
    for (i, t) in tuples.iter().enumerate() {
        upper -= maxalign(t.len());
        p[upper..upper + t.len()].copy_from_slice(t);
        let w = upper as u32 | (1 << 15) | ((t.len() as u32) << 17);
        p[24 + 4 * i..28 + 4 * i].copy_from_slice(&w.to_ne_bytes());
    }
    p[12..14].copy_from_slice(&((24 + 4 * tuples.len()) as u16).to_ne_bytes());
    p[14..16].copy_from_slice(&(upper as u16).to_ne_bytes());
    p[16..18].copy_from_slice(&(SPECIAL_OFFSET as u16).to_ne_bytes());
    p[18..20].copy_from_slice(&(0x2000u16 | 4).to_ne_bytes());
    p[SPECIAL_OFFSET..].copy_from_slice(&special_bytes());
    p
}

/// A tuple with an inserting header (xmin `xmin`, 2 attributes) and `data`.
pub fn tuple(xmin: u32, data: &[u8]) -> Vec<u8> {
    let mut t = TupleHeader::new_insert(xmin, 0, 2, false)
        .to_bytes()
        .to_vec();
    t.extend_from_slice(data);
    t
}

/// Asserts two pages are equal as wal_consistency_checking compares them, naming
/// the first differing byte (a whole page in a failure message helps nobody).
pub fn same_after_mask(a: &PageBytes, b: &PageBytes) -> Result<(), String> {
    let (mut a, mut b) = (Box::new(*a), Box::new(*b));
    PageMut::new(&mut a)
        .mask_for_consistency_check()
        .map_err(|e| e.to_string())?;
    PageMut::new(&mut b)
        .mask_for_consistency_check()
        .map_err(|e| e.to_string())?;
    match (0..BLCKSZ).find(|&i| a[i] != b[i]) {
        None => Ok(()),
        Some(i) => Err(format!("pages differ at byte {i}: {} vs {}", a[i], b[i])),
    }
}

/// An empty glassheap page (`PageMut::init`).
pub fn fresh() -> Box<PageBytes> {
    let mut b = Box::new([0u8; BLCKSZ]);
    PageMut::new(&mut b).init();
    b
}
