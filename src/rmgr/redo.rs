//! Redo: replaying glassheap records on a standby or during crash recovery.
//!
//! Redo never touches the catalog. Each block is replayed only if its page LSN is older
//! than the record (XLogReadBufferForRedo returns BLK_NEEDS_REDO), so replay is
//! idempotent; blocks restored from a full-page image need nothing else. What a record
//! does to its page is `glassheap_format::replay`, built on the same page and header
//! code (`pageview`, `transition`) as the write path; this file adds buffers, locks,
//! hot-standby conflicts, the visibility map and the free space map.

use crate::am::vm::{ALL_BITS, ALL_FROZEN};
use crate::pg::page::PageRef;
use crate::pg::xlog::{rec_block_data, rec_has_block, rec_info, rec_xid};
use glassheap_format::pageview::PageMut;
use glassheap_format::records::*;
use glassheap_format::replay;
use pgrx::pg_sys;
use pgrx::prelude::*;

type Rec = *mut pg_sys::XLogReaderState;

#[allow(unreachable_code)]
fn panic_redo(msg: String) -> ! {
    ereport!(
        PANIC,
        PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        format!("glassheap redo: {msg}")
    );
    unreachable!("ereport(PANIC) returned")
}

/// Does block `id` carry BKPBLOCK_WILL_INIT (the record rebuilds the page from empty)?
fn will_init(record: Rec, id: u8) -> bool {
    // SAFETY: id was checked with rec_has_block.
    unsafe {
        let blk = (*(*record).record).blocks.as_ptr().add(id as usize);
        (*blk).flags & pg_sys::BKPBLOCK_WILL_INIT as u8 != 0
    }
}

/// Reads block `id` for redo (initialising it when the record says so). Returns whether
/// the block needs the change applied, and the buffer (may be invalid if the relation
/// was dropped later in the WAL).
fn read_block(record: Rec, id: u8) -> (bool, pg_sys::Buffer) {
    // SAFETY: standard redo buffer protocol.
    unsafe {
        if will_init(record, id) {
            let buf = pg_sys::XLogInitBufferForRedo(record, id);
            PageRef::of_buffer(buf).init();
            return (true, buf);
        }
        let mut buf: pg_sys::Buffer = pg_sys::InvalidBuffer as i32;
        let action = pg_sys::XLogReadBufferForRedo(record, id, &mut buf);
        (action == pg_sys::XLogRedoAction::BLK_NEEDS_REDO, buf)
    }
}

fn finish(record: Rec, buf: pg_sys::Buffer, dirty: bool) {
    // SAFETY: buf pinned and locked by read_block.
    unsafe {
        if dirty {
            PageRef::of_buffer(buf).set_lsn((*record).EndRecPtr);
            pg_sys::MarkBufferDirty(buf);
        }
    }
}

fn release(buf: pg_sys::Buffer) {
    if buf != pg_sys::InvalidBuffer as i32 {
        // SAFETY: read_block returned it pinned and locked.
        unsafe { crate::pg::bufmgr::unlock_release(buf) };
    }
}

fn data<'a>(record: Rec, id: u8, what: &str) -> &'a [u8] {
    rec_block_data(record, id)
        .unwrap_or_else(|| panic_redo(format!("{what}: block {id} has no data")))
}

fn decode<T>(r: Result<T, WalError>) -> T {
    r.unwrap_or_else(|e| panic_redo(e.to_string()))
}

/// XLogRecGetBlockTag: the relation and block number of block `id` (which exists).
fn block_tag(record: Rec, id: u8) -> (crate::pg::compat::RelFileLocator, pg_sys::BlockNumber) {
    // SAFETY: the caller names a block the record references; the out-pointers are ours.
    unsafe {
        let mut rnode: crate::pg::compat::RelFileLocator = std::mem::zeroed();
        let mut blk: pg_sys::BlockNumber = 0;
        pg_sys::XLogRecGetBlockTag(record, id, &mut rnode, std::ptr::null_mut(), &mut blk);
        (rnode, blk)
    }
}

/// Clears visibility-map bits of block `id` before its page is replayed, as heap's redo
/// does (the map may need fixing even when the page is already up to date). `cleared` is
/// the record's `vm_cleared` flag, or None when a full-page image replaced the block's
/// data: then bits are cleared if set, since the change always leaves them clear.
fn redo_vm(record: Rec, id: u8, flags: u8, cleared: Option<bool>) {
    if cleared == Some(false) || !rec_has_block(record, id) {
        return;
    }
    let (rnode, blk) = block_tag(record, id);
    crate::am::vm::redo_clear(rnode, blk, flags, cleared.is_some());
}

