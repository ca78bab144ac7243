//! glassheap's tuple header: 16 bytes instead of heap's 23 (24 after alignment).
//!
//! ```text
//! offset  size  field
//!  0      4     xmin   inserting transaction id
//!  4      4     xmax   deleting/updating/locking xid or MultiXactId (0 = none)
//!  8      4     aux    command id (cmin, cmax or combo id) -- or, when NEXT_ON_OTHER_PAGE
//!                      is set, the block number of the newer version; when the version is a
//!                      speculative insertion (next_off = SPECULATIVE), the speculative token
//! 12      4     info   bits 0..9   next_off: offset of the newer version (0 = none)
//!                      bits 9..20  natts: number of attributes stored
//!                      bits 20..23 xmax_mode: what xmax did (see [`XmaxMode`])
//!                      bits 23..32 flags (see [`TupleFlags`])
//! 16      n     null bitmap (only with HAS_NULLS): ceil(natts/8) bytes, bit set = not null
//!         pad   up to MAXALIGN
//! hoff    ...   attribute data, laid out exactly like heap's data area
//! ```
//!
//! Why each field exists is documented in docs/FORMAT.md. The short version: heap spends
//! 6 bytes on t_ctid in every tuple although only updated tuples need a forward pointer,
//! and 4 bytes on the command id although only the writing transaction ever reads it.
//! glassheap keeps a 9-bit same-page forward offset in the info word and shares one
//! 4-byte word (`aux`) between the command id and the forward block number: a tuple needs
//! both only while the transaction that moved it to another page is still running, and
//! for that case the command id is kept in backend memory (see the AM's cid map).

use crate::MAXALIGN;
use bitflags::bitflags;
use serde::Serialize;

/// Size of the fixed tuple header.
pub const HEADER_SIZE: usize = 16;

/// next_off value: no newer version (heap: t_ctid points at itself).
pub const NEXT_NONE: u16 = 0;
/// next_off value: the tuple is a speculative insertion; aux holds the token.
pub const NEXT_SPECULATIVE: u16 = 511;
/// next_off value: the row was moved to another partition by an UPDATE
/// (heap: MovedPartitionsOffsetNumber).
pub const NEXT_MOVED_PARTITIONS: u16 = 510;
/// Largest offset a real forward pointer can hold (MaxHeapTuplesPerPage).
pub const MAX_NEXT_OFF: u16 = 291;

/// Maximum number of attributes the info word can hold (11 bits).
pub const MAX_NATTS: u16 = (1 << 11) - 1;

const NEXT_OFF_MASK: u32 = 0x1FF;
const NATTS_SHIFT: u32 = 9;
const NATTS_MASK: u32 = 0x7FF;
const MODE_SHIFT: u32 = 20;
const MODE_MASK: u32 = 0x7;
const FLAGS_SHIFT: u32 = 23;
const FLAGS_MASK: u32 = 0x1FF;

bitflags! {
    /// The nine flag bits of the info word (stored at bit 23 and up).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    pub struct TupleFlags: u16 {
        /// Hint: xmin is known committed.
        const XMIN_COMMITTED = 1 << 0;
        /// Hint: xmin is known aborted. Both xmin bits together mean "frozen".
        const XMIN_INVALID = 1 << 1;
        /// Hint: xmax is known committed.
        const XMAX_COMMITTED = 1 << 2;
        /// xmax is invalid or known aborted: no deleter, updater or locker matters.
        const XMAX_INVALID = 1 << 3;
        /// xmax is a MultiXactId.
        const XMAX_IS_MULTI = 1 << 4;
        /// A null bitmap follows the fixed header.
        const HAS_NULLS = 1 << 5;
        /// aux holds a combo command id (cmin and cmax of the same transaction).
        const COMBO_CID = 1 << 6;
        /// This version has no index entries of its own; it is reached through the
        /// same-page chain from an older version (heap: HEAP_ONLY_TUPLE).
        const HEAP_ONLY = 1 << 7;
        /// The newer version lives on another page: aux holds its block number and
        /// next_off its offset; the command id is in backend memory.
        const NEXT_ON_OTHER_PAGE = 1 << 8;
    }
}

