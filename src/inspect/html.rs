//! glassheap.page_html and glassheap.record_html: standalone HTML documents drawn by
//! glassheap_decode::html. This layer only fetches bytes: a block through the buffer
//! manager (as glassheap.page does), a WAL record's bytes through an XLogReader, and
//! the record's decoded JSON through the same code as glassheap.wal_records.

use super::durability::lsn_style;
use super::rawpage::read_block;
use super::table_am;
use super::types::Lsn;
use super::wal_records::{read_records, validate};
use glassheap_decode::html::{page_html as render_page, record_html as render_record, RecordInfo};
use glassheap_decode::xlogrecord::assemble;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgRelation;

/// One block of a heap or glassheap table as an HTML document.
#[pg_extern]
fn page_html(rel: PgRelation, blkno: i64) -> String {
    let am = table_am(&rel);
    let page = read_block(&rel, blkno, "main");
    // SAFETY: rel is open; the namespace lookup is a catalog read.
    let title = unsafe {
        let ns = pg_sys::get_namespace_name((*(*rel.as_ptr()).rd_rel).relnamespace);
        if ns.is_null() {
            rel.name().to_string()
        } else {
            format!(
                "{}.{}",
                std::ffi::CStr::from_ptr(ns).to_string_lossy(),
                rel.name()
            )
        }
    };
    render_page(&page, am, blkno as u32, &title, lsn_style())
}

/// The bytes of the record that starts exactly at `lsn`, and where it ends.
fn record_bytes(lsn: Lsn) -> (Vec<u8>, u64) {
    let (state, _private) = super::wal_records::allocate_reader();
    // SAFETY: a reader from allocate_reader (glassheap.wal_records' setup); the record
    // header XLogReadRecord returns is copied before the reader is freed.
    unsafe {
        let first = pg_sys::XLogFindNextRecord(state, lsn.0);
        let mut errormsg: *mut core::ffi::c_char = std::ptr::null_mut();
        let rec = if first == 0 {
            std::ptr::null_mut()
        } else {
            pg_sys::XLogReadRecord(state, &mut errormsg)
        };
        if rec.is_null() || first != lsn.0 {
            pg_sys::XLogReaderFree(state);
            let hint = if first != 0 && first != lsn.0 {
                format!("The next record starts at {}.", Lsn(first))
            } else {
                "glassheap.wal_records lists where records start.".to_string()
            };
            super::raise_detail(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("no WAL record starts at {lsn}"),
                hint,
            );
        }
        let header = *rec;
        let end = (*state).EndRecPtr;
        let tli = (*state).seg.ws_tli;
        pg_sys::XLogReaderFree(state);
        // The reader hands out the decoded record; the bytes as written are read from
        // the segment files (already flushed: validate() flushed up to the insert point).
        let seg_size = pg_sys::wal_segment_size as u64;
        let tli = if tli == 0 {
            pg_sys::GetWALInsertionTimeLine()
        } else {
            tli
        };
        let bytes = assemble(lsn.0, seg_size, |page| read_wal_page(page, seg_size, tli))
            .unwrap_or_else(|e| {
                super::raise(
                    PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
                    format!("could not read the WAL record at {lsn}: {e}"),
                )
            });
        let same = |b: &[u8]| {
            b.len() == header.xl_tot_len as usize
                && b[8..16] == header.xl_prev.to_le_bytes()
                && b[20..24] == header.xl_crc.to_le_bytes()
        };
        if !same(&bytes) {
            super::raise(
                PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
                format!("the WAL record at {lsn} in the segment file differs from the one the WAL reader decoded"),
            );
        }
        (bytes, end)
    }
}

/// One 8 kB WAL page from its segment file in pg_wal (the server runs in the data
/// directory).
fn read_wal_page(page: u64, seg_size: u64, tli: u32) -> Result<Vec<u8>, String> {
    use std::io::{Read, Seek, SeekFrom};
    let segno = page / seg_size;
    let per_id = 0x1_0000_0000u64 / seg_size;
    let name = format!(
        "pg_wal/{tli:08X}{:08X}{:08X}",
        segno / per_id,
        segno % per_id
    );
    let mut f = std::fs::File::open(&name).map_err(|e| format!("{name}: {e}"))?;
    f.seek(SeekFrom::Start(page % seg_size))
        .map_err(|e| format!("{name}: {e}"))?;
    let mut buf = vec![0u8; 8192];
    f.read_exact(&mut buf).map_err(|e| format!("{name}: {e}"))?;
    Ok(buf)
}

/// The WAL record that starts at `lsn` as an HTML document: its bytes field by field.
#[pg_extern]
fn record_html(lsn: Lsn) -> String {
    let (start, _) = validate(lsn, None);
    let (bytes, end) = record_bytes(start);
    let Some(ri) = read_records(start, Lsn(end), None).into_iter().next() else {
        super::raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("could not decode the WAL record at {lsn}"),
        );
    };
    let info = RecordInfo {
        start: ri.start.0,
        end: ri.end.0,
        prev: ri.prev.0,
        xid: ri.xid,
        rmgr: &ri.rmgr,
        record_type: &ri.record_type,
        description: &ri.description,
        main_len: ri.main_len,
        fpi_len: ri.fpi_len,
        blocks: &ri.blocks,
        decoded: &ri.decoded,
    };
    render_record(&bytes, &info, lsn_style())
}
