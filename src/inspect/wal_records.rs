//! glassheap.wal_records and glassheap.wal_stats: the WAL between two LSNs, read in the
//! backend like pg_walinspect does, with each record's main and block data decoded to JSON
//! by glassheap_format's pure decoders. The columns the two share carry pg_walinspect's
//! names, types and order (pg_get_wal_records_info's first eleven columns, pg_get_wal_stats'
//! counters); glassheap's own ones follow.

use super::types::{Lsn, Xid};
use crate::pg::compat;
use glassheap_decode::waldecode::BlockRef;
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::ffi::CStr;

fn err(msg: String, detail: Option<String>) -> ! {
    match detail {
        Some(d) => super::raise_detail(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, msg, d),
        None => super::raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, msg),
    }
}

/// The range to read: pg_walinspect's rules (no future LSNs, start before end), plus a
/// clear error when the start lies in WAL that has already been removed.
pub(super) fn validate(start: Lsn, end: Option<Lsn>) -> (Lsn, Lsn) {
    // SAFETY: reads of the WAL position counters; outside recovery, everything inserted
    // so far is flushed first (as a commit would), so WAL just written is readable.
    let (curr, seg_size, last_removed) = unsafe {
        let curr = if pg_sys::RecoveryInProgress() {
            pg_sys::GetXLogReplayRecPtr(std::ptr::null_mut())
        } else {
            flush_to(pg_sys::GetXLogInsertRecPtr());
            pg_sys::GetFlushRecPtr(std::ptr::null_mut())
        };
        (
            Lsn(curr),
            pg_sys::wal_segment_size as u64,
            pg_sys::XLogGetLastRemovedSegno(),
        )
    };
    let last_known = Some(format!("The last WAL written and flushed is at {curr}."));
    if start > curr {
        err("cannot accept future start LSN".into(), last_known);
    }
    let end = end.unwrap_or(curr);
    if end > curr {
        err("cannot accept future end LSN".into(), last_known);
    }
    if start >= end {
        err("WAL start LSN must be less than end LSN".into(), None);
    }
    // The oldest segment still there: after the last one this server removed, and not
    // before the oldest file in pg_wal (segments removed before a restart are not in
    // the server's counter).
    let mut oldest = if last_removed > 0 {
        last_removed + 1
    } else {
        0
    };
    if let Some(on_disk) = oldest_segment_on_disk(seg_size) {
        oldest = oldest.max(on_disk);
    }
    if start.0 / seg_size < oldest {
        err(
            format!("WAL at {start} has already been removed"),
            Some(format!(
                "The oldest WAL still available starts at {}.",
                Lsn(oldest * seg_size)
            )),
        );
    }
    (start, end)
}

/// The lowest segment number among the WAL segment files in pg_wal (the server's working
/// directory is the data directory), None when none can be listed.
fn oldest_segment_on_disk(seg_size: u64) -> Option<u64> {
    let segs_per_id = 0x1_0000_0000u64 / seg_size;
    std::fs::read_dir("pg_wal")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.len() == 24 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        .filter_map(|n| {
            let hi = u64::from_str_radix(&n[8..16], 16).ok()?;
            let lo = u64::from_str_radix(&n[16..24], 16).ok()?;
            Some(hi * segs_per_id + lo)
        })
        .min()
}

/// A NULL where the function needs a value: an error naming the argument.
pub(super) fn required<T>(v: Option<T>, what: &str) -> T {
    v.unwrap_or_else(|| err(format!("{what} must not be NULL"), None))
}