/// The `vm_cleared` flag of block `id`'s payload, if the block carries data.
fn vm_flag(record: Rec, id: u8, flag: impl Fn(&[u8]) -> bool) -> Option<bool> {
    rec_block_data(record, id).map(flag)
}

/// Runs a `glassheap_format::replay` function on a locked page; a record that does not
/// fit the page is a PANIC, as in heap's redo.
fn replay<R>(
    page: PageRef,
    f: impl FnOnce(&mut PageMut<'_>) -> Result<R, replay::ReplayError>,
) -> R {
    page.change(f).unwrap_or_else(|e| panic_redo(e.to_string()))
}

/// Keeps the free space map roughly right across recovery, as heap's redo does: pages
/// that are nearly full get recorded so inserts after promotion skip them.
fn record_free_space(record: Rec, id: u8, page: PageRef) {
    let free = page.free_space();
    if free < pg_sys::BLCKSZ as usize / 5 {
        let (rnode, blk) = block_tag(record, id);
        // SAFETY: FSM update by block tag, as heap's redo.
        unsafe { pg_sys::XLogRecordPageWithFreeSpace(rnode, blk, free) };
    }
}

fn redo_insert(record: Rec) {
    let c = vm_flag(record, 0, |b| decode(InsertBlock::decode(b)).vm_cleared);
    redo_vm(record, 0, ALL_BITS, c);
    let (needs, buf) = read_block(record, 0);
    if needs {
        let d = decode(InsertBlock::decode(data(record, 0, "INSERT")));
        // SAFETY: buffer pinned and exclusively locked.
        let page = unsafe { PageRef::of_buffer(buf) };
        replay(page, |p| replay::insert(p, rec_xid(record), &d));
        finish(record, buf, true);
        record_free_space(record, 0, page);
    }
    release(buf);
}

fn redo_multi_insert(record: Rec) {
    let c = vm_flag(record, 0, |b| {
        decode(MultiInsertBlock::decode(b)).vm_cleared
    });
    redo_vm(record, 0, ALL_BITS, c);
    let (needs, buf) = read_block(record, 0);
    if needs {
        let d = decode(MultiInsertBlock::decode(data(record, 0, "MULTI_INSERT")));
        // SAFETY: as above.
        let page = unsafe { PageRef::of_buffer(buf) };
        replay(page, |p| replay::multi_insert(p, rec_xid(record), &d));
        finish(record, buf, true);
        record_free_space(record, 0, page);
    }
    release(buf);
}

fn redo_delete(record: Rec) {
    let c = vm_flag(record, 0, |b| decode(DeleteBlock::decode(b)).vm_cleared);
    redo_vm(record, 0, ALL_BITS, c);
    let (needs, buf) = read_block(record, 0);
    if needs {
        let d = decode(DeleteBlock::decode(data(record, 0, "DELETE")));
        // SAFETY: as above.
        let page = unsafe { PageRef::of_buffer(buf) };
        replay(page, |p| replay::delete(p, rec_xid(record), &d));
        finish(record, buf, true);
    }
    release(buf);
}

fn redo_update(record: Rec) {
    let xid = rec_xid(record);
    let cross_page = rec_has_block(record, 1);
    // The new page's block number goes into the old version's aux word.
    let new_blk = block_tag(record, 0).1;
    let c0 = vm_flag(record, 0, |b| {
        let d = decode(UpdateNew::decode(b));
        d.vm_cleared || d.same_page_old.as_ref().is_some_and(|o| o.vm_cleared)
    });
    redo_vm(record, 0, ALL_BITS, c0);
    if cross_page {
        let c1 = vm_flag(record, 1, |b| {
            decode(UpdateOld::decode(b, rec_xid(record))).vm_cleared
        });
        redo_vm(record, 1, ALL_BITS, c1);
    }
    // Old page first and keep it locked until the new version exists, so a hot-standby
    // reader never sees the old version updated but the new one missing.
    let (old_needs, old_buf) = if cross_page {
        read_block(record, 1)
    } else {
        (false, pg_sys::InvalidBuffer as i32)
    };
    if cross_page && old_needs {
        let o = decode(UpdateOld::decode(
            data(record, 1, "UPDATE old page"),
            rec_xid(record),
        ));
        // SAFETY: locked old page.
        let page = unsafe { PageRef::of_buffer(old_buf) };
        replay(page, |p| replay::update_old(p, xid, &o, new_blk));
        finish(record, old_buf, true);
    }
    let (needs, buf) = read_block(record, 0);
    if needs {
        let n = decode(UpdateNew::decode(data(record, 0, "UPDATE new page")));
        // SAFETY: locked new page.
        let page = unsafe { PageRef::of_buffer(buf) };
        replay(page, |p| replay::update_new(p, xid, &n));
        finish(record, buf, true);
        record_free_space(record, 0, page);
    }
    release(buf);
    release(old_buf);
}

fn redo_lock(record: Rec) {
    // A lock leaves the page all-visible; only the all-frozen bit goes.
    let c = vm_flag(record, 0, |b| {
        decode(LockBlock::decode(b, rec_xid(record))).vm_cleared
    });
    redo_vm(record, 0, ALL_FROZEN, c);
    let (needs, buf) = read_block(record, 0);
    if needs {
        let l = decode(LockBlock::decode(data(record, 0, "LOCK"), rec_xid(record)));
        // SAFETY: as above.
        let page = unsafe { PageRef::of_buffer(buf) };
        replay(page, |p| replay::lock(p, &l));
        finish(record, buf, true);
    }
    release(buf);
}

fn redo_confirm(record: Rec) {
    let (needs, buf) = read_block(record, 0);
    if needs {
        let c = decode(ConfirmBlock::decode(data(record, 0, "CONFIRM")));
        // SAFETY: as above.
        let page = unsafe { PageRef::of_buffer(buf) };
        replay(page, |p| replay::confirm(p, &c));
        finish(record, buf, true);
    }
    release(buf);
}

/// Reads block 0 with a cleanup lock (pruning moves tuples, so no hot-standby reader may
/// hold a pin into the page while it happens).
fn read_block_for_cleanup(record: Rec) -> (bool, pg_sys::Buffer) {
    let mut buf: pg_sys::Buffer = pg_sys::InvalidBuffer as i32;
    // SAFETY: standard redo buffer protocol.
    let action = unsafe {
        pg_sys::XLogReadBufferForRedoExtended(
            record,
            0,
            pg_sys::ReadBufferMode::RBM_NORMAL,
            true,
            &mut buf,
        )
    };
    (action == pg_sys::XLogRedoAction::BLK_NEEDS_REDO, buf)
}

/// Hot standby: cancel queries whose snapshots could still see versions this record
/// removes or xids it freezes (ResolveRecoveryConflictWithSnapshot), before replaying.
fn resolve_conflict(record: Rec, xid: u32) {
    resolve_conflict_on(record, 0, xid)
}

fn resolve_conflict_on(record: Rec, id: u8, xid: u32) {
    // SAFETY: standbyState is recovery-global; the block tag lookup reads the record.
    unsafe {
        if pg_sys::standbyState < pg_sys::HotStandbyState::STANDBY_SNAPSHOT_PENDING
            || !glassheap_format::xid_is_normal(xid)
        {
            return;
        }
        let mut rnode: crate::pg::compat::RelFileLocator = std::mem::zeroed();
        pg_sys::XLogRecGetBlockTag(
            record,
            id,
            &mut rnode,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        crate::pg::compat::resolve_recovery_conflict(xid, rnode);
    }
}

/// After VACUUM or pruning freed space, the free space map should say so on a standby
/// too (heap's redo records it for every pruned/vacuumed page).
fn record_free_space_always(record: Rec, page: PageRef) {
    let (rnode, blk) = block_tag(record, 0);
    // SAFETY: FSM update by block tag, as heap's redo.
    unsafe { pg_sys::XLogRecordPageWithFreeSpace(rnode, blk, page.free_space()) };
}

fn redo_prune(record: Rec) {
    if let Some(b) = rec_block_data(record, 0) {
        resolve_conflict(record, decode(PruneBlock::decode(b)).latest_removed_xid);
    }
    let (needs, buf) = read_block_for_cleanup(record);
    if needs {
        let p = decode(PruneBlock::decode(data(record, 0, "PRUNE")));
        // SAFETY: cleanup-locked buffer.
        let page = unsafe { PageRef::of_buffer(buf) };
        replay(page, |pm| replay::prune(pm, &p));
        finish(record, buf, true);
        record_free_space_always(record, page);
    }
    release(buf);
}

fn redo_vacuum(record: Rec) {
    // An exclusive lock, as on the primary: LP_DEAD items have no storage, nothing moves.
    let (needs, buf) = read_block(record, 0);
    if needs {
        let v = decode(VacuumBlock::decode(data(record, 0, "VACUUM")));
        // SAFETY: exclusively locked buffer.
        let page = unsafe { PageRef::of_buffer(buf) };
        replay(page, |p| replay::vacuum(p, &v));
        finish(record, buf, true);
        record_free_space_always(record, page);
    }
    release(buf);
}

fn redo_freeze(record: Rec) {
    if let Some(b) = rec_block_data(record, 0) {
        resolve_conflict(record, decode(FreezeBlock::decode(b)).cutoff_xid);
    }
    let (needs, buf) = read_block(record, 0);
    if needs {
        let f = decode(FreezeBlock::decode(data(record, 0, "FREEZE")));
        // SAFETY: exclusively locked buffer.
        let page = unsafe { PageRef::of_buffer(buf) };
        replay(page, |p| replay::freeze(p, &f));
        finish(record, buf, true);
    }
    release(buf);
}

/// VISIBLE, as heap's heap_xlog_visible: resolve conflicts with standby queries, set
/// PD_ALL_VISIBLE on the table page (a hint: its LSN moves only when hint bits are
/// logged), then set the map bits with the record's LSN.
fn redo_visible(record: Rec) {
    let v = decode(VisibleBlock::decode(data(record, 1, "VISIBLE")));
    resolve_conflict_on(record, 1, v.cutoff_xid);
    let (rnode, blk) = block_tag(record, 1);
    let mut buf: pg_sys::Buffer = pg_sys::InvalidBuffer as i32;
    // SAFETY: standard redo buffer protocol.
    let action = unsafe {
        pg_sys::XLogReadBufferForRedoExtended(
            record,
            1,
            pg_sys::ReadBufferMode::RBM_NORMAL,
            false,
            &mut buf,
        )
    };
    if action == pg_sys::XLogRedoAction::BLK_NEEDS_REDO {
        // SAFETY: locked buffer.
        let page = unsafe { PageRef::of_buffer(buf) };
        page.change(replay::visible);
        if crate::am::vm::hint_bits_logged() {
            // SAFETY: as above.
            page.set_lsn(unsafe { (*record).EndRecPtr });
        }
        // SAFETY: as above.
        unsafe { pg_sys::MarkBufferDirty(buf) };
    }
    if buf != pg_sys::InvalidBuffer as i32 {
        // SAFETY: locked buffer from redo.
        let free = unsafe { PageRef::of_buffer(buf) }.free_space();
        release(buf);
        // SAFETY: FSM update by block tag, as heap's redo.
        unsafe { pg_sys::XLogRecordPageWithFreeSpace(rnode, blk, free) };
    }
    let mut vmbuf: pg_sys::Buffer = pg_sys::InvalidBuffer as i32;
    // SAFETY: the map page, block 0; visibilitymap_set locks it itself.
    unsafe {
        let action = pg_sys::XLogReadBufferForRedoExtended(
            record,
            0,
            pg_sys::ReadBufferMode::RBM_ZERO_ON_ERROR,
            false,
            &mut vmbuf,
        );
        if action == pg_sys::XLogRedoAction::BLK_NEEDS_REDO {
            let vmpage = PageRef::of_buffer(vmbuf);
            if vmpage.is_new() {
                pg_sys::PageInit(vmpage.0, pg_sys::BLCKSZ as usize, 0);
            }
            crate::pg::bufmgr::lock(vmbuf, pg_sys::BUFFER_LOCK_UNLOCK);
            let reln = pg_sys::CreateFakeRelcacheEntry(rnode);
            pg_sys::visibilitymap_pin(reln, blk, &mut vmbuf);
            pg_sys::visibilitymap_set(
                reln,
                blk,
                pg_sys::InvalidBuffer as i32,
                (*record).EndRecPtr,
                vmbuf,
                v.cutoff_xid.into(),
                v.map_bits(),
            );
            crate::pg::bufmgr::release(vmbuf);
            pg_sys::FreeFakeRelcacheEntry(reln);
        } else if vmbuf != pg_sys::InvalidBuffer as i32 {
            crate::pg::bufmgr::unlock_release(vmbuf);
        }
    }
}

pub fn redo(record: Rec) {
    match rec_info(record) & XLOG_GH_OPMASK {
        XLOG_GH_INSERT => redo_insert(record),
        XLOG_GH_MULTI_INSERT => redo_multi_insert(record),
        XLOG_GH_DELETE => redo_delete(record),
        XLOG_GH_UPDATE => redo_update(record),
        XLOG_GH_LOCK => redo_lock(record),
        XLOG_GH_CONFIRM => redo_confirm(record),
        XLOG_GH_PRUNE => redo_prune(record),
        XLOG_GH_VACUUM => redo_vacuum(record),
        XLOG_GH_FREEZE => redo_freeze(record),
        XLOG_GH_VISIBLE => redo_visible(record),
        other => panic_redo(format!("unknown record type {other:#04x}")),
    }
}