/// Both xmin hint bits set: the tuple is frozen (visible to everyone).
pub const XMIN_FROZEN: TupleFlags = TupleFlags::XMIN_COMMITTED.union(TupleFlags::XMIN_INVALID);
/// The hint bits, which may change without WAL and are masked by consistency checking.
pub const HINT_FLAGS: TupleFlags = TupleFlags::XMIN_COMMITTED
    .union(TupleFlags::XMIN_INVALID)
    .union(TupleFlags::XMAX_COMMITTED)
    .union(TupleFlags::XMAX_INVALID);

/// What the transaction in xmax did to this version (3 bits). With XMAX_IS_MULTI the
/// update modes mean "the multixact contains an updater of that kind" and the lock modes
/// mean "lock-only multixact; strongest lock held".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum XmaxMode {
    /// DELETE, or an UPDATE that changed key columns (heap: KEYS_UPDATED, not LOCK_ONLY).
    Update = 0,
    /// UPDATE that left key columns alone (FOR NO KEY UPDATE strength).
    NoKeyUpdate = 1,
    /// SELECT ... FOR KEY SHARE.
    LockKeyShare = 2,
    /// SELECT ... FOR SHARE.
    LockShare = 3,
    /// SELECT ... FOR NO KEY UPDATE.
    LockNoKeyExclusive = 4,
    /// SELECT ... FOR UPDATE.
    LockExclusive = 5,
}

impl XmaxMode {
    pub fn from_bits(v: u8) -> Option<XmaxMode> {
        Some(match v {
            0 => XmaxMode::Update,
            1 => XmaxMode::NoKeyUpdate,
            2 => XmaxMode::LockKeyShare,
            3 => XmaxMode::LockShare,
            4 => XmaxMode::LockNoKeyExclusive,
            5 => XmaxMode::LockExclusive,
            _ => return None,
        })
    }
    /// True when the xmax only locked the row (heap: HEAP_XMAX_LOCK_ONLY).
    #[inline]
    pub fn is_lock_only(self) -> bool {
        !matches!(self, XmaxMode::Update | XmaxMode::NoKeyUpdate)
    }
    /// True when key columns changed or the row was deleted or locked FOR UPDATE
    /// (heap: HEAP_KEYS_UPDATED).
    #[inline]
    pub fn keys_updated(self) -> bool {
        matches!(self, XmaxMode::Update | XmaxMode::LockExclusive)
    }
    pub fn name(self) -> &'static str {
        match self {
            XmaxMode::Update => "update",
            XmaxMode::NoKeyUpdate => "no_key_update",
            XmaxMode::LockKeyShare => "lock_key_share",
            XmaxMode::LockShare => "lock_share",
            XmaxMode::LockNoKeyExclusive => "lock_no_key_exclusive",
            XmaxMode::LockExclusive => "lock_exclusive",
        }
    }
}

/// The decoded fixed header. Plain data; reading and writing it is a matter of four
/// native-endian u32 loads/stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TupleHeader {
    pub xmin: u32,
    pub xmax: u32,
    pub aux: u32,
    pub info: u32,
}

/// Errors from decoding bytes that claim to be a glassheap tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TupleError {
    TooShort { len: usize, need: usize },
    BadXmaxMode(u8),
    NattsTooLarge(u16),
    BadNextOffset(u16),
}

impl std::fmt::Display for TupleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TupleError::TooShort { len, need } => {
                write!(
                    f,
                    "tuple of {len} bytes is shorter than its header ({need} bytes)"
                )
            }
            TupleError::BadXmaxMode(m) => write!(f, "invalid xmax mode {m}"),
            TupleError::NattsTooLarge(n) => write!(f, "natts {n} exceeds the maximum of 1664"),
            TupleError::BadNextOffset(o) => {
                write!(f, "next offset {o} is not a valid line pointer")
            }
        }
    }
}
impl std::error::Error for TupleError {}

impl TupleHeader {
    /// A fresh header for a tuple inserted by `xmin` (xmax invalid).
    pub fn new_insert(xmin: u32, cid: u32, natts: u16, has_nulls: bool) -> TupleHeader {
        let mut flags = TupleFlags::XMAX_INVALID;
        if has_nulls {
            flags |= TupleFlags::HAS_NULLS;
        }
        TupleHeader {
            xmin,
            xmax: 0,
            aux: cid,
            info: pack_info(NEXT_NONE, natts, XmaxMode::Update, flags),
        }
    }

