//! Any PostgreSQL page, decoded from untrusted bytes: the 24-byte PageHeaderData and the
//! line pointer array. Shared by the inspection of heap and glassheap pages.

use crate::{BLCKSZ, PAGE_HEADER_SIZE};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageError {
    TooShort(usize),
    BadSize(usize),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::TooShort(n) => write!(
                f,
                "page of {n} bytes is shorter than a page header ({PAGE_HEADER_SIZE} bytes)"
            ),
            PageError::BadSize(n) => write!(f, "page is {n} bytes; expected {BLCKSZ}"),
        }
    }
}
impl std::error::Error for PageError {}

/// Native-endian reads at a byte offset the caller has bounds-checked.
#[inline]
pub fn u16_at(b: &[u8], at: usize) -> u16 {
    // one bounds check for the whole field (a panic past the end, as indexing)
    u16::from_ne_bytes(b[at..at + 2].try_into().expect("two bytes"))
}
#[inline]
pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().expect("four bytes"))
}

/// PageHeaderData, field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageHeader {
    pub lsn: u64,
    pub checksum: u16,
    pub flags: u16,
    pub lower: u16,
    pub upper: u16,
    pub special: u16,
    pub pagesize_version: u16,
    pub prune_xid: u32,
}

pub const PD_HAS_FREE_LINES: u16 = 0x0001;
pub const PD_PAGE_FULL: u16 = 0x0002;
pub const PD_ALL_VISIBLE: u16 = 0x0004;

impl PageHeader {
    /// Decodes the header of `page` (which must be at least 24 bytes).
    pub fn decode(page: &[u8]) -> Result<PageHeader, PageError> {
        if page.len() < PAGE_HEADER_SIZE {
            return Err(PageError::TooShort(page.len()));
        }
        Ok(PageHeader {
            lsn: ((u32_at(page, 0) as u64) << 32) | u32_at(page, 4) as u64,
            checksum: u16_at(page, 8),
            flags: u16_at(page, 10),
            lower: u16_at(page, 12),
            upper: u16_at(page, 14),
            special: u16_at(page, 16),
            pagesize_version: u16_at(page, 18),
            prune_xid: u32_at(page, 20),
        })
    }
    pub fn page_size(&self) -> usize {
        (self.pagesize_version & 0xFF00) as usize
    }
    pub fn layout_version(&self) -> u8 {
        (self.pagesize_version & 0x00FF) as u8
    }
    /// pd_flags by name (unknown bits as hex).
    pub fn flag_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (bit, name) in [
            (PD_HAS_FREE_LINES, "has_free_lines"),
            (PD_PAGE_FULL, "page_full"),
            (PD_ALL_VISIBLE, "all_visible"),
        ] {
            if self.flags & bit != 0 {
                out.push(name.to_string());
            }
        }
        let unknown = self.flags & !(PD_HAS_FREE_LINES | PD_PAGE_FULL | PD_ALL_VISIBLE);
        if unknown != 0 {
            out.push(format!("{unknown:#06x}"));
        }
        out
    }
    /// PageGetFreeSpace: the gap between the line pointers and the tuples, minus one line
    /// pointer (0 when the header is inconsistent).
    pub fn free_space(&self) -> usize {
        let (lo, up) = (self.lower as usize, self.upper as usize);
        if lo < PAGE_HEADER_SIZE || up < lo {
            return 0;
        }
        (up - lo).saturating_sub(crate::layout::ITEM_ID_SIZE)
    }
    /// Number of line pointers the header claims.
    pub fn line_pointer_count(&self) -> usize {
        (self.lower as usize).saturating_sub(PAGE_HEADER_SIZE) / crate::layout::ITEM_ID_SIZE
    }
    pub fn is_new(&self) -> bool {
        self.upper == 0
    }
    /// Problems with the header itself (PageHeaderIsValid's rules).
    pub fn problems(&self, page_len: usize) -> Vec<String> {
        let mut out = Vec::new();
        if self.is_new() {
            return out;
        }
        if self.page_size() != page_len {
            out.push(format!(
                "page size {} in header does not match {} bytes",
                self.page_size(),
                page_len
            ));
        }
        if self.layout_version() != 4 {
            out.push(format!(
                "page layout version {} is not 4",
                self.layout_version()
            ));
        }
        let (lo, up, sp) = (
            self.lower as usize,
            self.upper as usize,
            self.special as usize,
        );
        if !(PAGE_HEADER_SIZE <= lo && lo <= up && up <= sp && sp <= page_len) {
            out.push(format!("pd_lower {lo}, pd_upper {up}, pd_special {sp} are not in order within {page_len} bytes"));
        }
        if sp % crate::MAXALIGN != 0 {
            out.push(format!("pd_special {sp} is not MAXALIGNed"));
        }
        out
    }
}

/// lp_flags values.
pub const LP_UNUSED: u8 = 0;
pub const LP_NORMAL: u8 = 1;
pub const LP_REDIRECT: u8 = 2;
pub const LP_DEAD: u8 = 3;

