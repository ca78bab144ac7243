//! glassheap-format: everything about glassheap's bytes that does not need a running
//! PostgreSQL -- tuple header and page layout, WAL record codecs, the visibility rules,
//! and decoders used by the inspection toolkit. No pgrx here, so `cargo test` runs it.
//! No unsafe code either: the compiler enforces it.

#![forbid(unsafe_code)]

pub mod attrs;
pub mod chains;
pub mod cidruns;
pub mod deadtids;
pub mod durability;
pub mod heap;
pub mod heapreplay;
pub mod history;
pub mod hot;
pub mod html;
pub mod items;
pub mod layout;
pub mod locks;
pub mod logical;
pub mod page;
pub mod pagecheck;
pub mod pageview;
pub mod records;
pub mod replay;
pub mod rewrite;
pub mod snapshot;
pub mod transition;
pub mod tuple;
pub mod vacuum;
pub mod verify;
pub mod visibility;
pub mod waldecode;
pub mod xlogrecord;

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
