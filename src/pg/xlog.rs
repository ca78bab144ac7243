//! WAL insertion and XLogReaderState accessors (xloginsert.h / xlogreader.h macros).

use pgrx::pg_sys;

/// Registers one buffer and its data, then inserts the record; returns the record's LSN.
/// The caller is inside a critical section and sets the page LSN(s) afterwards.
pub struct Record {
    blocks: Vec<(u8, pg_sys::Buffer, u8, *const u8, usize)>,
}

pub const REGBUF_STANDARD: u8 = pg_sys::REGBUF_STANDARD as u8;
pub const REGBUF_WILL_INIT: u8 = pg_sys::REGBUF_WILL_INIT as u8;

impl Record {
    pub fn new() -> Record {
        Record {
            blocks: Vec::with_capacity(2),
        }
    }
    /// `data` must stay alive until `insert` returns.
    pub fn block(mut self, id: u8, buffer: pg_sys::Buffer, flags: u8, data: &[u8]) -> Record {
        self.blocks
            .push((id, buffer, flags, data.as_ptr(), data.len()));
        self
    }
    pub fn insert(self, info: u8) -> u64 {
        // SAFETY: standard XLogInsert protocol; buffers are pinned and exclusively locked
        // by the caller and the data pointers outlive this call.
        unsafe {
            pg_sys::XLogBeginInsert();
            for &(id, buf, flags, ptr, len) in &self.blocks {
                pg_sys::XLogRegisterBuffer(id, buf, flags);
                if len > 0 {
                    pg_sys::XLogRegisterBufData(id, ptr as *mut core::ffi::c_char, len as i32);
                }
            }
            pg_sys::XLogInsert(glassheap_format::wal::RMGR_ID, info)
        }
    }
}

impl Default for Record {
    fn default() -> Self {
        Self::new()
    }
}

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
