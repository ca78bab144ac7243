//! START_CRIT_SECTION / END_CRIT_SECTION. Inside a critical section any ERROR is promoted
//! to PANIC by elog.c, which is exactly what must happen if a page was changed but its
//! WAL record could not be written.
//!
//! A Rust panic inside one (an index out of bounds, an `unwrap`, a pgrx `error!`) does
//! not go through elog.c: it unwinds. If it were allowed to unwind out of the section,
//! pgrx's guard would turn it into an ordinary ERROR and the page would stay changed
//! without its WAL record. So dropping a `CritSection` while unwinding PANICs the server
//! instead, with the panic's message (recorded by [`install_panic_hook`]).

use pgrx::pg_sys;
use std::cell::RefCell;

/// A critical section for as long as this value lives. Dropping it ends the section;
/// dropping it while a panic unwinds PANICs the server (see the module comment).
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
        if std::thread::panicking() {
            panic_in_critical_section();
        }
        // SAFETY: paired with the increment in `enter`.
        unsafe {
            debug_assert!(pg_sys::CritSectionCount > 0);
            pg_sys::CritSectionCount -= 1;
        }
    }
}

thread_local! {
    /// The message and location of a panic raised inside a critical section, recorded by
    /// the panic hook for the PANIC that [`CritSection`]'s `drop` raises.
    static CRIT_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Chains a panic hook in front of pgrx's (installed by `Pg_magic_func`, before
/// `_PG_init`): a panic raised while `CritSectionCount` > 0 has its message and location
/// recorded, because the unwinding that follows carries the payload only to the
/// `catch_unwind` at the guard, past the `CritSection` that must report it. Other panics
/// (pgrx's ERRORs among them) only pass through.
pub fn install_panic_hook() {
    let next = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // SAFETY: a backend-local counter, read on the backend's only thread.
        if unsafe { pg_sys::CritSectionCount } > 0 {
            let payload = info.payload();
            let msg = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else if let Some(e) =
                payload.downcast_ref::<pgrx::pg_sys::panic::ErrorReportWithLevel>()
            {
                e.message().to_string()
            } else {
                "(a panic without a message)".to_string()
            };
            let at = info
                .location()
                .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            CRIT_PANIC.with(|c| *c.borrow_mut() = Some(format!("{msg}{at}")));
        }
        next(info)
    }));
}

/// elog.c's entry points, declared without pgrx's guard: at PANIC, errfinish writes the
/// report and calls abort(); it never returns and never longjmps, so there is nothing to
/// guard (pgrx's own `ereport!` cannot be used here: at ERROR it panics, and a panic
/// while unwinding aborts the process without a report).
mod elog {
    unsafe extern "C" {
        pub fn errstart(elevel: core::ffi::c_int, domain: *const core::ffi::c_char) -> bool;
        pub fn errcode(sqlerrcode: core::ffi::c_int) -> core::ffi::c_int;
        pub fn errmsg_internal(fmt: *const core::ffi::c_char, ...) -> core::ffi::c_int;
        pub fn errfinish(
            filename: *const core::ffi::c_char,
            lineno: core::ffi::c_int,
            funcname: *const core::ffi::c_char,
        );
    }
}

/// A panic is unwinding through a critical section: a page may be changed without its
/// WAL record. PANIC, as elog.c does for any error there: the server restarts and
/// recovers from the WAL, which never saw the change.
#[cold]
#[inline(never)]
fn panic_in_critical_section() -> ! {
    let what = CRIT_PANIC
        .with(|c| c.borrow_mut().take())
        .unwrap_or_else(|| "(message not recorded)".to_string());
    let msg = std::ffi::CString::new(format!(
        "glassheap: Rust panic in a critical section: {what}"
    ))
    .unwrap_or_else(|_| c"glassheap: Rust panic in a critical section".to_owned());
    // SAFETY: elog.c's protocol (errstart, the err* calls, errfinish) on the backend's
    // thread; at PANIC errstart always returns true and errfinish emits the report and
    // calls abort(). The strings outlive the calls. Nothing here unwinds.
    unsafe {
        if elog::errstart(pg_sys::PANIC as core::ffi::c_int, std::ptr::null()) {
            elog::errcode(pgrx::PgSqlErrorCode::ERRCODE_INTERNAL_ERROR as core::ffi::c_int);
            elog::errmsg_internal(c"%s".as_ptr(), msg.as_ptr());
            elog::errfinish(
                c"crit.rs".as_ptr(),
                line!() as core::ffi::c_int,
                c"CritSection::drop".as_ptr(),
            );
        }
    }
    // errfinish(PANIC) does not return.
    std::process::abort()
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