/// An XLogReader over local WAL with the page-read routines pg_walinspect uses, and its
/// private data (which says when the reader reached the end of WAL). Both live in the
/// current memory context; the caller frees the reader with XLogReaderFree.
pub(super) fn allocate_reader() -> (
    *mut pg_sys::XLogReaderState,
    *mut pg_sys::ReadLocalXLogPageNoWaitPrivate,
) {
    // SAFETY: the same setup pg_walinspect uses; the routine is copied by
    // XLogReaderAllocate and the private struct lives in this memory context.
    unsafe {
        let private = pg_sys::palloc0(std::mem::size_of::<pg_sys::ReadLocalXLogPageNoWaitPrivate>())
            as *mut pg_sys::ReadLocalXLogPageNoWaitPrivate;
        let mut routine = pg_sys::XLogReaderRoutine {
            page_read: Some(crate::pg::sys_extra::c_read_local_xlog_page_no_wait),
            segment_open: Some(crate::pg::sys_extra::c_wal_segment_open),
            segment_close: Some(crate::pg::sys_extra::c_wal_segment_close),
        };
        let state = pg_sys::XLogReaderAllocate(
            pg_sys::wal_segment_size,
            std::ptr::null(),
            &mut routine,
            private as *mut core::ffi::c_void,
        );
        if state.is_null() {
            super::raise(
                PgSqlErrorCode::ERRCODE_OUT_OF_MEMORY,
                "out of memory while allocating a WAL reading processor",
            );
        }
        (state, private)
    }
}

/// An XLogReader over local WAL that stops (instead of waiting) at the end of WAL.
pub(super) struct Reader {
    state: *mut pg_sys::XLogReaderState,
    private: *mut pg_sys::ReadLocalXLogPageNoWaitPrivate,
}

impl Reader {
    pub(super) fn open(start: Lsn) -> Reader {
        let (state, private) = allocate_reader();
        // SAFETY: a reader allocated just above, with `private` as its private data.
        unsafe {
            let mut first = pg_sys::XLogFindNextRecord(state, start.0);
            if first == 0 {
                first = Self::find_after_padding(state, private, start);
            }
            if first == 0 {
                pg_sys::XLogReaderFree(state);
                err(
                    format!("could not find a valid WAL record at or after {start}"),
                    None,
                );
            }
            Reader { state, private }
        }
    }

    /// A start that XLogFindNextRecord cannot resolve may lie in the unused rest of a
    /// segment after an XLOG SWITCH record (pg_switch_wal): its pages hold no records.
    /// Read the segment from its first record instead; the reader steps over the switch
    /// to the next segment, and the first record starting at or after `start` is the
    /// answer (0 when there is none, e.g. the next segment is not written yet).
    ///
    /// # Safety
    /// `state` was allocated by XLogReaderAllocate with `private` as its private data.
    unsafe fn find_after_padding(
        state: *mut pg_sys::XLogReaderState,
        private: *mut pg_sys::ReadLocalXLogPageNoWaitPrivate,
        start: Lsn,
    ) -> u64 {
        // SAFETY: per the function's contract; the reader is restarted with
        // XLogBeginRead at the record found.
        unsafe {
            let seg_start = start.0 - start.0 % pg_sys::wal_segment_size as u64;
            if seg_start == start.0 {
                return 0;
            }
            (*private).end_of_wal = false;
            if pg_sys::XLogFindNextRecord(state, seg_start) == 0 {
                return 0;
            }
            let mut errormsg: *mut core::ffi::c_char = std::ptr::null_mut();
            loop {
                pgrx::check_for_interrupts!();
                if pg_sys::XLogReadRecord(state, &mut errormsg).is_null() {
                    (*private).end_of_wal = false;
                    return 0;
                }
                let at = (*state).ReadRecPtr;
                if at >= start.0 {
                    pg_sys::XLogBeginRead(state, at);
                    return at;
                }
            }
        }
    }

