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
    special_kind(special) == PageKind::Glassheap
}

/// What a page's special space says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// A glassheap page in the format version this build reads ([`PAGE_VERSION`]).
    Glassheap,
    /// glassheap's magic with another format version: written by another release of
    /// glassheap; this build must refuse it rather than misread it.
    OtherVersion(u8),
    /// Not a glassheap page at all (no magic): another access method's page or damage.
    Foreign,
}

/// The rule for format changes (docs/FORMAT.md, "Format versions"): a release that
/// changes how pages are laid out or read writes a new version byte; every build reads
/// only the versions it names and refuses others with an error naming both.
pub fn special_kind(special: &[u8]) -> PageKind {
    if special.len() != SPECIAL_SIZE || u16::from_ne_bytes([special[0], special[1]]) != PAGE_MAGIC {
        PageKind::Foreign
    } else if special[2] == PAGE_VERSION {
        PageKind::Glassheap
    } else {
        PageKind::OtherVersion(special[2])
    }
}

/// The message for a page in a format version this build cannot read.
pub fn other_version_message(version: u8) -> String {
    format!("page format version {version}, but this build of glassheap reads page format version {PAGE_VERSION} only")
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

/// Where PageAddItemExtended(page, item, size, InvalidOffsetNumber, PAI_IS_HEAP) puts a
/// new item, computed from the page header and line pointers instead of calling it:
/// the first unused line pointer without storage when the page's PD_HAS_FREE_LINES hint
/// says there may be one (clearing the hint when the scan finds none), otherwise a new
/// line pointer at the end; the item's bytes go MAXALIGN(size) below pd_upper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddItem {
    /// 1-based offset of the line pointer to set.
    pub off: u16,
    /// New pd_lower and pd_upper; the item's bytes start at `upper`.
    pub lower: usize,
    pub upper: usize,
    /// The free-line-pointer hint was wrong and must be cleared.
    pub clear_free_hint: bool,
}

/// Why an item could not be placed (PageAddItemExtended's PANIC and its 0 result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddItemError {
    /// pd_lower/pd_upper/pd_special are inconsistent ("corrupted page pointers").
    Corrupted,
    /// No room, or the line pointer array is at MAX_TUPLES_PER_PAGE.
    NoRoom,
}

/// `first_unused()` is the page's first line pointer that is LP_UNUSED without
/// storage, if any ([`first_unused_line_pointer`] of the array); it is asked only when
/// the hint says there may be one, and an answer outside the array counts as none.
pub fn plan_add_item(
    lower: usize,
    upper: usize,
    special: usize,
    free_hint: bool,
    first_unused: impl FnOnce() -> Option<u16>,
    size: usize,
) -> Result<AddItem, AddItemError> {
    if lower < PAGE_HEADER_SIZE || lower > upper || upper > special || special > BLCKSZ {
        return Err(AddItemError::Corrupted);
    }
    let nline = ((lower - PAGE_HEADER_SIZE) / ITEM_ID_SIZE) as u16;
    let limit = nline + 1;
    let mut clear_free_hint = false;
    let off = if free_hint {
        match first_unused().filter(|&o| o >= 1 && o < limit) {
            Some(o) => o,
            None => {
                clear_free_hint = true;
                limit
            }
        }
    } else {
        limit
    };
    if off as usize > MAX_TUPLES_PER_PAGE {
        return Err(AddItemError::NoRoom);
    }
    let new_lower = if off == limit {
        lower + ITEM_ID_SIZE
    } else {
        lower
    };
    let aligned = (size + MAXALIGN - 1) & !(MAXALIGN - 1);
    if aligned > upper || new_lower > upper - aligned {
        return Err(AddItemError::NoRoom);
    }
    Ok(AddItem {
        off,
        lower: new_lower,
        upper: upper - aligned,
        clear_free_hint,
    })
}

