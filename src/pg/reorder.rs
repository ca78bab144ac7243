//! What logical decoding of one glassheap record asks of PostgreSQL (decode.c's
//! heap_decode makes the same calls): the reorder buffer learns the record's
//! transaction, the snapshot builder says whether the change is to be decoded, the
//! output plugin's origin filter is asked, and each change is allocated, filled and
//! queued.
//!
//! All of it runs under **one** pgrx guard per record rather than one per call (eight or
//! more for a row change, about 140 instructions each: a fifth of what decoding a
//! glassheap change cost). Every call made here can raise an ERROR (out of memory,
//! spilling to disk, the plugin's filter), so each must be guarded; one `sigsetjmp`
//! around all of them catches a longjmp from any, as pgrx's guard around one call does.
//! That is sound because nothing between the `sigsetjmp` and a longjmp owns a
//! destructor (raw pointers, integers and borrowed slices only) and the Rust steps in
//! between cannot panic: the rows were checked when the record was parsed
//! ([`LoggedRow::new`]), and writing them ([`LoggedRow::write_heap`]) never panics (a
//! buffer of the wrong length, impossible here, is an `Err` the caller raises). The
//! record is parsed before this is called, and a parse error is raised by the caller
//! after the guard, in the order heap_decode would raise it.

use crate::pg::compat::{self, RelFileLocator};
use crate::pg::sys_extra::SNAPBUILD_FULL_SNAPSHOT;
use glassheap_format::logical::{Action, ChangeRef, LoggedRow, HEAP_TUPLE_HEADER_SIZE};
use pgrx::pg_sys;

/// Unguarded declarations of the calls made under [`process_record`]'s one guard.
/// Signatures of replication/reorderbuffer.h, snapbuild.h and logical.h (15 to 18).
mod raw {
    use pgrx::pg_sys;

    unsafe extern "C" {
        pub fn ReorderBufferProcessXid(
            rb: *mut pg_sys::ReorderBuffer,
            xid: pg_sys::TransactionId,
            lsn: pg_sys::XLogRecPtr,
        );
        pub fn SnapBuildCurrentState(builder: *mut pg_sys::SnapBuild) -> core::ffi::c_int;
        pub fn SnapBuildProcessChange(
            builder: *mut pg_sys::SnapBuild,
            xid: pg_sys::TransactionId,
            lsn: pg_sys::XLogRecPtr,
        ) -> bool;
        pub fn filter_by_origin_cb_wrapper(
            ctx: *mut pg_sys::LogicalDecodingContext,
            origin_id: pg_sys::RepOriginId,
        ) -> bool;
        pub fn ReorderBufferQueueChange(
            rb: *mut pg_sys::ReorderBuffer,
            xid: pg_sys::TransactionId,
            lsn: pg_sys::XLogRecPtr,
            change: *mut pg_sys::ReorderBufferChange,
            toast_insert: bool,
        );
        #[cfg(not(feature = "pg18"))]
        pub fn ReorderBufferGetChange(
            rb: *mut pg_sys::ReorderBuffer,
        ) -> *mut pg_sys::ReorderBufferChange;
        #[cfg(feature = "pg18")]
        pub fn ReorderBufferAllocChange(
            rb: *mut pg_sys::ReorderBuffer,
        ) -> *mut pg_sys::ReorderBufferChange;
        #[cfg(any(feature = "pg15", feature = "pg16"))]
        pub fn ReorderBufferGetTupleBuf(
            rb: *mut pg_sys::ReorderBuffer,
            tuple_len: usize,
        ) -> *mut pg_sys::ReorderBufferTupleBuf;
        #[cfg(feature = "pg17")]
        pub fn ReorderBufferGetTupleBuf(
            rb: *mut pg_sys::ReorderBuffer,
            tuple_len: usize,
        ) -> pg_sys::HeapTuple;
        #[cfg(feature = "pg18")]
        pub fn ReorderBufferAllocTupleBuf(
            rb: *mut pg_sys::ReorderBuffer,
            tuple_len: usize,
        ) -> pg_sys::HeapTuple;
    }
}

/// What a record asks of the reorder buffer, decided from its bytes before the guard.
pub enum Work<'r, 'a> {
    /// A record that changes no row (a row lock, pruning, VACUUM, freezing, the
    /// visibility map): its transaction is made known, nothing is queued.
    NoRowChange,
    /// A record of a type glassheap does not know: an ERROR once the snapshot builder
    /// has a full snapshot (heap_decode raises its unknown-type error after the same test).
    Unknown,
    /// A row-changing record: the snapshot builder is told of it; `None` when it has
    /// nothing to queue (its relation is in another database, or it has no logical
    /// part), otherwise the relation and its changes (`Err` when its bytes do not parse:
    /// an ERROR, raised only for a record the slot would decode).
    RowChange(Option<(RelFileLocator, Result<&'r [ChangeRef<'a>], ()>)>),
}

/// What became of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Processed: queued, or nothing to queue.
    Done,
    /// The record is to be decoded and cannot be: the caller raises the ERROR.
    Undecodable,
    /// A row did not fit the tuple the reorder buffer allocated for it (a bug: the
    /// tuple is asked for at the row's length): the caller raises an internal ERROR.
    RowNotWritten,
}

