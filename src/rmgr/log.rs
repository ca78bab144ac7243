//! Writing glassheap WAL records. Each function is called inside the critical section
//! that changed the page(s) (the `&CritSection` argument), registers the changed buffers
//! with their per-block payload (codecs in glassheap_format::records) and stamps the page LSNs.

use crate::pg::crit::{CritSection, XLogBlock};
use crate::pg::page::PageRef;
use glassheap_format::logical::LogicalPart;
use glassheap_format::records::*;
use pgrx::pg_sys;
use std::cell::Cell;

const REGBUF_STANDARD: u8 = pg_sys::REGBUF_STANDARD as u8;
const REGBUF_WILL_INIT: u8 = pg_sys::REGBUF_WILL_INIT as u8;
const REGBUF_KEEP_DATA: u8 = pg_sys::REGBUF_KEEP_DATA as u8;

thread_local! {
    /// Per-backend buffers the payloads are encoded into, reused from record to record:
    /// a record then costs no allocation (an UPDATE needs one per block, and one more for
    /// its logical part).
    static SCRATCH: [Cell<Vec<u8>>; 3] =
        const { [Cell::new(Vec::new()), Cell::new(Vec::new()), Cell::new(Vec::new())] };
}

/// Encodes a payload into scratch buffer `i` and passes it to `f`.
fn with_payload<R>(i: usize, encode: impl FnOnce(&mut Vec<u8>), f: impl FnOnce(&[u8]) -> R) -> R {
    let mut buf = SCRATCH.with(|s| s[i].take());
    buf.clear();
    encode(&mut buf);
    let r = f(&buf);
    SCRATCH.with(|s| s[i].set(buf));
    r
}

fn stamp(buffers: &[pg_sys::Buffer], lsn: u64) {
    for &b in buffers {
        // SAFETY: buffers are pinned and exclusively locked by the caller.
        unsafe { PageRef::of_buffer(b) }.set_lsn(lsn);
    }
}

/// Runs `f` with the encoded logical part (None when the relation is not logically
/// logged: the record then has no main data, exactly as before decoding existed).
fn with_logical<R>(logical: Option<&LogicalPart<'_>>, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
    match logical {
        None => f(None),
        Some(l) => with_payload(
            2,
            |d| {
                l.encode(d);
                // test builds: a logical part decoding must refuse (fault injection)
                if crate::pg::fault::is(crate::pg::fault::Kind::BadLogicalPart) {
                    d[0] |= 0x80;
                }
            },
            |d| f(Some(d)),
        ),
    }
}

/// Block flags for a block whose data logical decoding reads: kept in the record even
/// when PostgreSQL logs a full-page image of the block (heap's REGBUF_KEEP_DATA).
fn keep_for_decoding(flags: u8, logical: Option<&LogicalPart<'_>>) -> u8 {
    if logical.is_some() {
        flags | REGBUF_KEEP_DATA
    } else {
        flags
    }
}

/// A record of one block with one payload; stamps the block's page.
fn single_block(
    crit: &CritSection,
    buffer: pg_sys::Buffer,
    flags: u8,
    info: u8,
    data: &[u8],
    logical: Option<&LogicalPart<'_>>,
) {
    let flags = keep_for_decoding(flags, logical);
    let lsn = with_logical(logical, |main| {
        crit.xlog_insert(
            RMGR_ID,
            info,
            &[XLogBlock {
                id: 0,
                buffer,
                flags,
                data: &[data],
            }],
            main,
        )
    });
    stamp(&[buffer], lsn);
}

/// A one-block record whose payload `encode` writes.
fn encoded_block(
    crit: &CritSection,
    buffer: pg_sys::Buffer,
    flags: u8,
    info: u8,
    encode: impl FnOnce(&mut Vec<u8>),
    logical: Option<&LogicalPart<'_>>,
) {
    with_payload(0, encode, |d| {
        single_block(crit, buffer, flags, info, d, logical)
    });
}

fn init_flag(init_page: bool) -> u8 {
    if init_page {
        REGBUF_WILL_INIT
    } else {
        0
    }
}

pub fn insert(
    crit: &CritSection,
    buffer: pg_sys::Buffer,
    rec: &InsertBlock<'_>,
    logical: Option<&LogicalPart<'_>>,
) {
    let flags = REGBUF_STANDARD | init_flag(rec.init_page);
    encoded_block(
        crit,
        buffer,
        flags,
        XLOG_GH_INSERT,
        |d| rec.encode(d),
        logical,
    );
}

pub fn multi_insert(
    crit: &CritSection,
    buffer: pg_sys::Buffer,
    rec: &MultiInsertBlock<'_>,
    logical: Option<&LogicalPart<'_>>,
) {
    let flags = REGBUF_STANDARD | init_flag(rec.init_page);
    encoded_block(
        crit,
        buffer,
        flags,
        XLOG_GH_MULTI_INSERT,
        |d| rec.encode(d),
        logical,
    );
}

