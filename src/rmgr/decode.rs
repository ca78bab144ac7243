//! Logical decoding of glassheap records (`rm_decode`; decode.c's heap_decode for
//! glassheap's records). Each INSERT, MULTI_INSERT, UPDATE, DELETE and CONFIRM record
//! with a logical part (docs/FORMAT.md, "Logical decoding") becomes the reorder-buffer
//! change heap's record would: INSERT / UPDATE / DELETE, or the speculative-insertion
//! kinds for INSERT ... ON CONFLICT. The tuples queued are heap tuples built from the
//! record alone by the one decoder of glassheap records, which the toolkit's `logical`
//! column uses too (`glassheap_format::logical::glassheap`); PostgreSQL
//! interprets them at commit (or when streaming) with the historic snapshot, reassembles
//! TOASTed values from the TOAST table's heap records and hands them to the output
//! plugin, exactly as for heap. Transactions, commits, aborts, two-phase and streaming
//! are decoded from xact records by PostgreSQL itself; TRUNCATE is a heap record
//! written by tablecmds.c for every logically logged table, whatever its access method.

use crate::pg::xlog::{rec_block_data, rec_has_block, rec_info, rec_xid};
use glassheap_format::logical::{self, Action, View, HEAP_TUPLE_HEADER_SIZE};
use glassheap_format::records;
use pgrx::pg_sys;
use pgrx::prelude::*;

/// replication/decode.h's XLogRecordBuffer, opaque in pgrx.
#[repr(C)]
pub struct XLogRecordBuffer {
    origptr: pg_sys::XLogRecPtr,
    endptr: pg_sys::XLogRecPtr,
    record: *mut pg_sys::XLogReaderState,
}

use crate::pg::compat::{self, ChangeTuple, RelFileLocator};
use crate::pg::sys_extra::{
    SnapBuildCurrentState, SnapBuildProcessChange, SNAPBUILD_FULL_SNAPSHOT,
};

type Ctx = *mut pg_sys::LogicalDecodingContext;
type Rec = *mut pg_sys::XLogReaderState;

/// What is wrong with a record that cannot be decoded: an ERROR naming its LSN.
#[allow(unreachable_code)]
fn undecodable(lsn: u64, what: impl std::fmt::Display) -> ! {
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        format!(
            "glassheap: cannot decode WAL record at {:X}/{:X}: {what}",
            lsn >> 32,
            lsn as u32
        )
    );
    unreachable!()
}

/// XLogRecGetData / XLogRecGetDataLen: the record's main data (its logical part).
fn main_data<'a>(record: Rec) -> Option<&'a [u8]> {
    // SAFETY: a decoded record; main_data/main_data_len describe its main data.
    unsafe {
        let r = (*record).record;
        let len = (*r).main_data_len as usize;
        if len == 0 || (*r).main_data.is_null() {
            None
        } else {
            Some(std::slice::from_raw_parts((*r).main_data as *const u8, len))
        }
    }
}

/// XLogRecGetOrigin.
fn origin(record: Rec) -> pg_sys::RepOriginId {
    // SAFETY: a decoded record.
    unsafe { (*(*record).record).record_origin }
}

pub unsafe fn decode(ctx: Ctx, buf: *mut XLogRecordBuffer) {
    // SAFETY: PostgreSQL passes a live decoding context and record buffer.
    let (record, origptr) = unsafe { ((*buf).record, (*buf).origptr) };
    let xid = rec_xid(record);
    // SAFETY: as above.
    unsafe {
        // Every record's transaction is made known to the reorder buffer (also for
        // records that queue nothing), as heap_decode does.
        pg_sys::ReorderBufferProcessXid((*ctx).reorder, xid.into(), origptr);
        if SnapBuildCurrentState((*ctx).snapshot_builder) < SNAPBUILD_FULL_SNAPSHOT {
            return;
        }
    }
    let op = rec_info(record) & records::XLOG_GH_OPMASK;
    match op {
        records::XLOG_GH_INSERT
        | records::XLOG_GH_MULTI_INSERT
        | records::XLOG_GH_UPDATE
        | records::XLOG_GH_DELETE
        | records::XLOG_GH_CONFIRM => {
            // The base snapshot is set up also when fast-forwarding (the slot's
            // catalog_xmin depends on it); only the change itself is skipped.
            // SAFETY: as above.
            let process =
                unsafe { SnapBuildProcessChange((*ctx).snapshot_builder, xid.into(), origptr) };
            // SAFETY: as above.
            if process && !unsafe { (*ctx).fast_forward } {
                decode_change(ctx, record, origptr, xid, op);
            }
        }
        // Row locks, pruning, VACUUM, freezing and the visibility map change no row's
        // contents: nothing to decode (heap's LOCK, PRUNE, VACUUM, FREEZE, VISIBLE).
        records::XLOG_GH_LOCK
        | records::XLOG_GH_PRUNE
        | records::XLOG_GH_VACUUM
        | records::XLOG_GH_FREEZE
        | records::XLOG_GH_VISIBLE => {}
        other => undecodable(
            origptr,
            format!("unknown glassheap record type {other:#04x}"),
        ),
    }
}

