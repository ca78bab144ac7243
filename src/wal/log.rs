//! Writing glassheap WAL records. Each function is called inside the critical section
//! that changed the page(s), registers the changed buffers with their per-block payload
//! (codecs in glassheap_format::wal) and stamps the page LSNs.

use crate::pg::page::PageRef;
use crate::pg::xlog::{Record, REGBUF_STANDARD, REGBUF_WILL_INIT};
use glassheap_format::wal::*;
use pgrx::pg_sys;

fn stamp(buffers: &[pg_sys::Buffer], lsn: u64) {
    for &b in buffers {
        // SAFETY: buffers are pinned and exclusively locked by the caller.
        unsafe { PageRef::of_buffer(b) }.set_lsn(lsn);
    }
}

pub fn insert(buffer: pg_sys::Buffer, rec: &InsertBlock<'_>) {
    let mut data = Vec::with_capacity(3 + rec.body.len());
    rec.encode(&mut data);
    let flags = REGBUF_STANDARD | if rec.init_page { REGBUF_WILL_INIT } else { 0 };
    let lsn = Record::new()
        .block(0, buffer, flags, &data)
        .insert(XLOG_GH_INSERT);
    stamp(&[buffer], lsn);
}

pub fn multi_insert(buffer: pg_sys::Buffer, rec: &MultiInsertBlock<'_>) {
    let mut data =
        Vec::with_capacity(16 + rec.tuples.iter().map(|t| t.body.len() + 4).sum::<usize>());
    rec.encode(&mut data);
    let flags = REGBUF_STANDARD | if rec.init_page { REGBUF_WILL_INIT } else { 0 };
    let lsn = Record::new()
        .block(0, buffer, flags, &data)
        .insert(XLOG_GH_MULTI_INSERT);
    stamp(&[buffer], lsn);
}

pub fn delete(buffer: pg_sys::Buffer, rec: &DeleteBlock) {
    let mut data = Vec::with_capacity(8);
    rec.encode(&mut data);
    let lsn = Record::new()
        .block(0, buffer, REGBUF_STANDARD, &data)
        .insert(XLOG_GH_DELETE);
    stamp(&[buffer], lsn);
}

/// An update: `old` goes with block 1 when the new version is on another page, and is
/// embedded in block 0's payload (rec.same_page_old) otherwise.
pub fn update(
    newbuf: pg_sys::Buffer,
    oldbuf: pg_sys::Buffer,
    new: &UpdateNew<'_>,
    old: &UpdateOld,
) {
    let mut d0 = Vec::with_capacity(16 + new.body.len());
    new.encode(&mut d0);
    let flags0 = REGBUF_STANDARD | if new.init_page { REGBUF_WILL_INIT } else { 0 };
    let mut r = Record::new().block(0, newbuf, flags0, &d0);
    let mut d1 = Vec::with_capacity(9);
    if newbuf != oldbuf {
        old.encode(&mut d1);
        r = r.block(1, oldbuf, REGBUF_STANDARD, &d1);
    }
    let lsn = r.insert(XLOG_GH_UPDATE);
    if newbuf != oldbuf {
        stamp(&[newbuf, oldbuf], lsn);
    } else {
        stamp(&[newbuf], lsn);
    }
}

pub fn lock(buffer: pg_sys::Buffer, rec: &LockBlock) {
    let mut data = Vec::with_capacity(8);
    rec.encode(&mut data);
    let lsn = Record::new()
        .block(0, buffer, REGBUF_STANDARD, &data)
        .insert(XLOG_GH_LOCK);
    stamp(&[buffer], lsn);
}

pub fn confirm(buffer: pg_sys::Buffer, offnum: u16) {
    let mut data = Vec::with_capacity(2);
    ConfirmBlock { offnum }.encode(&mut data);
    let lsn = Record::new()
        .block(0, buffer, REGBUF_STANDARD, &data)
        .insert(XLOG_GH_CONFIRM);
    stamp(&[buffer], lsn);
}

fn single_block(buffer: pg_sys::Buffer, info: u8, data: &[u8]) {
    let lsn = Record::new()
        .block(0, buffer, REGBUF_STANDARD, data)
        .insert(info);
    stamp(&[buffer], lsn);
}

pub fn prune(buffer: pg_sys::Buffer, rec: &PruneBlock) {
    let mut data = Vec::with_capacity(10 + 2 * (rec.dead.len() + rec.unused.len()));
    rec.encode(&mut data);
    single_block(buffer, XLOG_GH_PRUNE, &data);
}

pub fn vacuum(buffer: pg_sys::Buffer, rec: &VacuumBlock) {
    let mut data = Vec::with_capacity(2 + 2 * rec.unused.len());
    rec.encode(&mut data);
    single_block(buffer, XLOG_GH_VACUUM, &data);
}

pub fn freeze(buffer: pg_sys::Buffer, rec: &FreezeBlock) {
    let mut data = Vec::with_capacity(6 + 7 * rec.tuples.len());
    rec.encode(&mut data);
    single_block(buffer, XLOG_GH_FREEZE, &data);
}

/// VISIBLE: block 0 is the map page, block 1 the table page, which keeps its payload
/// even when logged as an image. Setting PD_ALL_VISIBLE is a hint: the table page gets
/// an image only when hint bits are WAL-logged (checksums, wal_log_hints), as in heap.
pub fn visible(
    vmbuf: pg_sys::Buffer,
    heapbuf: pg_sys::Buffer,
    rec: &VisibleBlock,
    hints_logged: bool,
) -> u64 {
    let mut data = Vec::with_capacity(5);
    rec.encode(&mut data);
    let mut flags = REGBUF_STANDARD | pg_sys::REGBUF_KEEP_DATA as u8;
    if !hints_logged {
        flags |= pg_sys::REGBUF_NO_IMAGE as u8;
    }
    Record::new()
        .block(0, vmbuf, 0, &[])
        .block(1, heapbuf, flags, &data)
        .insert(XLOG_GH_VISIBLE)
}