    /// Reads the header from the first 16 bytes. Panics if `b` is shorter; use
    /// [`TupleHeader::decode`] for untrusted bytes.
    #[inline(always)]
    pub fn read(b: &[u8]) -> TupleHeader {
        // One length check for the whole header (this is on every tuple's path).
        let h: &[u8; HEADER_SIZE] = b[..HEADER_SIZE].try_into().expect("16 bytes");
        let word = |at: usize| u32::from_ne_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
        TupleHeader {
            xmin: word(0),
            xmax: word(4),
            aux: word(8),
            info: word(12),
        }
    }

    /// Bounds-checked decode for inspection and verification.
    pub fn decode(b: &[u8]) -> Result<TupleHeader, TupleError> {
        if b.len() < HEADER_SIZE {
            return Err(TupleError::TooShort {
                len: b.len(),
                need: HEADER_SIZE,
            });
        }
        Ok(Self::read(b))
    }

    /// [`TupleHeader::validate`] without saying why: one test of each field, no error
    /// built (the page check runs it for every version it visits).
    #[inline]
    pub fn is_valid(&self) -> bool {
        let n = self.next_off();
        XmaxMode::from_bits(((self.info >> MODE_SHIFT) & MODE_MASK) as u8).is_some()
            && self.natts() <= 1664
            && (n <= MAX_NEXT_OFF || n == NEXT_SPECULATIVE || n == NEXT_MOVED_PARTITIONS)
    }

    /// Checks the fields that can be invalid in a header whose bytes are all present.
    pub fn validate(&self) -> Result<(), TupleError> {
        let m = ((self.info >> MODE_SHIFT) & MODE_MASK) as u8;
        if XmaxMode::from_bits(m).is_none() {
            return Err(TupleError::BadXmaxMode(m));
        }
        if self.natts() > 1664 {
            return Err(TupleError::NattsTooLarge(self.natts()));
        }
        let n = self.next_off();
        if n > MAX_NEXT_OFF && n != NEXT_SPECULATIVE && n != NEXT_MOVED_PARTITIONS {
            return Err(TupleError::BadNextOffset(n));
        }
        Ok(())
    }

