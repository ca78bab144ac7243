//! glassheap.page_history and glassheap.row_history: a block's pages and a row's versions
//! through time, rebuilt from WAL. The WAL is read as `wal_records` reads it; what each
//! record does to the block is decided by the pure `glassheap_decode::history`, which
//! replays glassheap's records with the code redo runs.

use super::types::{Lsn, Xid};
use super::wal_records::{record_info, validate, Reader};
use crate::pg::compat;
use glassheap_decode::heapreplay::{self, HeapBlock, HeapRecord};
use glassheap_decode::history::{row_event, BlockChange, PageHistory};
use glassheap_decode::items::Am;
use glassheap_format::pageview::PageBytes;
use glassheap_format::records::RMGR_ID;
use pgrx::prelude::*;
use pgrx::{pg_sys, PgRelation};

/// One block reference of the current record: (block id, fork, block number, whether it
/// names `target`).
fn block_refs(
    state: *mut pg_sys::XLogReaderState,
    target: &compat::RelFileLocator,
) -> Vec<(u8, pg_sys::ForkNumber::Type, u32, bool)> {
    let mut out = Vec::new();
    // SAFETY: state holds a decoded record; blocks has max_block_id + 1 entries.
    unsafe {
        let rec = (*state).record;
        for id in 0..=(*rec).max_block_id.max(-1) {
            let b = &*(*rec).blocks.as_ptr().add(id as usize);
            if !b.in_use {
                continue;
            }
            let mut rnode: compat::RelFileLocator = std::mem::zeroed();
            let mut fork: pg_sys::ForkNumber::Type = 0;
            let mut blk: pg_sys::BlockNumber = 0;
            pg_sys::XLogRecGetBlockTag(state, id as u8, &mut rnode, &mut fork, &mut blk);
            let ours = compat::locator_oids(&rnode) == compat::locator_oids(target);
            out.push((id as u8, fork, blk, ours));
        }
    }
    out
}

/// The full-page image of block `id` when redo would apply it (not one taken only for
/// wal_consistency_checking).
fn applied_image(state: *mut pg_sys::XLogReaderState, id: u8) -> Option<Box<PageBytes>> {
    // SAFETY: id is a block reference in use of the decoded record.
    unsafe {
        let b = &*(*(*state).record).blocks.as_ptr().add(id as usize);
        if !b.has_image || !b.apply_image {
            return None;
        }
        let mut page = Box::new([0u8; glassheap_format::BLCKSZ]);
        if !pg_sys::RestoreBlockImage(state, id, page.as_mut_ptr() as *mut core::ffi::c_char) {
            super::raise(
                PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
                format!(
                    "could not restore the full-page image of block {id} at {}",
                    Lsn((*state).ReadRecPtr)
                ),
            );
        }
        Some(page)
    }
}

fn will_init(state: *mut pg_sys::XLogReaderState, id: u8) -> bool {
    // SAFETY: as above.
    unsafe {
        let b = &*(*(*state).record).blocks.as_ptr().add(id as usize);
        b.flags & pg_sys::BKPBLOCK_WILL_INIT as u8 != 0
    }
}

fn check_block(rel: &PgRelation, blkno: i64) -> u32 {
    super::check_not_other_temp(rel);
    let nblocks = crate::pg::rel::nblocks(rel.as_ptr()) as i64;
    if !(0..nblocks).contains(&blkno) {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "block number {blkno} is out of range for relation \"{}\" ({nblocks} blocks)",
                rel.name()
            ),
        );
    }
    blkno as u32
}

/// A Heap / Heap2 record as `heapreplay` takes it: its main-fork block references of
/// the relation followed, in this server's record formats.
fn heap_record<'a>(
    state: *mut pg_sys::XLogReaderState,
    refs: &[(u8, pg_sys::ForkNumber::Type, u32, bool)],
    rmid: u8,
) -> HeapRecord<'a> {
    // SAFETY: state holds a decoded record; main_data has main_data_len bytes.
    let main = unsafe {
        let r = (*state).record;
        if (*r).main_data.is_null() {
            &[][..]
        } else {
            std::slice::from_raw_parts((*r).main_data as *const u8, (*r).main_data_len as usize)
        }
    };
    HeapRecord {
        version: compat::wal_format_version(),
        rmid,
        info: crate::pg::xlog::rec_info(state),
        xid: crate::pg::xlog::rec_xid(state),
        main,
        blocks: refs
            .iter()
            .filter(|r| r.3 && r.1 == pg_sys::ForkNumber::MAIN_FORKNUM)
            .map(|&(block_id, _, blkno, _)| HeapBlock {
                block_id,
                blkno,
                data: crate::pg::xlog::rec_block_data(state, block_id),
            })
            .collect(),
        hint_bits_logged: crate::am::vm::hint_bits_logged(),
    }
}

fn is_heap_rmgr(rmid: u8) -> bool {
    rmid == glassheap_decode::waldecode::RM_HEAP_ID
        || rmid == glassheap_decode::waldecode::RM_HEAP2_ID
}

/// Calls `f(state, start, end, rmid)` for each record that starts at or after `start`
/// and ends by `end`.
fn for_each_record(
    start: Lsn,
    end: Lsn,
    mut f: impl FnMut(*mut pg_sys::XLogReaderState, u64, u64, u8),
) {
    let mut reader = Reader::open(start);
    while let Some(state) = reader.next() {
        // SAFETY: the reader's current record.
        let (at, end_at, rmid) = unsafe {
            (
                (*state).ReadRecPtr,
                (*state).EndRecPtr,
                (*(*state).record).header.xl_rmid,
            )
        };
        if Lsn(end_at) > end {
            break;
        }
        f(state, at, end_at, rmid);
    }
}

