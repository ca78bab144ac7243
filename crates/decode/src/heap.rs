//! PostgreSQL heap's tuple header (HeapTupleHeaderData, htup_details.h), decoded from
//! untrusted bytes for side-by-side inspection. glassheap never writes this format.
//!
//! ```text
//! 0  u32 t_xmin      4  u32 t_xmax      8  u32 t_cid / t_xvac
//! 12 u16 bi_hi  14 u16 bi_lo  16 u16 ip_posid   (t_ctid)
//! 18 u16 t_infomask2 (natts in the low 11 bits)
//! 20 u16 t_infomask  22 u8 t_hoff  23.. t_bits (null bitmap, only with HEAP_HASNULL)
//! ```

use bitflags::bitflags;
use serde::Serialize;

/// SizeofHeapTupleHeader (23): defined once, with the heap tuples logical decoding builds.
pub use glassheap_format::logical::HEAP_TUPLE_HEADER_SIZE as HEAP_HEADER_SIZE;

/// Byte offsets of HeapTupleHeaderData's fields (the diagram above).
pub mod field {
    pub const T_XMIN: usize = 0;
    pub const T_XMAX: usize = 4;
    pub const T_CID: usize = 8;
    pub const T_CTID: usize = 12;
    pub const T_INFOMASK2: usize = 18;
    pub const T_INFOMASK: usize = 20;
    pub const T_HOFF: usize = 22;
}

/// htup_details.h's t_infomask and t_infomask2 bits under their C names: the one
/// definition that heap's redo (`heapreplay`), the WAL decoders' flag tables and the
/// `Infomask`/`Infomask2` flag sets below all use.
pub mod infomask {
    pub const HEAP_HASNULL: u16 = 0x0001;
    pub const HEAP_HASVARWIDTH: u16 = 0x0002;
    pub const HEAP_HASEXTERNAL: u16 = 0x0004;
    pub const HEAP_HASOID_OLD: u16 = 0x0008;
    pub const HEAP_XMAX_KEYSHR_LOCK: u16 = 0x0010;
    pub const HEAP_COMBOCID: u16 = 0x0020;
    pub const HEAP_XMAX_EXCL_LOCK: u16 = 0x0040;
    pub const HEAP_XMAX_LOCK_ONLY: u16 = 0x0080;
    pub const HEAP_XMIN_COMMITTED: u16 = 0x0100;
    pub const HEAP_XMIN_INVALID: u16 = 0x0200;
    pub const HEAP_XMAX_COMMITTED: u16 = 0x0400;
    pub const HEAP_XMAX_INVALID: u16 = 0x0800;
    pub const HEAP_XMAX_IS_MULTI: u16 = 0x1000;
    pub const HEAP_UPDATED: u16 = 0x2000;
    pub const HEAP_MOVED_OFF: u16 = 0x4000;
    pub const HEAP_MOVED_IN: u16 = 0x8000;

    pub const HEAP_XMAX_SHR_LOCK: u16 = HEAP_XMAX_EXCL_LOCK | HEAP_XMAX_KEYSHR_LOCK;
    pub const HEAP_LOCK_MASK: u16 =
        HEAP_XMAX_SHR_LOCK | HEAP_XMAX_EXCL_LOCK | HEAP_XMAX_KEYSHR_LOCK;
    pub const HEAP_XMIN_FROZEN: u16 = HEAP_XMIN_COMMITTED | HEAP_XMIN_INVALID;
    pub const HEAP_MOVED: u16 = HEAP_MOVED_OFF | HEAP_MOVED_IN;
    pub const HEAP_XMAX_BITS: u16 = HEAP_XMAX_COMMITTED
        | HEAP_XMAX_INVALID
        | HEAP_XMAX_IS_MULTI
        | HEAP_LOCK_MASK
        | HEAP_XMAX_LOCK_ONLY;
    /// The visibility bits heap_mask ignores while xmin is not frozen.
    pub const HEAP_XACT_MASK: u16 = 0xFFF0;

    // t_infomask2
    /// The attribute count in the low 11 bits.
    pub const HEAP_NATTS_MASK: u16 = 0x07FF;
    pub const HEAP_KEYS_UPDATED: u16 = 0x2000;
    pub const HEAP_HOT_UPDATED: u16 = 0x4000;
    pub const HEAP_ONLY_TUPLE: u16 = 0x8000;
}

