//! glassheap-format: glassheap's own formats and rules, what the write path and redo
//! need -- tuple header and page layout, page changes, the WAL record codec, the
//! visibility rules and state transitions. No pgrx here, so `cargo test` runs it; no
//! unsafe code (the compiler enforces it); no JSON: describing PostgreSQL's formats and
//! glassheap's for the toolkit is glassheap-decode's job (crates/decode).

#![forbid(unsafe_code)]

pub mod attrs;
pub mod cidruns;
pub mod deadtids;
pub mod hot;
pub mod layout;
pub mod locks;
pub mod logical;
pub mod page;
pub mod pagecheck;
pub mod pageview;
pub mod records;
pub mod replay;
pub mod rewrite;
pub mod testpages;
pub mod transition;
pub mod tuple;
pub mod vacuum;
pub mod visibility;

/// PostgreSQL's block size (BLCKSZ); glassheap uses standard 8 kB pages.
pub const BLCKSZ: usize = 8192;
/// sizeof(PageHeaderData) without line pointers (SizeOfPageHeaderData).
pub const PAGE_HEADER_SIZE: usize = 24;
/// MAXIMUM_ALIGNOF on the 64-bit platforms PostgreSQL supports here.
pub const MAXALIGN: usize = 8;

/// Transaction ids as PostgreSQL stores them (32-bit, wrapping).
pub type Xid = u32;
pub const INVALID_XID: Xid = 0;
pub const BOOTSTRAP_XID: Xid = 1;
pub const FROZEN_XID: Xid = 2;
pub const FIRST_NORMAL_XID: Xid = 3;

/// TransactionIdIsNormal.
#[inline]
pub fn xid_is_normal(x: Xid) -> bool {
    x >= FIRST_NORMAL_XID
}

/// TransactionIdPrecedes: modulo-2^32 comparison for normal xids.
#[inline]
pub fn xid_precedes(a: Xid, b: Xid) -> bool {
    if !xid_is_normal(a) || !xid_is_normal(b) {
        return a < b;
    }
    (a.wrapping_sub(b) as i32) < 0
}
