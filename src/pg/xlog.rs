//! XLogReaderState accessors (xlogreader.h macros). Records are inserted through
//! `crit::CritSection::xlog_insert`.

use pgrx::pg_sys;

/// XLogRecGetInfo
#[inline]
pub fn rec_info(record: *mut pg_sys::XLogReaderState) -> u8 {
    // SAFETY: called from rmgr callbacks with a decoded record.
    unsafe { (*(*record).record).header.xl_info }
}

/// XLogRecGetXid
#[inline]
pub fn rec_xid(record: *mut pg_sys::XLogReaderState) -> u32 {
    // SAFETY: as above.
    unsafe { (*(*record).record).header.xl_xid.into_inner() }
}

/// XLogRecMaxBlockId + 1
#[inline]
pub fn rec_block_count(record: *mut pg_sys::XLogReaderState) -> usize {
    // SAFETY: as above.
    unsafe { ((*(*record).record).max_block_id + 1).max(0) as usize }
}

/// XLogRecHasBlockRef
#[inline]
pub fn rec_has_block(record: *mut pg_sys::XLogReaderState, id: u8) -> bool {
    // SAFETY: as above; blocks is a flexible array of max_block_id+1 entries.
    unsafe {
        let r = (*record).record;
        (id as i32) <= (*r).max_block_id && (*(*r).blocks.as_ptr().add(id as usize)).in_use
    }
}

/// The data registered with block `id`, if any (None when absent or dropped for an FPI).
pub fn rec_block_data<'a>(record: *mut pg_sys::XLogReaderState, id: u8) -> Option<&'a [u8]> {
    if !rec_has_block(record, id) {
        return None;
    }
    let mut len: usize = 0;
    // SAFETY: XLogRecGetBlockData returns a pointer into the decoded record (valid while
    // the record is) or NULL when the block has no data.
    unsafe {
        let p = pg_sys::XLogRecGetBlockData(record, id, &mut len);
        if p.is_null() {
            None
        } else {
            Some(std::slice::from_raw_parts(p as *const u8, len))
        }
    }
}