/// heap_decode's calls for one record of transaction `xid` at `lsn` (origin `origin`),
/// under one guard (see the module comment).
///
/// # Safety
/// `ctx` is the live decoding context PostgreSQL passed to `rm_decode`.
pub unsafe fn process_record(
    ctx: *mut pg_sys::LogicalDecodingContext,
    xid: pg_sys::TransactionId,
    lsn: pg_sys::XLogRecPtr,
    origin: pg_sys::RepOriginId,
    work: Work<'_, '_>,
) -> Outcome {
    // SAFETY: per the contract; the closure owns nothing with a destructor and its Rust
    // steps cannot panic (module comment), so a longjmp out of any call lands in the
    // guard's sigsetjmp with no Rust frame skipped that needed unwinding.
    unsafe {
        crate::pg::sys_extra::guarded(|| {
            let rb = (*ctx).reorder;
            let builder = (*ctx).snapshot_builder;
            // Every record's transaction is made known to the reorder buffer (also for
            // records that queue nothing), as heap_decode does.
            raw::ReorderBufferProcessXid(rb, xid, lsn);
            if raw::SnapBuildCurrentState(builder) < SNAPBUILD_FULL_SNAPSHOT {
                return Outcome::Done;
            }
            let row = match work {
                Work::NoRowChange => return Outcome::Done,
                Work::Unknown => return Outcome::Undecodable,
                Work::RowChange(row) => row,
            };
            // The base snapshot is set up also when fast-forwarding (the slot's
            // catalog_xmin depends on it); only the change itself is skipped.
            if !raw::SnapBuildProcessChange(builder, xid, lsn) || (*ctx).fast_forward {
                return Outcome::Done;
            }
            let Some((rel, changes)) = row else {
                return Outcome::Done;
            };
            if (*ctx).callbacks.filter_by_origin_cb.is_some()
                && raw::filter_by_origin_cb_wrapper(ctx, origin)
            {
                return Outcome::Done;
            }
            let Ok(changes) = changes else {
                return Outcome::Undecodable;
            };
            for c in changes {
                if queue_change(rb, xid, lsn, origin, rel, c).is_none() {
                    return Outcome::RowNotWritten;
                }
            }
            Outcome::Done
        })
    }
}

/// Allocates, fills and queues one change (None, nothing queued, if a row could not be
/// written). Runs inside [`process_record`]'s guard.
///
/// # Safety
/// `rb` is the live reorder buffer; called only from inside the guard.
#[inline]
unsafe fn queue_change(
    rb: *mut pg_sys::ReorderBuffer,
    xid: pg_sys::TransactionId,
    lsn: pg_sys::XLogRecPtr,
    origin: pg_sys::RepOriginId,
    rel: RelFileLocator,
    c: &ChangeRef<'_>,
) -> Option<()> {
    use pg_sys::ReorderBufferChangeType::*;
    // SAFETY: per the contract; a fresh change from the reorder buffer, filled and
    // handed back to it.
    unsafe {
        #[cfg(not(feature = "pg18"))]
        let change = raw::ReorderBufferGetChange(rb);
        #[cfg(feature = "pg18")]
        let change = raw::ReorderBufferAllocChange(rb);
        (*change).action = match c.action {
            Action::Insert => REORDER_BUFFER_CHANGE_INSERT,
            Action::Update => REORDER_BUFFER_CHANGE_UPDATE,
            Action::Delete => REORDER_BUFFER_CHANGE_DELETE,
            Action::SpecInsert => REORDER_BUFFER_CHANGE_INTERNAL_SPEC_INSERT,
            Action::SpecConfirm => REORDER_BUFFER_CHANGE_INTERNAL_SPEC_CONFIRM,
            Action::SpecAbort => REORDER_BUFFER_CHANGE_INTERNAL_SPEC_ABORT,
        };
        (*change).origin_id = origin;
        let old = match c.old {
            Some((_, row)) => Some(change_tuple(rb, &row)?),
            None => None,
        };
        let new = match c.new {
            Some(row) => Some(change_tuple(rb, &row)?),
            None => None,
        };
        compat::rb_set_tuples(change, rel, old, new, c.clear_toast_afterwards);
        raw::ReorderBufferQueueChange(rb, xid, lsn, change, false);
    }
    Some(())
}

/// A reorder-buffer tuple holding `row` as a heap tuple, written in place (None if the
/// row did not fit it, which asking for the row's length rules out).
///
/// # Safety
/// As [`queue_change`].
#[inline]
unsafe fn change_tuple(
    rb: *mut pg_sys::ReorderBuffer,
    row: &LoggedRow<'_>,
) -> Option<compat::ChangeTuple> {
    let len = row.heap_len();
    // SAFETY: per the contract. The reorder buffer's tuple has room for the 23-byte
    // header plus the `len - 23` bytes asked for at t_data (every LoggedRow's heap tuple
    // is at least its MAXALIGNed header), and write_heap writes exactly `len` bytes or
    // none.
    unsafe {
        #[cfg(any(feature = "pg15", feature = "pg16"))]
        let (tb, t) = {
            let tb = raw::ReorderBufferGetTupleBuf(rb, len - HEAP_TUPLE_HEADER_SIZE);
            (tb, &raw mut (*tb).tuple)
        };
        #[cfg(feature = "pg17")]
        let (tb, t) = {
            let t = raw::ReorderBufferGetTupleBuf(rb, len - HEAP_TUPLE_HEADER_SIZE);
            (t, t)
        };
        #[cfg(feature = "pg18")]
        let (tb, t) = {
            let t = raw::ReorderBufferAllocTupleBuf(rb, len - HEAP_TUPLE_HEADER_SIZE);
            (t, t)
        };
        let t = &mut *t;
        row.write_heap(std::slice::from_raw_parts_mut(t.t_data as *mut u8, len))
            .ok()?;
        t.t_len = len as u32;
        // Not a tuple on disk; its table is known only after reassembly.
        t.t_self = pg_sys::ItemPointerData::default();
        t.t_tableOid = pg_sys::InvalidOid;
        Some(tb)
    }
}