pub fn lp_flags_name(f: u8) -> &'static str {
    match f {
        LP_UNUSED => "unused",
        LP_NORMAL => "normal",
        LP_REDIRECT => "redirect",
        _ => "dead",
    }
}

/// ItemIdData: lp_off:15, lp_flags:2, lp_len:15 in one 32-bit word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LinePointer {
    pub lp: u16,
    pub off: u16,
    pub flags: u8,
    pub len: u16,
}

impl LinePointer {
    /// The 32-bit word of a line pointer (the inverse of [`LinePointer::from_word`]).
    #[inline]
    pub fn word(off: usize, flags: u32, len: usize) -> u32 {
        (off as u32 & 0x7FFF) | ((flags & 3) << 15) | ((len as u32 & 0x7FFF) << 17)
    }
    #[inline]
    pub fn from_word(lp: u16, w: u32) -> LinePointer {
        LinePointer {
            lp,
            off: (w & 0x7FFF) as u16,
            flags: ((w >> 15) & 3) as u8,
            len: (w >> 17) as u16,
        }
    }
    #[inline]
    pub fn has_storage(&self) -> bool {
        self.len != 0
    }
    /// The item's bytes, when its extent lies inside the page.
    pub fn item<'a>(&self, page: &'a [u8]) -> Option<&'a [u8]> {
        let (o, l) = (self.off as usize, self.len as usize);
        if o < PAGE_HEADER_SIZE || o.checked_add(l)? > page.len() {
            return None;
        }
        Some(&page[o..o + l])
    }
}

/// The line pointers the header claims, limited to what the page can hold.
pub fn line_pointers(page: &[u8]) -> Result<Vec<LinePointer>, PageError> {
    let h = PageHeader::decode(page)?;
    let n = h
        .line_pointer_count()
        .min((page.len().saturating_sub(PAGE_HEADER_SIZE)) / 4);
    Ok((0..n)
        .map(|i| LinePointer::from_word(i as u16 + 1, u32_at(page, PAGE_HEADER_SIZE + 4 * i)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn empty_page(special: usize) -> Vec<u8> {
        let mut p = vec![0u8; BLCKSZ];
        p[12..14].copy_from_slice(&24u16.to_ne_bytes());
        p[14..16].copy_from_slice(&((BLCKSZ - special) as u16).to_ne_bytes());
        p[16..18].copy_from_slice(&((BLCKSZ - special) as u16).to_ne_bytes());
        p[18..20].copy_from_slice(&(0x2000u16 | 4).to_ne_bytes());
        p
    }

    #[test]
    fn header_fields() {
        let mut p = empty_page(8);
        p[0..4].copy_from_slice(&1u32.to_ne_bytes());
        p[4..8].copy_from_slice(&0x28u32.to_ne_bytes());
        p[10..12].copy_from_slice(&(PD_ALL_VISIBLE | PD_PAGE_FULL).to_ne_bytes());
        let h = PageHeader::decode(&p).unwrap();
        assert_eq!(h.lsn, (1u64 << 32) | 0x28);
        assert_eq!(h.page_size(), 8192);
        assert_eq!(h.layout_version(), 4);
        assert_eq!(h.special, 8184);
        assert_eq!(h.flag_names(), vec!["page_full", "all_visible"]);
        assert_eq!(h.free_space(), 8184 - 24 - 4);
        assert!(h.problems(BLCKSZ).is_empty());
    }

    #[test]
    fn line_pointer_bits() {
        let w = 8000u32 | (1 << 15) | (28 << 17);
        let lp = LinePointer::from_word(1, w);
        assert_eq!((lp.off, lp.flags, lp.len), (8000, LP_NORMAL, 28));
        let bad = LinePointer::from_word(1, 8190u32 | (1 << 15) | (28 << 17));
        assert!(bad.item(&vec![0u8; BLCKSZ]).is_none());
    }

    #[test]
    fn inconsistent_headers_are_reported() {
        let mut p = empty_page(0);
        p[12..14].copy_from_slice(&9000u16.to_ne_bytes());
        let h = PageHeader::decode(&p).unwrap();
        assert!(!h.problems(BLCKSZ).is_empty());
        assert_eq!(h.free_space(), 0);
        assert!(PageHeader::decode(&[0u8; 10]).is_err());
    }

    proptest! {
        #[test]
        fn line_pointer_word_round_trips(off in 0usize..0x8000, flags in 0u32..4, len in 0usize..0x8000, lp in any::<u16>()) {
            let w = LinePointer::word(off, flags, len);
            let back = LinePointer::from_word(lp, w);
            prop_assert_eq!((back.off as usize, back.flags as u32, back.len as usize), (off, flags, len));
            prop_assert_eq!(back.lp, lp);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(h) = PageHeader::decode(&bytes) {
                let _ = h.flag_names();
                let _ = h.free_space();
                let _ = h.problems(bytes.len());
            }
            if let Ok(lps) = line_pointers(&bytes) {
                for lp in lps { let _ = lp.item(&bytes); }
            }
        }
    }
}
