//! glassheap's page layout: a standard PostgreSQL page (24-byte PageHeaderData, 4-byte
//! line pointers growing up, tuples growing down from pd_upper) with an 8-byte special
//! space at the end that identifies the page as glassheap's.
//!
//! ```text
//! special space (8 bytes, at pd_special = 8184):
//!   0  u16  magic   0x4748 ("GH" read as big-endian ASCII)
//!   2  u8   version 1
//!   3  u8   flags   reserved, 0
//!   4  u32  reserved, 0
//! ```
//! The magic lets verification, inspection and redo sanity checks tell a glassheap page
//! from a heap page or garbage without catalog access; the version leaves room for a
//! future format change that can be recognised page by page.

use crate::{BLCKSZ, MAXALIGN, PAGE_HEADER_SIZE};

pub const SPECIAL_SIZE: usize = 8;
pub const SPECIAL_OFFSET: usize = BLCKSZ - SPECIAL_SIZE;
pub const PAGE_MAGIC: u16 = 0x4748;
pub const PAGE_VERSION: u8 = 1;

/// Size of a line pointer (ItemIdData).
pub const ITEM_ID_SIZE: usize = 4;

/// At most this many line pointers per page, same as heap's MaxHeapTuplesPerPage:
/// indexes, TID bitmaps and GIN assume heap-shaped TIDs with offsets <= 291.
pub const MAX_TUPLES_PER_PAGE: usize = 291;

/// Largest tuple that fits on an empty page (MAXALIGN_DOWN of the space left after the
/// page header, the special space and one line pointer).
pub const MAX_TUPLE_SIZE: usize =
    (BLCKSZ - PAGE_HEADER_SIZE - SPECIAL_SIZE - ITEM_ID_SIZE) & !(MAXALIGN - 1);

/// The special space bytes of a fresh page.
pub fn special_bytes() -> [u8; SPECIAL_SIZE] {
    let mut b = [0u8; SPECIAL_SIZE];
    b[0..2].copy_from_slice(&PAGE_MAGIC.to_ne_bytes());
    b[2] = PAGE_VERSION;
    b
}

/// Does this special space say "glassheap page, version we understand"?
pub fn special_is_valid(special: &[u8]) -> bool {
    special.len() == SPECIAL_SIZE
        && u16::from_ne_bytes([special[0], special[1]]) == PAGE_MAGIC
        && special[2] == PAGE_VERSION
}

/// Free space for a new tuple, like heap's PageGetHeapFreeSpace: the gap between
/// pd_lower and pd_upper minus one line pointer, and zero when the line pointer array
/// is at its limit and has no unused entry to recycle.
pub fn heap_free_space(lower: usize, upper: usize, nline: usize, has_unused: bool) -> usize {
    let gap = upper.saturating_sub(lower);
    let space = gap.saturating_sub(ITEM_ID_SIZE);
    if nline >= MAX_TUPLES_PER_PAGE && !has_unused {
        0
    } else {
        space
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(SPECIAL_OFFSET, 8184);
        assert_eq!(MAX_TUPLE_SIZE, 8152);
        assert!(special_is_valid(&special_bytes()));
        assert!(!special_is_valid(&[0u8; 8]));
        assert!(!special_is_valid(&[0u8; 4]));
    }

    #[test]
    fn free_space_caps_line_pointers() {
        assert_eq!(heap_free_space(24, 8184, 0, false), 8156);
        assert_eq!(heap_free_space(24 + 4 * 291, 8000, 291, false), 0);
        assert!(heap_free_space(24 + 4 * 291, 8000, 291, true) > 0);
        assert_eq!(heap_free_space(100, 90, 3, false), 0);
    }
}
