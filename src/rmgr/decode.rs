//! Logical decoding of glassheap records (`rm_decode`; decode.c's heap_decode for
//! glassheap's records). Each INSERT, MULTI_INSERT, UPDATE, DELETE and CONFIRM record
//! with a logical part (docs/FORMAT.md, "Logical decoding") becomes the reorder-buffer
//! change heap's record would: INSERT / UPDATE / DELETE, or the speculative-insertion
//! kinds for INSERT ... ON CONFLICT. The tuples queued are heap tuples built from the
//! record alone by the one decoder of glassheap records, which the toolkit's `logical`
//! column uses too (`glassheap_format::logical::decode`), written straight into the
//! reorder buffer's tuples under one guard per record (`pg::reorder`); PostgreSQL
//! interprets them at commit (or when streaming) with the historic snapshot, reassembles
//! TOASTed values from the TOAST table's heap records and hands them to the output
//! plugin, exactly as for heap. Transactions, commits, aborts, two-phase and streaming
//! are decoded from xact records by PostgreSQL itself; TRUNCATE is a heap record
//! written by tablecmds.c for every logically logged table, whatever its access method.

use crate::pg::reorder::{self, Outcome, Work};
use crate::pg::xlog::{rec_block_data, rec_block_locator, rec_info, rec_xid};
use glassheap_format::logical::{self, Decoded};
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

use crate::pg::compat;

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

/// `rm_decode`: parses the record (no call into PostgreSQL), then makes heap_decode's
/// calls for it under one guard (`pg::reorder`), then raises the ERROR of a record that
/// was to be decoded and cannot be.
///
/// # Safety
/// `ctx` and `buf` are what PostgreSQL passes to `rm_decode`.
pub unsafe fn decode(ctx: Ctx, buf: *mut XLogRecordBuffer) {
    // SAFETY: PostgreSQL passes a live decoding context and record buffer.
    let (record, origptr) = unsafe { ((*buf).record, (*buf).origptr) };
    let xid = rec_xid(record);
    let op = rec_info(record) & records::XLOG_GH_OPMASK;
    // A row-changing record: its relation and parsed changes, when it has any for this
    // slot (`Some(None)` when it has nothing for it).
    let parsed = logical::changes_rows(op).then(|| row_change(ctx, record, op));
    let work =
        match &parsed {
            Some(row) => Work::RowChange(row.as_ref().map(|(rel, changes)| {
                (*rel, changes.as_ref().map(|c| c.as_slice()).map_err(|_| ()))
            })),
            // Row locks, pruning, VACUUM, freezing and the visibility map change no row's
            // contents: nothing to decode (heap's LOCK, PRUNE, VACUUM, FREEZE, VISIBLE).
            None => match op {
                records::XLOG_GH_LOCK
                | records::XLOG_GH_PRUNE
                | records::XLOG_GH_VACUUM
                | records::XLOG_GH_FREEZE
                | records::XLOG_GH_VISIBLE => Work::NoRowChange,
                _ => Work::Unknown,
            },
        };
    // SAFETY: a live decoding context, as passed to rm_decode.
    let outcome =
        unsafe { reorder::process_record(ctx, xid.into(), origptr, origin(record), work) };
    match outcome {
        Outcome::Done => {}
        Outcome::Undecodable => match parsed {
            Some(Some((_, Err(e)))) => undecodable(origptr, e),
            _ => undecodable(origptr, format!("unknown glassheap record type {op:#04x}")),
        },
        Outcome::RowNotWritten => {
            ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!(
                "glassheap: a row of the WAL record at {:X}/{:X} did not fit the reorder buffer's tuple",
                origptr >> 32,
                origptr as u32
            )
        );
        }
    }
}

/// A row-changing record's relation and its changes parsed from the record, or None
/// when it has nothing for this slot: no logical part (written while its relation was
/// not logically logged; heap leaves out XLH_INSERT_CONTAINS_NEW_TUPLE then), or a
/// relation of another database. Reads the record only.
#[allow(clippy::type_complexity)]
fn row_change<'a>(
    ctx: Ctx,
    record: Rec,
    op: u8,
) -> Option<(compat::RelFileLocator, Result<logical::Changes<'a>, String>)> {
    let main = main_data(record)?;
    let Some(rel) = rec_block_locator(record, 0) else {
        // raised once the slot reaches the change, as heap's XLogRecGetBlockTag would
        // SAFETY: a plain C struct; all zeroes is a valid (unused) value.
        let none: compat::RelFileLocator = unsafe { std::mem::zeroed() };
        return Some((none, Err("the record references no block".to_string())));
    };
    // SAFETY: a live decoding context and its slot.
    if compat::locator_oids(&rel).1 != unsafe { (*(*ctx).slot).data.database } {
        return None;
    }
    // The one decoder of glassheap's records (the toolkit's `logical` column uses it too).
    let changes = match logical::decode(op, main, rec_block_data(record, 0)) {
        Some(Ok(Decoded::Changes(changes))) => Ok(changes),
        // main data is present, so the record was logically logged
        Some(Ok(Decoded::NotDecoded(_))) => return None,
        Some(Err(e)) => Err(e),
        None => unreachable!("row_change is called for row-changing records only"),
    };
    Some((rel, changes))
}