    /// The next record, or None at the end of the available WAL.
    pub(super) fn next(&mut self) -> Option<*mut pg_sys::XLogReaderState> {
        // a long range can take a while: honour cancels and statement_timeout
        pgrx::check_for_interrupts!();
        let mut errormsg: *mut core::ffi::c_char = std::ptr::null_mut();
        // SAFETY: reader allocated by open().
        unsafe {
            let rec = pg_sys::XLogReadRecord(self.state, &mut errormsg);
            if rec.is_null() {
                if (*self.private).end_of_wal {
                    return None;
                }
                let msg = if errormsg.is_null() {
                    "unknown error".to_string()
                } else {
                    CStr::from_ptr(errormsg).to_string_lossy().into_owned()
                };
                err(
                    format!(
                        "could not read WAL at {}: {msg}",
                        Lsn((*self.state).EndRecPtr)
                    ),
                    None,
                );
            }
            Some(self.state)
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        // SAFETY: allocated by XLogReaderAllocate; freed once.
        unsafe { pg_sys::XLogReaderFree(self.state) };
    }
}

/// Every record that starts at or after `start` and ends by `end`, decoded; with a
/// `target`, only those with a block reference to that relfilenode.
pub(super) fn read_records(
    start: Lsn,
    end: Lsn,
    target: Option<&crate::pg::compat::RelFileLocator>,
) -> Vec<RecordInfo> {
    let mut reader = Reader::open(start);
    let mut out = Vec::new();
    while let Some(state) = reader.next() {
        // SAFETY: state is the reader's current record.
        if Lsn(unsafe { (*state).EndRecPtr }) > end {
            break;
        }
        let ri = record_info(state, true);
        if let Some(t) = target {
            if !ri
                .rnodes
                .iter()
                .any(|n| compat::locator_oids(n) == compat::locator_oids(t))
            {
                continue;
            }
        }
        out.push(ri);
    }
    out
}

/// The WAL up to `end` can be read only once it is flushed; a caller that wants what
/// it just wrote flushes first (as a commit would).
///
/// At a page boundary the insert position points past the next page's header, which is
/// not written until a record goes there; flushing to it fails ("xlog flush request ...
/// is not satisfied"), so flush to the boundary itself -- no record lies in between.
pub(super) fn flush_to(end: u64) {
    const XLOG_BLCKSZ: u64 = 8192;
    const SHORT_PAGE_HEADER: u64 = 24; // SizeOfXLogShortPHD
    const LONG_PAGE_HEADER: u64 = 40; // SizeOfXLogLongPHD, first page of a segment
    let in_page = end % XLOG_BLCKSZ;
    let flush = if in_page == SHORT_PAGE_HEADER || in_page == LONG_PAGE_HEADER {
        end - in_page
    } else {
        end
    };
    // SAFETY: XLogFlush of an LSN no later than what has been inserted.
    unsafe { pg_sys::XLogFlush(flush) };
}

/// A record as a row of glassheap.wal_records.
pub(super) type WalRow = (
    Lsn,
    Lsn,
    Lsn,
    Xid,
    String,
    String,
    i32,
    i32,
    i32,
    String,
    String,
    JsonB,
    JsonB,
    Option<JsonB>,
);

impl RecordInfo {
    pub(super) fn into_row(self) -> WalRow {
        (
            self.start,
            self.end,
            self.prev,
            Xid(self.xid),
            self.rmgr,
            self.record_type,
            self.total_len as i32,
            self.main_len as i32,
            self.fpi_len as i32,
            self.description,
            self.block_ref,
            JsonB(self.blocks),
            JsonB(self.decoded),
            (!self.logical.is_null()).then_some(JsonB(self.logical)),
        )
    }
}

/// What one record looks like.
pub(super) struct RecordInfo {
    pub(super) start: Lsn,
    pub(super) end: Lsn,
    pub(super) prev: Lsn,
    pub(super) xid: u32,
    pub(super) rmid: u8,
    pub(super) rmgr: String,
    pub(super) record_type: String,
    pub(super) total_len: u32,
    pub(super) main_len: u32,
    pub(super) fpi_len: u32,
    pub(super) blocks: Value,
    pub(super) rnodes: Vec<crate::pg::compat::RelFileLocator>,
    /// fork and block of each block reference, in the order of `rnodes`
    pub(super) block_nums: Vec<(pg_sys::ForkNumber::Type, u32)>,
    pub(super) description: String,
    /// The block references as pg_walinspect's `block_ref` shows them (the server's
    /// XLogRecGetBlockRefInfo, so the text is that version's); empty without any, as
    /// `description` is empty when rm_desc writes nothing.
    pub(super) block_ref: String,
    pub(super) decoded: Value,
    /// What logical decoding makes of the record (`super::logical`), NULL when it
    /// changes no row.
    pub(super) logical: Value,
}

pub(super) fn fork_name(f: pg_sys::ForkNumber::Type) -> &'static str {
    match f {
        pg_sys::ForkNumber::MAIN_FORKNUM => "main",
        pg_sys::ForkNumber::FSM_FORKNUM => "fsm",
        pg_sys::ForkNumber::VISIBILITYMAP_FORKNUM => "vm",
        pg_sys::ForkNumber::INIT_FORKNUM => "init",
        _ => "unknown",
    }
}