    #[inline]
    pub fn write(&self, b: &mut [u8]) {
        b[0..4].copy_from_slice(&self.xmin.to_ne_bytes());
        b[4..8].copy_from_slice(&self.xmax.to_ne_bytes());
        b[8..12].copy_from_slice(&self.aux.to_ne_bytes());
        b[12..16].copy_from_slice(&self.info.to_ne_bytes());
    }

    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        self.write(&mut b);
        b
    }

    #[inline]
    pub fn next_off(&self) -> u16 {
        (self.info & NEXT_OFF_MASK) as u16
    }
    #[inline]
    pub fn natts(&self) -> u16 {
        ((self.info >> NATTS_SHIFT) & NATTS_MASK) as u16
    }
    #[inline]
    pub fn flags(&self) -> TupleFlags {
        TupleFlags::from_bits_retain(((self.info >> FLAGS_SHIFT) & FLAGS_MASK) as u16)
    }
    /// The raw 3-bit mode; [`TupleHeader::xmax_mode`] maps invalid values to `Update`.
    #[inline]
    pub fn xmax_mode_bits(&self) -> u8 {
        ((self.info >> MODE_SHIFT) & MODE_MASK) as u8
    }
    #[inline]
    pub fn xmax_mode(&self) -> XmaxMode {
        XmaxMode::from_bits(self.xmax_mode_bits()).unwrap_or(XmaxMode::Update)
    }
    #[inline]
    pub fn has(&self, f: TupleFlags) -> bool {
        self.flags().contains(f)
    }
    #[inline]
    pub fn set_next_off(&mut self, off: u16) {
        self.info = (self.info & !NEXT_OFF_MASK) | (off as u32 & NEXT_OFF_MASK);
    }
    #[inline]
    pub fn set_natts(&mut self, n: u16) {
        self.info =
            (self.info & !(NATTS_MASK << NATTS_SHIFT)) | ((n as u32 & NATTS_MASK) << NATTS_SHIFT);
    }
    #[inline]
    pub fn set_xmax_mode(&mut self, m: XmaxMode) {
        self.info = (self.info & !(MODE_MASK << MODE_SHIFT)) | ((m as u32) << MODE_SHIFT);
    }
    #[inline]
    pub fn set_flags(&mut self, f: TupleFlags) {
        self.info |= (f.bits() as u32) << FLAGS_SHIFT;
    }
    #[inline]
    pub fn clear_flags(&mut self, f: TupleFlags) {
        self.info &= !((f.bits() as u32) << FLAGS_SHIFT);
    }

    // --- Questions the visibility rules ask, named after heap's macros. ---

    #[inline]
    pub fn xmin_committed(&self) -> bool {
        self.has(TupleFlags::XMIN_COMMITTED)
    }
    #[inline]
    pub fn xmin_invalid(&self) -> bool {
        // Frozen sets both bits; "invalid" alone means aborted.
        self.flags() & XMIN_FROZEN == TupleFlags::XMIN_INVALID
    }
    #[inline]
    pub fn xmin_frozen(&self) -> bool {
        self.flags().contains(XMIN_FROZEN)
    }
    #[inline]
    pub fn xmax_invalid(&self) -> bool {
        self.has(TupleFlags::XMAX_INVALID)
    }
    #[inline]
    pub fn xmax_committed(&self) -> bool {
        self.has(TupleFlags::XMAX_COMMITTED)
    }
    #[inline]
    pub fn xmax_is_multi(&self) -> bool {
        self.has(TupleFlags::XMAX_IS_MULTI)
    }
    /// heap: HEAP_XMAX_IS_LOCKED_ONLY(infomask) -- xmax invalid or lock-only.
    #[inline]
    pub fn xmax_is_locked_only(&self) -> bool {
        self.xmax_invalid() || self.xmax_mode().is_lock_only()
    }
    #[inline]
    pub fn is_speculative(&self) -> bool {
        self.next_off() == NEXT_SPECULATIVE
    }
    #[inline]
    pub fn moved_partitions(&self) -> bool {
        self.next_off() == NEXT_MOVED_PARTITIONS
    }
    /// The tuple has a newer version (updated), on this or another page.
    #[inline]
    pub fn has_next(&self) -> bool {
        let n = self.next_off();
        n != NEXT_NONE && n <= MAX_NEXT_OFF
    }
    /// aux holds a command id (not a block number or speculative token).
    #[inline]
    pub fn aux_is_cid(&self) -> bool {
        !self.has(TupleFlags::NEXT_ON_OTHER_PAGE) && !self.is_speculative()
    }
    /// Where the newer version lives, given this tuple's own block number.
    #[inline]
    pub fn next_tid(&self, own_block: u32) -> Option<(u32, u16)> {
        if !self.has_next() {
            return None;
        }
        let blk = if self.has(TupleFlags::NEXT_ON_OTHER_PAGE) {
            self.aux
        } else {
            own_block
        };
        Some((blk, self.next_off()))
    }

    /// Offset of the attribute data from the start of the tuple.
    #[inline]
    pub fn hoff(&self) -> usize {
        data_offset(self.natts(), self.has(TupleFlags::HAS_NULLS))
    }
}

/// Packs the info word.
#[inline]
pub fn pack_info(next_off: u16, natts: u16, mode: XmaxMode, flags: TupleFlags) -> u32 {
    (next_off as u32 & NEXT_OFF_MASK)
        | ((natts as u32 & NATTS_MASK) << NATTS_SHIFT)
        | ((mode as u32) << MODE_SHIFT)
        | ((flags.bits() as u32 & FLAGS_MASK) << FLAGS_SHIFT)
}

#[inline]
pub const fn maxalign(n: usize) -> usize {
    (n + MAXALIGN - 1) & !(MAXALIGN - 1)
}

/// Length of the null bitmap for `natts` attributes.
#[inline]
pub const fn bitmap_len(natts: u16) -> usize {
    (natts as usize).div_ceil(8)
}

/// Where attribute data starts: after the fixed header and the optional null bitmap,
/// MAXALIGNed so that attribute alignment inside the data area matches heap's.
#[inline]
pub const fn data_offset(natts: u16, has_nulls: bool) -> usize {
    if has_nulls {
        maxalign(HEADER_SIZE + bitmap_len(natts))
    } else {
        HEADER_SIZE
    }
}