use infomask as im;

bitflags! {
    /// t_infomask. Names are pageinspect's raw flag names without the HEAP_ prefix.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Infomask: u16 {
        const HASNULL = im::HEAP_HASNULL;
        const HASVARWIDTH = im::HEAP_HASVARWIDTH;
        const HASEXTERNAL = im::HEAP_HASEXTERNAL;
        const HASOID_OLD = im::HEAP_HASOID_OLD;
        const XMAX_KEYSHR_LOCK = im::HEAP_XMAX_KEYSHR_LOCK;
        const COMBOCID = im::HEAP_COMBOCID;
        const XMAX_EXCL_LOCK = im::HEAP_XMAX_EXCL_LOCK;
        const XMAX_LOCK_ONLY = im::HEAP_XMAX_LOCK_ONLY;
        const XMIN_COMMITTED = im::HEAP_XMIN_COMMITTED;
        const XMIN_INVALID = im::HEAP_XMIN_INVALID;
        const XMAX_COMMITTED = im::HEAP_XMAX_COMMITTED;
        const XMAX_INVALID = im::HEAP_XMAX_INVALID;
        const XMAX_IS_MULTI = im::HEAP_XMAX_IS_MULTI;
        const UPDATED = im::HEAP_UPDATED;
        const MOVED_OFF = im::HEAP_MOVED_OFF;
        const MOVED_IN = im::HEAP_MOVED_IN;
    }
}

bitflags! {
    /// The flag bits of t_infomask2 (the low 11 bits are natts).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Infomask2: u16 {
        const KEYS_UPDATED = im::HEAP_KEYS_UPDATED;
        const HOT_UPDATED = im::HEAP_HOT_UPDATED;
        const ONLY_TUPLE = im::HEAP_ONLY_TUPLE;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeapHeader {
    pub xmin: u32,
    pub xmax: u32,
    pub field3: u32,
    pub ctid: (u32, u16),
    pub infomask2: u16,
    pub infomask: u16,
    pub hoff: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeapTupleError(pub String);

impl std::fmt::Display for HeapTupleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

use glassheap_format::page::{u16_at, u32_at};

impl HeapHeader {
    pub fn decode(item: &[u8]) -> Result<HeapHeader, HeapTupleError> {
        if item.len() < HEAP_HEADER_SIZE {
            return Err(HeapTupleError(format!(
                "item of {} bytes is shorter than a heap tuple header",
                item.len()
            )));
        }
        Ok(HeapHeader {
            xmin: u32_at(item, field::T_XMIN),
            xmax: u32_at(item, field::T_XMAX),
            field3: u32_at(item, field::T_CID),
            ctid: (
                ((u16_at(item, field::T_CTID) as u32) << 16)
                    | u16_at(item, field::T_CTID + 2) as u32,
                u16_at(item, field::T_CTID + 4),
            ),
            infomask2: u16_at(item, field::T_INFOMASK2),
            infomask: u16_at(item, field::T_INFOMASK),
            hoff: item[field::T_HOFF],
        })
    }
    pub fn natts(&self) -> u16 {
        self.infomask2 & im::HEAP_NATTS_MASK
    }
    pub fn has_nulls(&self) -> bool {
        self.infomask & Infomask::HASNULL.bits() != 0
    }
    /// pageinspect-style raw flag names, lowercase without HEAP_.
    pub fn flag_names(&self) -> Vec<String> {
        use heck::ToSnakeCase;
        let mut out: Vec<String> = Infomask::from_bits_retain(self.infomask)
            .iter_names()
            .map(|(n, _)| n.to_snake_case())
            .collect();
        out.extend(
            Infomask2::from_bits_retain(self.infomask2 & 0xE000)
                .iter_names()
                .map(|(n, _)| n.to_snake_case()),
        );
        out
    }
    /// The null bitmap as pageinspect prints t_bits: one '0'/'1' per bit, whole bytes.
    pub fn null_bits(&self, item: &[u8]) -> Result<Option<String>, HeapTupleError> {
        if !self.has_nulls() {
            return Ok(None);
        }
        let nbytes = (self.natts() as usize).div_ceil(8);
        let end = HEAP_HEADER_SIZE + nbytes;
        if end > self.hoff as usize || end > item.len() {
            return Err(HeapTupleError(format!(
                "null bitmap of {nbytes} bytes does not fit before t_hoff {}",
                self.hoff
            )));
        }
        Ok(Some(bits_text(&item[HEAP_HEADER_SIZE..end])))
    }
    pub fn fields_json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct J<'a> {
            t_xmin: u32,
            t_xmax: u32,
            t_field3: u32,
            t_ctid: String,
            t_infomask2: u16,
            t_infomask: u16,
            t_hoff: u8,
            natts: u16,
            flags: &'a [String],
        }
        let flags = self.flag_names();
        serde_json::to_value(J {
            t_xmin: self.xmin,
            t_xmax: self.xmax,
            t_field3: self.field3,
            t_ctid: format!("({},{})", self.ctid.0, self.ctid.1),
            t_infomask2: self.infomask2,
            t_infomask: self.infomask,
            t_hoff: self.hoff,
            natts: self.natts(),
            flags: &flags,
        })
        .unwrap_or(serde_json::Value::Null)
    }
}

