//! Item pointers (TIDs): ItemPointerData from and to (block, offset). A leaf of the
//! `pg` layer, so that every other module of it can use them.

use pgrx::pg_sys;

#[inline]
pub fn tid_parts(tid: &pg_sys::ItemPointerData) -> (pg_sys::BlockNumber, u16) {
    (
        ((tid.ip_blkid.bi_hi as u32) << 16) | tid.ip_blkid.bi_lo as u32,
        tid.ip_posid,
    )
}

#[inline]
pub fn make_tid(blk: pg_sys::BlockNumber, off: u16) -> pg_sys::ItemPointerData {
    pg_sys::ItemPointerData {
        ip_blkid: pg_sys::BlockIdData {
            bi_hi: (blk >> 16) as u16,
            bi_lo: (blk & 0xFFFF) as u16,
        },
        ip_posid: off,
    }
}