/// Is attribute `attnum` (0-based) null according to a heap-convention bitmap
/// (bit set = not null)? `bitmap` must hold at least `attnum / 8 + 1` bytes.
#[inline]
pub fn att_isnull(attnum: usize, bitmap: &[u8]) -> bool {
    bitmap[attnum >> 3] & (1 << (attnum & 7)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_is_sixteen_bytes_and_narrow_rows_fit_291_per_page() {
        assert_eq!(HEADER_SIZE, 16);
        // (int, int): 16 header + 8 data = 24 bytes, + 4 byte line pointer.
        let per_tuple = maxalign(HEADER_SIZE + 8) + 4;
        let usable = crate::BLCKSZ - crate::PAGE_HEADER_SIZE - crate::layout::SPECIAL_SIZE;
        assert!(usable / per_tuple >= 291);
    }

    #[test]
    fn fresh_insert_header() {
        let h = TupleHeader::new_insert(100, 3, 2, false);
        assert_eq!(h.xmin, 100);
        assert_eq!(h.aux, 3);
        assert_eq!(h.natts(), 2);
        assert!(h.xmax_invalid());
        assert!(!h.has_next());
        assert!(h.aux_is_cid());
        assert_eq!(h.hoff(), 16);
        assert!(h.xmax_is_locked_only());
        assert_eq!(TupleHeader::read(&h.to_bytes()), h);
    }

    #[test]
    fn hoff_with_nulls() {
        assert_eq!(data_offset(2, true), 24);
        assert_eq!(data_offset(64, true), 24);
        assert_eq!(data_offset(65, true), 32);
        assert_eq!(data_offset(1600, false), 16);
    }

    #[test]
    fn frozen_is_not_invalid() {
        let mut h = TupleHeader::new_insert(5, 0, 1, false);
        h.set_flags(XMIN_FROZEN);
        assert!(h.xmin_frozen());
        assert!(h.xmin_committed());
        assert!(!h.xmin_invalid());
        h.clear_flags(TupleFlags::XMIN_COMMITTED);
        assert!(h.xmin_invalid());
    }

    #[test]
    fn next_tid_same_and_other_page() {
        let mut h = TupleHeader::new_insert(5, 0, 1, false);
        h.set_next_off(7);
        assert_eq!(h.next_tid(42), Some((42, 7)));
        h.aux = 99;
        h.set_flags(TupleFlags::NEXT_ON_OTHER_PAGE);
        assert_eq!(h.next_tid(42), Some((99, 7)));
        assert!(!h.aux_is_cid());
        h.set_next_off(NEXT_SPECULATIVE);
        assert_eq!(h.next_tid(42), None);
    }

    #[test]
    fn lock_modes() {
        assert!(!XmaxMode::Update.is_lock_only());
        assert!(XmaxMode::Update.keys_updated());
        assert!(!XmaxMode::NoKeyUpdate.keys_updated());
        assert!(XmaxMode::LockExclusive.keys_updated());
        assert!(XmaxMode::LockKeyShare.is_lock_only());
        for v in 0..8u8 {
            assert_eq!(XmaxMode::from_bits(v).is_some(), v < 6);
        }
    }

    proptest! {
        /// `is_valid` is `validate` without the reason, for every header.
        #[test]
        fn is_valid_agrees_with_validate(xmin: u32, xmax: u32, aux: u32, info: u32) {
            let h = TupleHeader { xmin, xmax, aux, info };
            prop_assert_eq!(h.is_valid(), h.validate().is_ok());
        }
    }

    proptest! {
        #[test]
        fn info_word_round_trips(next in 0u16..512, natts in 0u16..2048, mode in 0u8..6, flags in 0u16..512) {
            let m = XmaxMode::from_bits(mode).unwrap();
            let f = TupleFlags::from_bits_retain(flags);
            let info = pack_info(next, natts, m, f);
            let h = TupleHeader { xmin: 1, xmax: 2, aux: 3, info };
            prop_assert_eq!(h.next_off(), next);
            prop_assert_eq!(h.natts(), natts);
            prop_assert_eq!(h.xmax_mode(), m);
            prop_assert_eq!(h.flags(), f);
        }

        #[test]
        fn setters_touch_only_their_field(info in any::<u32>(), next in 0u16..512, natts in 0u16..2048) {
            let mut h = TupleHeader { xmin: 0, xmax: 0, aux: 0, info };
            let before = h;
            h.set_next_off(next);
            prop_assert_eq!(h.natts(), before.natts());
            prop_assert_eq!(h.flags(), before.flags());
            h.set_natts(natts);
            prop_assert_eq!(h.next_off(), next);
            prop_assert_eq!(h.xmax_mode_bits(), before.xmax_mode_bits());
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(h) = TupleHeader::decode(&bytes) {
                let _ = h.validate();
            }
        }
    }
}