/// The 1-based offset of the first line pointer in `array` (the line pointer array's
/// bytes, `ItemIdData` words) that is LP_UNUSED (0) with no storage (length 0): where
/// PageAddItemExtended puts a new item on a page with PD_HAS_FREE_LINES. One masked
/// word test per line pointer: an insert into a page pruning left holes in scans up to
/// all of them.
pub fn first_unused_line_pointer(array: &[u8]) -> Option<u16> {
    // lp_off is bits 0..15 of the word, lp_flags 15..17, lp_len 17..32 (ItemIdData).
    const FLAGS_AND_LEN: u32 = !0x7fff;
    // Two line pointers per load: half the loop of one at a time.
    let pairs = array.chunks_exact(2 * ITEM_ID_SIZE);
    let rest = pairs.remainder();
    for (i, c) in pairs.enumerate() {
        let w = u64::from_ne_bytes(c.try_into().expect("8 bytes"));
        let (first, second) = if cfg!(target_endian = "little") {
            (w as u32, (w >> 32) as u32)
        } else {
            ((w >> 32) as u32, w as u32)
        };
        if first & FLAGS_AND_LEN == 0 {
            return Some(2 * i as u16 + 1);
        }
        if second & FLAGS_AND_LEN == 0 {
            return Some(2 * i as u16 + 2);
        }
    }
    match rest {
        [a, b, c, d] if u32::from_ne_bytes([*a, *b, *c, *d]) & FLAGS_AND_LEN == 0 => {
            Some((array.len() / ITEM_ID_SIZE) as u16)
        }
        _ => None,
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

    #[test]
    fn add_item_appends_or_reuses() {
        let a = plan_add_item(24, 8184, 8184, false, || unreachable!(), 30).unwrap();
        assert_eq!(
            a,
            AddItem {
                off: 1,
                lower: 28,
                upper: 8152,
                clear_free_hint: false
            }
        );
        // a hint with no unused pointer: appended, hint cleared
        let a = plan_add_item(32, 8000, 8184, true, || None, 8).unwrap();
        assert_eq!(
            a,
            AddItem {
                off: 3,
                lower: 36,
                upper: 7992,
                clear_free_hint: true
            }
        );
        // the first unused pointer without storage is reused; lower does not move
        // line pointers: 1 unused with a length, 2 unused without, 3 normal
        let word = |off: u32, flags: u32, len: u32| (off | flags << 15 | len << 17).to_ne_bytes();
        let array = [word(0, 0, 5), word(0, 0, 0), word(8000, 1, 40)].concat();
        assert_eq!(first_unused_line_pointer(&array), Some(2));
        assert_eq!(first_unused_line_pointer(&array[8..]), None);
        assert_eq!(first_unused_line_pointer(&word(123, 0, 0)), Some(1));
        assert_eq!(first_unused_line_pointer(&word(0, 3, 0)), None);
        // the first of a pair, the second, and the odd one at the end
        let used = word(8000, 1, 40);
        assert_eq!(
            first_unused_line_pointer(&[used, word(0, 0, 0), used].concat()),
            Some(2)
        );
        assert_eq!(
            first_unused_line_pointer(&[used, used, word(7, 0, 0)].concat()),
            Some(3)
        );
        assert_eq!(
            first_unused_line_pointer(&[used, used, used].concat()),
            None
        );
        assert_eq!(first_unused_line_pointer(&[]), None);
        let lps = || first_unused_line_pointer(&array);
        let a = plan_add_item(36, 8000, 8184, true, lps, 8).unwrap();
        assert_eq!(
            a,
            AddItem {
                off: 2,
                lower: 36,
                upper: 7992,
                clear_free_hint: false
            }
        );
        // without the hint nothing is searched
        assert_eq!(
            plan_add_item(36, 8000, 8184, false, || unreachable!(), 8)
                .unwrap()
                .off,
            4
        );
        // an answer outside the array is none
        let a = plan_add_item(36, 8000, 8184, true, || Some(4), 8).unwrap();
        assert_eq!((a.off, a.clear_free_hint), (4, true));
    }

    #[test]
    fn add_item_limits() {
        let used = || None;
        // exactly fits / one byte too many
        assert!(plan_add_item(24, 48, 8184, false, used, 16).is_ok());
        assert_eq!(
            plan_add_item(24, 48, 8184, false, used, 17),
            Err(AddItemError::NoRoom)
        );
        assert_eq!(
            plan_add_item(24, 20, 8184, false, used, 1),
            Err(AddItemError::Corrupted)
        );
        assert_eq!(
            plan_add_item(30, 20, 8184, false, used, 1),
            Err(AddItemError::Corrupted)
        );
        assert_eq!(
            plan_add_item(24, 8190, 8184, false, used, 1),
            Err(AddItemError::Corrupted)
        );
        // 291 line pointers: no 292nd
        let full = PAGE_HEADER_SIZE + ITEM_ID_SIZE * MAX_TUPLES_PER_PAGE;
        assert_eq!(
            plan_add_item(full, 8000, 8184, false, used, 8),
            Err(AddItemError::NoRoom)
        );
        let reuse = || Some(7);
        assert_eq!(
            plan_add_item(full, 8000, 8184, true, reuse, 8).unwrap().off,
            7
        );
    }

    proptest::proptest! {
        /// The pairwise scan finds the first line pointer whose flags and length are
        /// zero, as a scan of one word at a time does.
        #[test]
        fn first_unused_is_the_first_zero_flags_and_length(
            words in proptest::collection::vec((0u32..0x8000, 0u32..4, proptest::prop_oneof![proptest::strategy::Just(0u32), 0u32..0x8000]), 0..300),
        ) {
            let array: Vec<u8> =
                words.iter().flat_map(|&(o, f, l)| (o | f << 15 | l << 17).to_ne_bytes()).collect();
            let one_at_a_time = words.iter().position(|&(_, f, l)| f == 0 && l == 0).map(|i| i as u16 + 1);
            proptest::prop_assert_eq!(first_unused_line_pointer(&array), one_at_a_time);
        }

        /// Whatever the page state, a planned item lies between the (new) line pointer
        /// array and the old pd_upper, and free space agrees with what fits.
        #[test]
        fn add_item_stays_inside(nline in 0usize..300, upper_gap in 0usize..8200, size in 1usize..8200,
                                 hint in proptest::bool::ANY, unused in proptest::collection::vec(proptest::bool::ANY, 300)) {
            let lower = PAGE_HEADER_SIZE + nline * ITEM_ID_SIZE;
            let upper = (lower + upper_gap).min(SPECIAL_OFFSET) & !(MAXALIGN - 1);
            let first = || (1..=nline as u16).find(|&o| unused[o as usize - 1]);
            match plan_add_item(lower, upper, SPECIAL_OFFSET, hint, first, size) {
                Ok(a) => {
                    proptest::prop_assert!(a.lower <= a.upper);
                    proptest::prop_assert!(a.upper + size <= upper);
                    proptest::prop_assert!((a.off as usize) <= MAX_TUPLES_PER_PAGE);
                    if (a.off as usize) <= nline {
                        proptest::prop_assert!(hint && unused[a.off as usize - 1]);
                        proptest::prop_assert_eq!(a.lower, lower);
                    } else {
                        proptest::prop_assert_eq!(a.lower, lower + ITEM_ID_SIZE);
                    }
                    // heap_free_space never promises more than add_item can place
                }
                Err(AddItemError::NoRoom) => {
                    let has_unused = hint && unused[..nline].iter().any(|&u| u);
                    let fs = heap_free_space(lower, upper, nline, has_unused);
                    proptest::prop_assert!(fs < ((size + MAXALIGN - 1) & !(MAXALIGN - 1)) || (nline >= MAX_TUPLES_PER_PAGE && !has_unused) || upper < lower);
                }
                Err(AddItemError::Corrupted) => proptest::prop_assert!(upper < lower),
            }
        }
    }
}