/// XLogRecGetBlockTag of block 0: the relation the change belongs to.
fn block0_rnode(record: Rec, lsn: u64) -> RelFileLocator {
    if !rec_has_block(record, 0) {
        undecodable(lsn, "the record references no block");
    }
    // SAFETY: block 0 exists; the out-pointers are ours.
    unsafe {
        let mut rnode: RelFileLocator = std::mem::zeroed();
        pg_sys::XLogRecGetBlockTag(
            record,
            0,
            &mut rnode,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        rnode
    }
}

/// FilterByOrigin: does the output plugin want changes from this origin left out?
fn filtered_by_origin(ctx: Ctx, origin: pg_sys::RepOriginId) -> bool {
    // SAFETY: a live decoding context; the wrapper calls the plugin's callback.
    unsafe {
        (*ctx).callbacks.filter_by_origin_cb.is_some()
            && pg_sys::filter_by_origin_cb_wrapper(ctx, origin)
    }
}

/// A reorder-buffer tuple holding the heap tuple `heap` (header, bitmap, data).
fn tuple_buf(ctx: Ctx, heap: &[u8]) -> ChangeTuple {
    // SAFETY: the reorder buffer's tuple has room for the header plus tuple_len bytes at
    // t_data; we fill exactly heap.len() bytes there.
    unsafe {
        let (tb, t) = compat::rb_alloc_tuple((*ctx).reorder, heap.len() - HEAP_TUPLE_HEADER_SIZE);
        let t = &mut *t;
        std::ptr::copy_nonoverlapping(heap.as_ptr(), t.t_data as *mut u8, heap.len());
        t.t_len = heap.len() as u32;
        // Not a tuple on disk; its table is known only after reassembly.
        t.t_self = pg_sys::ItemPointerData::default();
        t.t_tableOid = pg_sys::InvalidOid;
        tb
    }
}

struct Change {
    action: pg_sys::ReorderBufferChangeType::Type,
    old: Option<ChangeTuple>,
    new: Option<ChangeTuple>,
    clear_toast_afterwards: bool,
}

fn queue(ctx: Ctx, record: Rec, lsn: u64, xid: u32, rnode: RelFileLocator, c: Change) {
    // SAFETY: a fresh change from the reorder buffer, filled and handed back to it.
    unsafe {
        let change = compat::rb_alloc_change((*ctx).reorder);
        (*change).action = c.action;
        (*change).origin_id = origin(record);
        compat::rb_set_tuples(change, rnode, c.old, c.new, c.clear_toast_afterwards);
        pg_sys::ReorderBufferQueueChange((*ctx).reorder, xid.into(), lsn, change, false);
    }
}

fn decode_change(ctx: Ctx, record: Rec, lsn: u64, xid: u32, op: u8) {
    // A record without a logical part was written while its relation was not logically
    // logged (heap leaves out XLH_INSERT_CONTAINS_NEW_TUPLE then): nothing to decode.
    let Some(main) = main_data(record) else {
        return;
    };
    let rnode = block0_rnode(record, lsn);
    // SAFETY: a live decoding context and its slot.
    if compat::locator_oids(&rnode).1 != unsafe { (*(*ctx).slot).data.database } {
        return;
    }
    if filtered_by_origin(ctx, origin(record)) {
        return;
    }
    // The one decoder of glassheap's records (the toolkit's `logical` column uses it too).
    let changes = match logical::glassheap(op, main, rec_block_data(record, 0)) {
        Some(Ok(View::Changes(changes))) => changes,
        Some(Ok(View::NotDecoded(why))) => undecodable(lsn, why),
        Some(Err(e)) | Some(Ok(View::Corrupt(e))) => undecodable(lsn, e),
        None => unreachable!("decode_change is called for DML records only"),
    };
    use pg_sys::ReorderBufferChangeType::*;
    for c in changes {
        let action = match c.action {
            Action::Insert => REORDER_BUFFER_CHANGE_INSERT,
            Action::Update => REORDER_BUFFER_CHANGE_UPDATE,
            Action::Delete => REORDER_BUFFER_CHANGE_DELETE,
            Action::SpecInsert => REORDER_BUFFER_CHANGE_INTERNAL_SPEC_INSERT,
            Action::SpecConfirm => REORDER_BUFFER_CHANGE_INTERNAL_SPEC_CONFIRM,
            Action::SpecAbort => REORDER_BUFFER_CHANGE_INTERNAL_SPEC_ABORT,
        };
        let change = Change {
            action,
            old: c.old.map(|(_, t)| tuple_buf(ctx, &t)),
            new: c.new.map(|t| tuple_buf(ctx, &t)),
            clear_toast_afterwards: c.clear_toast_afterwards,
        };
        queue(ctx, record, lsn, xid, rnode, change);
    }
}
