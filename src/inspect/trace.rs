//! glassheap.trace: runs one statement in the caller's transaction and returns the WAL
//! records written while it ran, with the blocks each record changed, so the same
//! statement on a heap table and a glassheap twin can be compared record by record,
//! and whether each record's WAL was flushed when the statement returned. The
//! statement's COMMIT record is written after trace() returns (it runs inside the
//! caller's transaction): glassheap.last_commit (durability.rs) shows it.

use super::types::{Lsn, Xid};
use super::wal_records::{flush_to, fork_name, read_records};
use crate::pg::xact;
use pgrx::prelude::*;
use pgrx::{pg_sys, JsonB};

/// "relation fork block" for a block reference: the relation's name when it belongs to
/// this database, its relfilenode otherwise.
fn block_name(
    rnode: &crate::pg::compat::RelFileLocator,
    fork: pg_sys::ForkNumber::Type,
    blk: u32,
) -> String {
    // SAFETY: catalog lookups in the current transaction.
    let rel = unsafe {
        if crate::pg::compat::locator_oids(rnode).1 == pg_sys::MyDatabaseId {
            let oid = crate::pg::compat::relid_by_locator(rnode);
            if oid != pg_sys::Oid::INVALID {
                let n = pg_sys::get_rel_name(oid);
                (!n.is_null()).then(|| std::ffi::CStr::from_ptr(n).to_string_lossy().into_owned())
            } else {
                None
            }
        } else {
            None
        }
    };
    let rel = rel.unwrap_or_else(|| {
        let (spc, db, rel) = crate::pg::compat::locator_oids(rnode);
        format!("{}/{}/{}", u32::from(spc), u32::from(db), u32::from(rel))
    });
    format!("{rel} {} {blk}", fork_name(fork))
}

/// Refuses, before anything runs, the statements SPI cannot run inside the caller's
/// transaction: transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE,
/// PREPARE TRANSACTION, ...) and COPY from STDIN or to STDOUT (there is no client
/// connection inside a function). Each statement of `statement` is checked.
fn check_statement_kinds(statement: &str) {
    let c = std::ffi::CString::new(statement).unwrap_or_else(|_| {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "the traced statement contains a zero byte",
        )
    });
    // SAFETY: raw_parser only parses (a syntax error raises ERROR as for any query);
    // the list and its nodes live in the current memory context and are only read.
    unsafe {
        let list = pg_sys::raw_parser(c.as_ptr(), pg_sys::RawParseMode::RAW_PARSE_DEFAULT);
        let list = pgrx::PgList::<pg_sys::RawStmt>::from_pg(list);
        for raw in list.iter_ptr() {
            let stmt = (*raw).stmt;
            let tag_name = || {
                let tag = pg_sys::CreateCommandTag(stmt);
                std::ffi::CStr::from_ptr(pg_sys::GetCommandTagName(tag))
                    .to_string_lossy()
                    .into_owned()
            };
            match (*stmt).type_ {
                pg_sys::NodeTag::T_TransactionStmt => super::raise_detail(
                    PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                    format!("glassheap.trace cannot run {}: it runs the statement inside the caller's transaction", tag_name()),
                    "Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, PREPARE TRANSACTION) cannot be traced; run it around the trace() call instead.",
                ),
                pg_sys::NodeTag::T_CopyStmt => {
                    let copy = stmt as *mut pg_sys::CopyStmt;
                    if (*copy).filename.is_null() {
                        super::raise_detail(
                            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                            if (*copy).is_from {
                                "glassheap.trace cannot run COPY ... FROM STDIN"
                            } else {
                                "glassheap.trace cannot run COPY ... TO STDOUT"
                            },
                            "There is no client connection inside trace(); COPY from or to a file, or INSERT ... SELECT, can be traced.",
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

#[pg_extern]
#[allow(clippy::type_complexity)]
fn trace(
    statement: &str,
) -> TableIterator<
    'static,
    (
        name!(start_lsn, Lsn),
        name!(end_lsn, Lsn),
        name!(prev_lsn, Lsn),
        name!(xid, Xid),
        name!(resource_manager, String),
        name!(record_type, String),
        name!(record_length, i32),
        name!(main_data_length, i32),
        name!(fpi_length, i32),
        name!(description, String),
        name!(block_ref, String),
        name!(blocks, JsonB),
        name!(decoded, JsonB),
        name!(logical, Option<JsonB>),
        name!(mine, bool),
        name!(dirtied, Vec<String>),
        name!(flushed, bool),
    ),
> {
    // SAFETY: reads of the WAL insert position and the recovery flag.
    let (in_recovery, start) =
        unsafe { (pg_sys::RecoveryInProgress(), pg_sys::GetXLogInsertRecPtr()) };
    if in_recovery {
        super::raise(
            PgSqlErrorCode::ERRCODE_READ_ONLY_SQL_TRANSACTION,
            "glassheap.trace cannot run during recovery",
        );
    }
    check_statement_kinds(statement);
    if let Err(e) = Spi::run(statement) {
        super::raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("the traced statement failed: {e}"),
        );
    }
    // SAFETY: as above. The flush position is read before this function flushes the
    // WAL to read it back: how far the WAL was on disk when the statement returned.
    let (end, flushed_at_return) = unsafe {
        (
            pg_sys::GetXLogInsertRecPtr(),
            pg_sys::GetFlushRecPtr(std::ptr::null_mut()),
        )
    };
    if end <= start {
        return TableIterator::new(Vec::new());
    }
    flush_to(end);
    let rows: Vec<_> = read_records(Lsn(start), Lsn(end), None)
        .into_iter()
        .map(|ri| {
            let dirtied = ri
                .rnodes
                .iter()
                .zip(&ri.block_nums)
                .map(|(n, (fork, blk))| block_name(n, *fork, *blk))
                .collect();
            let mine = ri.xid != 0 && xact::is_current(ri.xid);
            let flushed = ri.end.0 <= flushed_at_return;
            let (a, b, c, d, e, f, g, h, i, j, k, l, m, n) = ri.into_row();
            (
                a, b, c, d, e, f, g, h, i, j, k, l, m, n, mine, dirtied, flushed,
            )
        })
        .collect();
    TableIterator::new(rows)
}