pub(super) fn record_info(state: *mut pg_sys::XLogReaderState, with_details: bool) -> RecordInfo {
    // SAFETY: state holds the record XLogReadRecord just decoded; blocks has
    // max_block_id + 1 entries.
    unsafe {
        let r = (*state).record;
        let h = &(*r).header;
        let rmid = h.xl_rmid;
        let info = h.xl_info;
        let rmgr = pg_sys::GetRmgr(rmid);
        let rmgr_name = if rmgr.rm_name.is_null() {
            format!("custom{rmid:03}")
        } else {
            CStr::from_ptr(rmgr.rm_name).to_string_lossy().into_owned()
        };
        #[allow(ffi_unwind_calls)] // guarded
        let id = rmgr
            .rm_identify
            .map(|f| crate::pg::sys_extra::guarded(|| f(info)))
            .unwrap_or(std::ptr::null());
        let record_type = if id.is_null() {
            format!("UNKNOWN ({:x})", info & !(pg_sys::XLR_INFO_MASK as u8))
        } else {
            CStr::from_ptr(id).to_string_lossy().into_owned()
        };
        let mut fpi_len = 0u32;
        let mut rnodes = Vec::new();
        let mut block_nums = Vec::new();
        let mut blocks = Vec::new();
        let mut datas: Vec<(u8, Option<&[u8]>, bool)> = Vec::new();
        for id in 0..=((*r).max_block_id.max(-1)) {
            let b = &*(*r).blocks.as_ptr().add(id as usize);
            if !b.in_use {
                continue;
            }
            if b.has_image {
                fpi_len += b.bimg_len as u32;
            }
            let locator = compat::bkp_locator(b);
            let (spc, db, rel) = compat::locator_oids(&locator);
            rnodes.push(locator);
            block_nums.push((b.forknum, b.blkno));
            if with_details {
                blocks.push(json!({
                    "block_id": id,
                    "relfilenode": { "spc": u32::from(spc), "db": u32::from(db), "rel": u32::from(rel) },
                    "fork": fork_name(b.forknum),
                    "blkno": b.blkno,
                    "has_image": b.has_image,
                    "image_length": if b.has_image { b.bimg_len as u32 } else { 0 },
                    "apply_image": b.apply_image,
                    "data_length": if b.has_data { b.data_len as u32 } else { 0 },
                }));
                let data = (b.has_data && !b.data.is_null())
                    .then(|| std::slice::from_raw_parts(b.data as *const u8, b.data_len as usize));
                datas.push((id as u8, data, b.has_image));
            }
        }
        let (description, block_ref, decoded, logical) = if with_details {
            let mut buf: pg_sys::StringInfoData = std::mem::zeroed();
            pg_sys::initStringInfo(&mut buf);
            if let Some(desc) = rmgr.rm_desc {
                #[allow(ffi_unwind_calls)] // guarded
                crate::pg::sys_extra::guarded(|| desc(&mut buf, state));
            }
            let d = CStr::from_ptr(buf.data).to_string_lossy().into_owned();
            pg_sys::pfree(buf.data as *mut core::ffi::c_void);
            // pg_walinspect's block_ref: the same call with the same arguments
            // (not pretty, detailed format)
            let mut refs_buf: pg_sys::StringInfoData = std::mem::zeroed();
            pg_sys::initStringInfo(&mut refs_buf);
            let mut ignored_fpi_len = 0u32;
            pg_sys::XLogRecGetBlockRefInfo(state, false, true, &mut refs_buf, &mut ignored_fpi_len);
            let block_ref = CStr::from_ptr(refs_buf.data).to_string_lossy().into_owned();
            pg_sys::pfree(refs_buf.data as *mut core::ffi::c_void);
            let main = if (*r).main_data.is_null() {
                &[][..]
            } else {
                std::slice::from_raw_parts((*r).main_data as *const u8, (*r).main_data_len as usize)
            };
            let refs: Vec<BlockRef<'_>> = datas
                .iter()
                .map(|&(block_id, data, has_image)| BlockRef {
                    block_id,
                    data,
                    has_image,
                })
                .collect();
            let block0 = &*(*r).blocks.as_ptr();
            let rnode0 =
                ((*r).max_block_id >= 0 && block0.in_use).then(|| compat::bkp_locator(block0));
            let logical = super::logical::logical_json(rmid, info, main, &refs, rnode0.as_ref());
            (
                d,
                block_ref,
                decode(rmid, info, h.xl_xid.into_inner(), main, &refs),
                logical,
            )
        } else {
            (String::new(), String::new(), Value::Null, Value::Null)
        };
        RecordInfo {
            start: Lsn((*state).ReadRecPtr),
            end: Lsn((*state).EndRecPtr),
            prev: Lsn(h.xl_prev),
            xid: h.xl_xid.into_inner(),
            rmid,
            rmgr: rmgr_name,
            record_type,
            total_len: h.xl_tot_len,
            main_len: (*r).main_data_len,
            fpi_len,
            blocks: Value::Array(blocks),
            rnodes,
            block_nums,
            description,
            block_ref,
            decoded,
            logical,
        }
    }
}