/// A bitmap as '0'/'1' characters, least significant bit of each byte first (pageinspect).
pub fn bits_text(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 8);
    for b in bytes {
        for i in 0..8 {
            s.push(if b & (1 << i) != 0 { '1' } else { '0' });
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_fields_and_flags() {
        let mut t = vec![0u8; 32];
        t[0..4].copy_from_slice(&700u32.to_ne_bytes());
        t[12..14].copy_from_slice(&0u16.to_ne_bytes());
        t[14..16].copy_from_slice(&3u16.to_ne_bytes());
        t[16..18].copy_from_slice(&7u16.to_ne_bytes());
        t[18..20].copy_from_slice(&(0x4000u16 | 2).to_ne_bytes());
        t[20..22].copy_from_slice(&(0x0100u16 | 0x0800 | 0x0002 | 0x0001).to_ne_bytes());
        t[22] = 24;
        t[23] = 0b01;
        let h = HeapHeader::decode(&t).unwrap();
        assert_eq!(h.xmin, 700);
        assert_eq!(h.ctid, (3, 7));
        assert_eq!(h.natts(), 2);
        assert_eq!(
            h.flag_names(),
            vec![
                "hasnull",
                "hasvarwidth",
                "xmin_committed",
                "xmax_invalid",
                "hot_updated"
            ]
        );
        assert_eq!(h.null_bits(&t).unwrap().as_deref(), Some("10000000"));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(h) = HeapHeader::decode(&bytes) {
                let _ = h.flag_names();
                let _ = h.null_bits(&bytes);
                let _ = h.fields_json();
            }
        }
    }
}

