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

/// The data registered with block `id`, if any (None when absent or dropped for an FPI):
/// XLogRecGetBlockData, read from the decoded record here rather than called (it only
/// reads these fields; the call would go through pgrx's guard, once per record decoded
/// or replayed).
#[inline]
pub fn rec_block_data<'a>(record: *mut pg_sys::XLogReaderState, id: u8) -> Option<&'a [u8]> {
    if !rec_has_block(record, id) {
        return None;
    }
    // SAFETY: block `id` is in use (checked above); its data and data_len describe the
    // block's data inside the decoded record, valid while the record is.
    unsafe {
        let b = &*(*(*record).record).blocks.as_ptr().add(id as usize);
        if !b.has_data || b.data.is_null() {
            None
        } else {
            Some(std::slice::from_raw_parts(
                b.data as *const u8,
                b.data_len as usize,
            ))
        }
    }
}

/// The relation of block `id` (XLogRecGetBlockTag's locator), read from the decoded
/// record; None when the record references no such block.
#[inline]
pub fn rec_block_locator(
    record: *mut pg_sys::XLogReaderState,
    id: u8,
) -> Option<crate::pg::compat::RelFileLocator> {
    if !rec_has_block(record, id) {
        return None;
    }
    // SAFETY: block `id` is in use (checked above).
    unsafe {
        let b = &*(*(*record).record).blocks.as_ptr().add(id as usize);
        #[cfg(feature = "pg15")]
        {
            Some(b.rnode)
        }
        #[cfg(not(feature = "pg15"))]
        {
            Some(b.rlocator)
        }
    }
}