/// Structured decoding of one record by the pure decoders (glassheap's own records and
/// PostgreSQL's Heap, Heap2, Transaction, XLOG and Btree records, in this server's
/// formats).
fn decode(rmid: u8, info: u8, xid: u32, main: &[u8], refs: &[BlockRef<'_>]) -> Value {
    glassheap_decode::waldecode::decode(compat::wal_format_version(), rmid, info, xid, main, refs)
}

#[pg_extern]
#[allow(clippy::type_complexity)]
fn wal_records(
    start_lsn: Option<Lsn>,
    end_lsn: default!(Option<Lsn>, "NULL"),
    rel: default!(Option<PgRelation>, "NULL"),
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
    ),
> {
    let (start, end) = validate(required(start_lsn, "start_lsn"), end_lsn);
    let target = rel.map(|r| {
        if !super::has_storage(&r) {
            super::raise(
                PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
                format!(
                    "cannot filter WAL records by relation \"{}\": it has no storage",
                    r.name()
                ),
            );
        }
        crate::pg::rel::relfilenode(r.as_ptr())
    });
    let mut rows = Vec::new();
    for ri in read_records(start, end, target.as_ref()) {
        rows.push(ri.into_row());
    }
    TableIterator::new(rows)
}

#[derive(Default)]
struct Stat {
    count: i64,
    record: i64,
    fpi: i64,
}

#[pg_extern]
#[allow(clippy::type_complexity)]
fn wal_stats(
    start_lsn: Option<Lsn>,
    end_lsn: default!(Option<Lsn>, "NULL"),
    per_relation: default!(bool, "false"),
) -> TableIterator<
    'static,
    (
        name!(resource_manager, String),
        name!(record_type, String),
        name!(count, i64),
        name!(count_percentage, f64),
        name!(record_size, i64),
        name!(record_size_percentage, f64),
        name!(fpi_size, i64),
        name!(fpi_size_percentage, f64),
        name!(combined_size, i64),
        name!(combined_size_percentage, f64),
        name!(relation, Option<String>),
    ),
> {
    let (start, end) = validate(required(start_lsn, "start_lsn"), end_lsn);
    let mut reader = Reader::open(start);
    let mut by_type: BTreeMap<(String, u8, String, String), Stat> = BTreeMap::new();
    let mut names = BTreeMap::new();
    while let Some(state) = reader.next() {
        // SAFETY: state is the reader's current record.
        if Lsn(unsafe { (*state).EndRecPtr }) > end {
            break;
        }
        let ri = record_info(state, false);
        let relation = if per_relation {
            match ri.rnodes.first() {
                Some(l) => names
                    .entry({
                        let (s, d, r) = compat::locator_oids(l);
                        (u32::from(s), u32::from(d), u32::from(r))
                    })
                    .or_insert_with(|| relation_label(l))
                    .clone(),
                None => "(no relation)".to_string(),
            }
        } else {
            String::new()
        };
        let s = by_type
            .entry((relation, ri.rmid, ri.rmgr, ri.record_type))
            .or_default();
        s.count += 1;
        s.record += (ri.total_len - ri.fpi_len) as i64;
        s.fpi += ri.fpi_len as i64;
    }
    let total = by_type.values().fold(Stat::default(), |a, s| Stat {
        count: a.count + s.count,
        record: a.record + s.record,
        fpi: a.fpi + s.fpi,
    });
    let pct = |n: i64, d: i64| {
        if d == 0 {
            0.0
        } else {
            100.0 * n as f64 / d as f64
        }
    };
    let rows: Vec<_> = by_type
        .into_iter()
        .map(|((relation, _, rmgr, rt), s)| {
            (
                rmgr,
                rt,
                s.count,
                pct(s.count, total.count),
                s.record,
                pct(s.record, total.record),
                s.fpi,
                pct(s.fpi, total.fpi),
                s.record + s.fpi,
                pct(s.record + s.fpi, total.record + total.fpi),
                per_relation.then_some(relation),
            )
        })
        .collect();
    TableIterator::new(rows)
}

/// How `wal_stats(..., per_relation => true)` names the relation of a record's first
/// block reference: `schema.name` for a table, `schema.index (index of schema.table)`,
/// `pg_toast.pg_toast_N (TOAST of schema.table)` (the TOAST table's name carries its
/// table's OID); a relation of another database, or one dropped or rewritten since
/// (whose relfilenode is no longer current), by its `tablespace/database/relfilenode`.
fn relation_label(l: &compat::RelFileLocator) -> String {
    let (spc, db, rel) = compat::locator_oids(l);
    let numeric = || format!("{}/{}/{}", u32::from(spc), u32::from(db), u32::from(rel));
    // SAFETY: catalog lookups in the caller's transaction; each returns NULL / InvalidOid
    // for what does not exist.
    unsafe {
        if db != pg_sys::MyDatabaseId {
            return numeric();
        }
        let oid = compat::relid_by_locator(l);
        if oid == pg_sys::Oid::INVALID {
            return numeric();
        }
        let qualified = |oid: pg_sys::Oid| -> Option<String> {
            let name = pg_sys::get_rel_name(oid);
            if name.is_null() {
                return None;
            }
            let nsp = pg_sys::get_namespace_name(pg_sys::get_rel_namespace(oid));
            let nsp = if nsp.is_null() {
                "?".into()
            } else {
                CStr::from_ptr(nsp).to_string_lossy().into_owned()
            };
            Some(format!("{nsp}.{}", CStr::from_ptr(name).to_string_lossy()))
        };
        let Some(me) = qualified(oid) else {
            return numeric();
        };
        match pg_sys::get_rel_relkind(oid) as u8 {
            pg_sys::RELKIND_INDEX => {
                let table = pg_sys::IndexGetRelation(oid, true);
                match qualified(table) {
                    Some(t) => format!("{me} (index of {t})"),
                    None => me,
                }
            }
            pg_sys::RELKIND_TOASTVALUE => {
                let owner = me
                    .rsplit("pg_toast_")
                    .next()
                    .and_then(|n| n.parse::<u32>().ok())
                    .and_then(|n| qualified(pg_sys::Oid::from(n)));
                match owner {
                    Some(t) => format!("{me} (TOAST of {t})"),
                    None => me,
                }
            }
            _ => me,
        }
    }
}
