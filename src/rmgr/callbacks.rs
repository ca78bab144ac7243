//! The resource manager PostgreSQL calls: redo, desc/identify (pg_walinspect,
//! glassheap.wal_records), mask (wal_consistency_checking) and decode (logical decoding).

use crate::pg::error::pg_callback;
use crate::pg::page::PageRef;
use crate::pg::xlog::{rec_block_count, rec_block_data, rec_has_block, rec_info, rec_xid};
use glassheap_format::records::{self, RMGR_ID};
use pgrx::pg_sys;
use std::ffi::CString;

#[pg_callback]
unsafe extern "C-unwind" fn gh_redo(record: *mut pg_sys::XLogReaderState) {
    super::redo::redo(record);
}

/// The data of every block of a record, for the pure describer/decoder.
fn blocks(record: *mut pg_sys::XLogReaderState) -> Vec<Option<&'static [u8]>> {
    (0..rec_block_count(record) as u8)
        .map(|id| {
            if rec_has_block(record, id) {
                rec_block_data(record, id)
            } else {
                None
            }
        })
        .collect()
}

#[pg_callback]
unsafe extern "C-unwind" fn gh_desc(buf: pg_sys::StringInfo, record: *mut pg_sys::XLogReaderState) {
    let text = records::describe(rec_info(record), rec_xid(record), &blocks(record));
    let c = CString::new(text.replace('\0', " ")).unwrap_or_default();
    // SAFETY: buf is a valid StringInfo owned by the caller.
    unsafe { pg_sys::appendStringInfoString(buf, c.as_ptr()) };
}

#[pg_callback]
unsafe extern "C-unwind" fn gh_identify(info: u8) -> *const core::ffi::c_char {
    match info & records::XLOG_GH_OPMASK {
        records::XLOG_GH_INSERT => c"INSERT".as_ptr(),
        records::XLOG_GH_MULTI_INSERT => c"MULTI_INSERT".as_ptr(),
        records::XLOG_GH_DELETE => c"DELETE".as_ptr(),
        records::XLOG_GH_UPDATE => c"UPDATE".as_ptr(),
        records::XLOG_GH_LOCK => c"LOCK".as_ptr(),
        records::XLOG_GH_CONFIRM => c"CONFIRM".as_ptr(),
        records::XLOG_GH_PRUNE => c"PRUNE".as_ptr(),
        records::XLOG_GH_VACUUM => c"VACUUM".as_ptr(),
        records::XLOG_GH_FREEZE => c"FREEZE".as_ptr(),
        records::XLOG_GH_VISIBLE => c"VISIBLE".as_ptr(),
        _ => std::ptr::null(),
    }
}

/// Masks what legitimately differs between a primary page and its replay.
#[pg_callback]
unsafe extern "C-unwind" fn gh_mask(pagedata: *mut core::ffi::c_char, _blkno: pg_sys::BlockNumber) {
    let page = PageRef(pagedata as pg_sys::Page);
    // pagedata is a private BLCKSZ copy made by the consistency checker.
    if let Err(e) = page.change(|p| p.mask_for_consistency_check()) {
        pgrx::error!("glassheap mask: {e}");
    }
}

/// Logical decoding: glassheap's changes as reorder-buffer changes (`super::decode`).
#[pg_callback]
unsafe extern "C-unwind" fn gh_decode(
    ctx: *mut pg_sys::LogicalDecodingContext,
    buf: *mut pg_sys::XLogRecordBuffer,
) {
    // SAFETY: PostgreSQL passes a live context and its XLogRecordBuffer (opaque in pgrx,
    // declared in `decode`).
    unsafe { super::decode::decode(ctx, buf.cast()) }
}

static mut RMGR: pg_sys::RmgrData = pg_sys::RmgrData {
    rm_name: c"glassheap".as_ptr(),
    rm_redo: Some(gh_redo),
    rm_desc: Some(gh_desc),
    rm_identify: Some(gh_identify),
    rm_startup: None,
    rm_cleanup: None,
    rm_mask: Some(gh_mask),
    rm_decode: Some(gh_decode),
};

/// Registers the resource manager; only valid while preloading (postmaster start).
pub fn register() {
    // SAFETY: RegisterCustomRmgr keeps a pointer to this static for the process lifetime;
    // it is called once from _PG_init during shared_preload_libraries processing.
    unsafe { pg_sys::RegisterCustomRmgr(RMGR_ID, &raw mut RMGR) };
}

/// PostgreSQL 15 resolves `wal_consistency_checking = 'all'` while reading the
/// configuration, before shared_preload_libraries register custom resource managers,
/// so 'all' would silently leave glassheap unchecked (naming 'glassheap' explicitly
/// works, because unresolved names are re-checked after preloading). When 'all' is
/// configured, add glassheap to the resolved set, which backends inherit by fork.
pub fn include_in_consistency_checking_all() {
    // SAFETY: called from _PG_init in the postmaster while preloading; the array has
    // RM_MAX_ID + 1 entries and was allocated by the GUC's assign hook.
    unsafe {
        let text = pg_sys::wal_consistency_checking_string;
        let set = pg_sys::wal_consistency_checking;
        if text.is_null() || set.is_null() {
            return;
        }
        let text = std::ffi::CStr::from_ptr(text).to_string_lossy();
        if text
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("all"))
        {
            *set.add(RMGR_ID as usize) = true;
        }
    }
}