/// The facts heap's visibility rules read from a heap tuple header, restated as a
/// glassheap header so one implementation of the rules (glassheap_format::visibility) can judge and
/// explain both formats. Heap's infomask bits map one to one onto glassheap's hint and
/// multixact flags; heap's lock bits and HEAP_KEYS_UPDATED onto the xmax mode (heap's
/// HEAP_XMAX_IS_LOCKED_ONLY test, restated); t_cid onto aux. The version pointer is not
/// carried over (visibility does not read it).
pub fn rules_view(h: &HeapHeader) -> glassheap_format::tuple::TupleHeader {
    use glassheap_format::tuple::{pack_info, TupleFlags, XmaxMode, NEXT_NONE};
    let im = Infomask::from_bits_retain(h.infomask);
    let im2 = Infomask2::from_bits_retain(h.infomask2);
    let mut f = TupleFlags::empty();
    for (heap_bit, ours) in [
        (Infomask::XMIN_COMMITTED, TupleFlags::XMIN_COMMITTED),
        (Infomask::XMIN_INVALID, TupleFlags::XMIN_INVALID),
        (Infomask::XMAX_COMMITTED, TupleFlags::XMAX_COMMITTED),
        (Infomask::XMAX_INVALID, TupleFlags::XMAX_INVALID),
        (Infomask::XMAX_IS_MULTI, TupleFlags::XMAX_IS_MULTI),
        (Infomask::HASNULL, TupleFlags::HAS_NULLS),
        (Infomask::COMBOCID, TupleFlags::COMBO_CID),
    ] {
        if im.contains(heap_bit) {
            f |= ours;
        }
    }
    if im2.contains(Infomask2::ONLY_TUPLE) {
        f |= TupleFlags::HEAP_ONLY;
    }
    // HEAP_XMAX_IS_LOCKED_ONLY: the lock-only bit, or a plain (non-multi) exclusive lock
    let excl_only = im
        & (Infomask::XMAX_IS_MULTI | Infomask::XMAX_KEYSHR_LOCK | Infomask::XMAX_EXCL_LOCK)
        == Infomask::XMAX_EXCL_LOCK;
    let lock_only = im.contains(Infomask::XMAX_LOCK_ONLY) || excl_only;
    let mode = if lock_only {
        let shr = im.contains(Infomask::XMAX_KEYSHR_LOCK);
        let excl = im.contains(Infomask::XMAX_EXCL_LOCK);
        match (shr, excl) {
            (true, true) => XmaxMode::LockShare,
            (true, false) => XmaxMode::LockKeyShare,
            // heap does not tell FOR UPDATE from FOR NO KEY UPDATE on a lock-only xmax
            // without KEYS_UPDATED; both exclude writers
            (false, _) if im2.contains(Infomask2::KEYS_UPDATED) => XmaxMode::LockExclusive,
            (false, _) => XmaxMode::LockNoKeyExclusive,
        }
    } else if im2.contains(Infomask2::KEYS_UPDATED) {
        XmaxMode::Update
    } else {
        XmaxMode::NoKeyUpdate
    };
    glassheap_format::tuple::TupleHeader {
        xmin: h.xmin,
        xmax: h.xmax,
        aux: h.field3,
        info: pack_info(
            NEXT_NONE,
            h.natts().min(glassheap_format::tuple::MAX_NATTS),
            mode,
            f,
        ),
    }
}

#[cfg(test)]
mod rules_view_tests {
    use super::*;
    use glassheap_format::tuple::{TupleFlags, XmaxMode};

    fn hdr(infomask: u16, infomask2: u16) -> HeapHeader {
        HeapHeader {
            xmin: 100,
            xmax: 200,
            field3: 3,
            ctid: (0, 1),
            infomask2: infomask2 | 2,
            infomask,
            hoff: 24,
        }
    }

    #[test]
    fn hint_bits_and_multi_carry_over() {
        let v = rules_view(&hdr(0x0100 | 0x0800, 0));
        assert!(v.xmin_committed() && v.xmax_invalid() && !v.xmin_invalid());
        let v = rules_view(&hdr(0x0100 | 0x0200, 0));
        assert!(v.xmin_frozen());
        let v = rules_view(&hdr(0x1000 | 0x0400, 0));
        assert!(v.xmax_is_multi() && v.xmax_committed());
        assert_eq!((v.xmin, v.xmax, v.aux, v.natts()), (100, 200, 3, 2));
        assert!(rules_view(&hdr(0x0020, 0)).has(TupleFlags::COMBO_CID));
    }

    #[test]
    fn lock_only_follows_heap_xmax_is_locked_only() {
        // FOR KEY SHARE, FOR SHARE, FOR UPDATE as heap_lock_tuple writes them
        assert_eq!(
            rules_view(&hdr(0x0080 | 0x0010, 0)).xmax_mode(),
            XmaxMode::LockKeyShare
        );
        assert_eq!(
            rules_view(&hdr(0x0080 | 0x0050, 0)).xmax_mode(),
            XmaxMode::LockShare
        );
        assert_eq!(
            rules_view(&hdr(0x0080 | 0x0040, 0x2000)).xmax_mode(),
            XmaxMode::LockExclusive
        );
        // a bare EXCL_LOCK without LOCK_ONLY is still lock-only (pre-9.3 upgrade rule)
        assert!(rules_view(&hdr(0x0040, 0)).xmax_is_locked_only());
        // updates: key update vs no-key update
        assert_eq!(rules_view(&hdr(0, 0x2000)).xmax_mode(), XmaxMode::Update);
        assert_eq!(rules_view(&hdr(0, 0)).xmax_mode(), XmaxMode::NoKeyUpdate);
        assert!(!rules_view(&hdr(0x1000, 0)).xmax_is_locked_only());
    }
}
