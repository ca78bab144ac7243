//! START_CRIT_SECTION / END_CRIT_SECTION. Inside a critical section any ERROR is promoted
//! to PANIC by elog.c, which is exactly what must happen if a page was changed but its
//! WAL record could not be written.

use pgrx::pg_sys;

/// A critical section for as long as this value lives. Dropping it (normally, never by
/// unwinding: an error inside would already have become a PANIC) ends the section.
pub struct CritSection(());

impl CritSection {
    #[inline]
    pub fn enter() -> CritSection {
        // SAFETY: CritSectionCount is a plain backend-local counter; PostgreSQL is
        // single-threaded per backend and the macro does exactly this increment.
        unsafe {
            pg_sys::CritSectionCount += 1;
        }
        CritSection(())
    }
}

impl Drop for CritSection {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: paired with the increment in `enter`.
        unsafe {
            debug_assert!(pg_sys::CritSectionCount > 0);
            pg_sys::CritSectionCount -= 1;
        }
    }
}

/// The calls made between changing a page and stamping its LSN, declared here without
/// pgrx's per-call guard (a sigsetjmp, a thread check and three saved globals, about a
/// tenth of an UPDATE's CPU time). The guard exists to turn a longjmp into a panic; inside
/// a critical section there is none to turn: errstart promotes every ERROR to PANIC when
/// CritSectionCount > 0, and PANIC (like FATAL) exits the process instead of jumping.
/// So these are reachable only through a `&CritSection`, and their C ABI never unwinds.
mod raw {
    use pgrx::pg_sys;

    // Signatures of PG15's storage/bufmgr.h and access/xloginsert.h.
    unsafe extern "C" {
        pub fn MarkBufferDirty(buffer: pg_sys::Buffer);
        pub fn XLogBeginInsert();
        pub fn XLogSetRecordFlags(flags: u8);
        pub fn XLogRegisterData(data: *mut core::ffi::c_char, len: core::ffi::c_int);
        pub fn XLogRegisterBuffer(block_id: u8, buffer: pg_sys::Buffer, flags: u8);
        pub fn XLogRegisterBufData(
            block_id: u8,
            data: *mut core::ffi::c_char,
            len: core::ffi::c_int,
        );
        pub fn XLogInsert(rmid: u8, info: u8) -> u64;
    }
}

impl CritSection {
    /// MarkBufferDirty. The buffer is pinned and exclusively locked by the caller.
    #[inline]
    pub fn mark_dirty(&self, buffer: pg_sys::Buffer) {
        // SAFETY: inside a critical section (the &self borrow proves it) no ERROR can
        // longjmp; the caller holds the pin and the exclusive lock MarkBufferDirty needs.
        unsafe { raw::MarkBufferDirty(buffer) }
    }

    /// XLogBeginInsert; registers each block and its data chunks, and `logical` as the
    /// record's main data with the session's replication origin (XLOG_INCLUDE_ORIGIN,
    /// for logical decoding's origin filter); XLogInsert. Returns the record's LSN. Every
    /// pointer stays valid for the duration of the call.
    pub fn xlog_insert(
        &self,
        rmid: u8,
        info: u8,
        blocks: &[XLogBlock<'_>],
        logical: Option<&[u8]>,
    ) -> u64 {
        // SAFETY: inside a critical section (see mark_dirty); the standard
        // XLogBeginInsert/Register/XLogInsert protocol with buffers the caller pinned and
        // locked exclusively, and data slices that outlive the call (XLogInsert copies
        // them into the WAL before returning).
        unsafe {
            raw::XLogBeginInsert();
            if let Some(main) = logical {
                raw::XLogRegisterData(
                    main.as_ptr() as *mut core::ffi::c_char,
                    main.len() as core::ffi::c_int,
                );
                raw::XLogSetRecordFlags(pg_sys::XLOG_INCLUDE_ORIGIN as u8);
            }
            for b in blocks {
                raw::XLogRegisterBuffer(b.id, b.buffer, b.flags);
                for chunk in b.data {
                    if !chunk.is_empty() {
                        raw::XLogRegisterBufData(
                            b.id,
                            chunk.as_ptr() as *mut core::ffi::c_char,
                            chunk.len() as core::ffi::c_int,
                        );
                    }
                }
            }
            raw::XLogInsert(rmid, info)
        }
    }
}

/// One registered block of a WAL record: its id, buffer, REGBUF_* flags and the data
/// chunks that make up its payload (concatenated in the record).
pub struct XLogBlock<'a> {
    pub id: u8,
    pub buffer: pg_sys::Buffer,
    pub flags: u8,
    pub data: &'a [&'a [u8]],
}