/// DELETE; with a logical part the block's payload is kept too (decoding reads its
/// super-delete flag: a cancelled speculative insertion).
pub fn delete(
    crit: &CritSection,
    buffer: pg_sys::Buffer,
    rec: &DeleteBlock,
    logical: Option<&LogicalPart<'_>>,
) {
    encoded_block(
        crit,
        buffer,
        REGBUF_STANDARD,
        XLOG_GH_DELETE,
        |d| rec.encode(d),
        logical,
    );
}

/// An update: `old` goes with block 1 when the new version is on another page, and is
/// embedded in block 0's payload (rec.same_page_old) otherwise.
pub fn update(
    crit: &CritSection,
    newbuf: pg_sys::Buffer,
    oldbuf: pg_sys::Buffer,
    new: &UpdateNew<'_>,
    old: &UpdateOld,
    logical: Option<&LogicalPart<'_>>,
) {
    let flags0 = REGBUF_STANDARD | init_flag(new.init_page);
    with_payload(
        0,
        |d| new.encode(d),
        |d0| {
            if newbuf == oldbuf {
                single_block(crit, newbuf, flags0, XLOG_GH_UPDATE, d0, logical);
                return;
            }
            let flags0 = keep_for_decoding(flags0, logical);
            with_payload(
                1,
                // The record's xid (XLogRecGetXid) is taken the same way when it is inserted.
                |d| old.encode_old_page(d, crate::pg::xact::current_xid_if_any()),
                |d1| {
                    let lsn = with_logical(logical, |main| {
                        crit.xlog_insert(
                            RMGR_ID,
                            XLOG_GH_UPDATE,
                            &[
                                XLogBlock {
                                    id: 0,
                                    buffer: newbuf,
                                    flags: flags0,
                                    data: &[d0],
                                },
                                XLogBlock {
                                    id: 1,
                                    buffer: oldbuf,
                                    flags: REGBUF_STANDARD,
                                    data: &[d1],
                                },
                            ],
                            main,
                        )
                    });
                    stamp(&[newbuf, oldbuf], lsn);
                },
            )
        },
    );
}

pub fn lock(crit: &CritSection, buffer: pg_sys::Buffer, rec: &LockBlock) {
    encoded_block(
        crit,
        buffer,
        REGBUF_STANDARD,
        XLOG_GH_LOCK,
        // The record's xid (XLogRecGetXid) is taken the same way when it is inserted.
        |d| rec.encode(d, crate::pg::xact::current_xid_if_any()),
        None,
    );
}

pub fn confirm(
    crit: &CritSection,
    buffer: pg_sys::Buffer,
    offnum: u16,
    logical: Option<&LogicalPart<'_>>,
) {
    encoded_block(
        crit,
        buffer,
        REGBUF_STANDARD,
        XLOG_GH_CONFIRM,
        |d| ConfirmBlock { offnum }.encode(d),
        logical,
    );
}

pub fn prune(crit: &CritSection, buffer: pg_sys::Buffer, rec: &PruneBlock) {
    encoded_block(
        crit,
        buffer,
        REGBUF_STANDARD,
        XLOG_GH_PRUNE,
        |d| rec.encode(d),
        None,
    );
}

pub fn vacuum(crit: &CritSection, buffer: pg_sys::Buffer, rec: &VacuumBlock) {
    encoded_block(
        crit,
        buffer,
        REGBUF_STANDARD,
        XLOG_GH_VACUUM,
        |d| rec.encode(d),
        None,
    );
}

pub fn freeze(crit: &CritSection, buffer: pg_sys::Buffer, rec: &FreezeBlock) {
    encoded_block(
        crit,
        buffer,
        REGBUF_STANDARD,
        XLOG_GH_FREEZE,
        |d| rec.encode(d),
        None,
    );
}

/// VISIBLE: block 0 is the map page, block 1 the table page, which keeps its payload
/// even when logged as an image. Setting PD_ALL_VISIBLE is a hint: the table page gets
/// an image only when hint bits are WAL-logged (checksums, wal_log_hints), as in heap.
pub fn visible(
    crit: &CritSection,
    vmbuf: pg_sys::Buffer,
    heapbuf: pg_sys::Buffer,
    rec: &VisibleBlock,
    hints_logged: bool,
) -> u64 {
    let mut flags = REGBUF_STANDARD | pg_sys::REGBUF_KEEP_DATA as u8;
    if !hints_logged {
        flags |= pg_sys::REGBUF_NO_IMAGE as u8;
    }
    with_payload(
        0,
        |d| rec.encode(d),
        |d| {
            crit.xlog_insert(
                RMGR_ID,
                XLOG_GH_VISIBLE,
                &[
                    XLogBlock {
                        id: 0,
                        buffer: vmbuf,
                        flags: 0,
                        data: &[],
                    },
                    XLogBlock {
                        id: 1,
                        buffer: heapbuf,
                        flags,
                        data: &[d],
                    },
                ],
                None,
            )
        },
    )
}