#[pg_extern]
#[allow(clippy::type_complexity)]
fn page_history(
    rel: PgRelation,
    blkno: i64,
    start_lsn: Option<Lsn>,
    end_lsn: default!(Option<Lsn>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(lsn, Lsn),
        name!(end_lsn, Lsn),
        name!(xid, Xid),
        name!(resource_manager, String),
        name!(record_type, String),
        name!(block_id, i32),
        name!(page_lsn, Option<Lsn>),
        name!(page, Option<Vec<u8>>),
        name!(note, Option<String>),
    ),
> {
    let am = super::table_am(&rel);
    let blk = check_block(&rel, blkno);
    let (start, end) = validate(
        super::wal_records::required(start_lsn, "start_lsn"),
        end_lsn,
    );
    let target = crate::pg::rel::relfilenode(rel.as_ptr());
    let mut history = PageHistory::new();
    let mut rows = Vec::new();
    for_each_record(start, end, |state, at, end_at, rmid| {
        let refs = block_refs(state, &target);
        let Some(&(id, _, _, _)) = refs
            .iter()
            .find(|r| r.3 && r.1 == pg_sys::ForkNumber::MAIN_FORKNUM && r.2 == blk)
        else {
            return;
        };
        let ri = record_info(state, false);
        let what = format!("{}/{} at {}", ri.rmgr, ri.record_type, Lsn(at));
        let change = if let Some(img) = applied_image(state, id) {
            BlockChange::Image(img)
        } else if am == Am::Heap && is_heap_rmgr(rmid) {
            BlockChange::Heap {
                rec: heap_record(state, &refs, rmid),
                block_id: id,
            }
        } else if rmid == RMGR_ID {
            let new_block = refs.iter().find(|r| r.0 == 0).map_or(0, |r| r.2);
            BlockChange::Glassheap {
                info: crate::pg::xlog::rec_info(state),
                block_id: id,
                data: crate::pg::xlog::rec_block_data(state, id),
                will_init: will_init(state, id),
                xid: crate::pg::xlog::rec_xid(state),
                new_block,
            }
        } else {
            BlockChange::Other {
                name: format!("{}/{}", ri.rmgr, ri.record_type),
            }
        };
        let step = history.apply(end_at, &what, change);
        let page_lsn = step
            .page
            .as_ref()
            .map(|p| Lsn(glassheap_format::pageview::Page::new(p).lsn()));
        rows.push((
            Lsn(at),
            Lsn(end_at),
            Xid(ri.xid),
            ri.rmgr,
            ri.record_type,
            id as i32,
            page_lsn,
            step.page.map(|p| p.to_vec()),
            step.note,
        ));
    });
    TableIterator::new(rows)
}

#[pg_extern]
#[allow(clippy::type_complexity)]
fn row_history(
    rel: PgRelation,
    tid: pg_sys::ItemPointerData,
    start_lsn: Option<Lsn>,
    end_lsn: default!(Option<Lsn>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(lsn, Lsn),
        name!(xid, Xid),
        name!(tid, pg_sys::ItemPointerData),
        name!(event, String),
        name!(detail, String),
        name!(next_tid, Option<pg_sys::ItemPointerData>),
    ),
> {
    let am = super::table_am(&rel);
    super::check_not_other_temp(&rel);
    let (start, end) = validate(
        super::wal_records::required(start_lsn, "start_lsn"),
        end_lsn,
    );
    let target = crate::pg::rel::relfilenode(rel.as_ptr());
    // Every version of the row seen so far: a later record may still prune or freeze an
    // older one.
    let mut versions = vec![crate::pg::rel::tid_parts(&tid)];
    let mut rows = Vec::new();
    for_each_record(start, end, |state, at, _, rmid| {
        if am == Am::Heap && is_heap_rmgr(rmid) {
            let refs = block_refs(state, &target);
            if !refs.iter().any(|r| r.3) {
                return;
            }
            let rec = heap_record(state, &refs, rmid);
            let mut found = Vec::new();
            for &v in &versions {
                found.extend(heapreplay::row_events(&rec, v));
            }
            for (e, next) in found {
                if let Some(n) = next {
                    if !versions.contains(&n) {
                        versions.push(n);
                    }
                }
                rows.push((
                    Lsn(at),
                    Xid(rec.xid),
                    crate::pg::rel::make_tid(e.tid.0, e.tid.1),
                    e.event,
                    e.detail,
                    next.map(|(b, o)| crate::pg::rel::make_tid(b, o)),
                ));
            }
            return;
        }
        if am != Am::Glassheap || rmid != RMGR_ID {
            return;
        }
        let refs = block_refs(state, &target);
        let new_block = refs.iter().find(|r| r.0 == 0).map_or(0, |r| r.2);
        let info = crate::pg::xlog::rec_info(state);
        let xid = crate::pg::xlog::rec_xid(state);
        for &(id, fork, blk, ours) in &refs {
            if !ours || fork != pg_sys::ForkNumber::MAIN_FORKNUM {
                continue;
            }
            let Some(data) = crate::pg::xlog::rec_block_data(state, id) else {
                continue;
            };
            let mut found = Vec::new();
            for &v in &versions {
                if let Some(e) = row_event(info, xid, id, data, blk, v, new_block) {
                    found.push(e);
                }
            }
            for (e, next) in found {
                if let Some(n) = next {
                    if !versions.contains(&n) {
                        versions.push(n);
                    }
                }
                rows.push((
                    Lsn(at),
                    Xid(crate::pg::xlog::rec_xid(state)),
                    crate::pg::rel::make_tid(e.tid.0, e.tid.1),
                    e.event,
                    e.detail,
                    next.map(|(b, o)| crate::pg::rel::make_tid(b, o)),
                ));
            }
        }
    });
    TableIterator::new(rows)
}
