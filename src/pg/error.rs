//! ERRORs raised by PostgreSQL inside a glassheap callback reach the client exactly as
//! PostgreSQL raised them: same message, DETAIL, HINT, CONTEXT, SQLSTATE and other
//! fields (schema, table, column, data type and constraint names, internal query and
//! positions), whatever the server's environment.
//!
//! Why this is needed. pgrx wraps every call into PostgreSQL (`pg_sys::*`) in
//! `pg_guard_ffi_boundary`: a `sigsetjmp` that catches PostgreSQL's `longjmp`, copies a few
//! fields out of the error (message, DETAIL, HINT, SQLSTATE, location), calls
//! `FlushErrorState` and turns the error into a Rust panic, so that Rust destructors run
//! (buffer pins, locks) while the stack unwinds. The `#[pg_guard]` at the callback's
//! entry catches that panic and raises a *new* ERROR from the copied fields. Two things
//! are lost on the way: the CONTEXT lines that PostgreSQL's error context callbacks
//! between the callback and the error added (a `SQL function "f" statement 1` when an
//! index expression fails in CREATE INDEX, VACUUM FULL or CLUSTER) together with the
//! other fields pgrx does not copy; and when `RUST_BACKTRACE` is set in the server's
//! environment, pgrx appends the Rust backtrace its panic hook captured to the DETAIL.
//!
//! What this module does. Every callback is declared `#[pg_callback]` (crates/macros): pgrx's
//! `#[pg_guard]` with the body run inside [`bridge`]. The bridge pushes an entry onto
//! PostgreSQL's `error_context_stack` for as long as the body runs. elog.c's `errfinish`
//! calls every entry of that stack, innermost first, while it builds an error; when
//! ours is called for an ERROR, the errors' context lines from below the callback are
//! already in it and those from above are not, and it keeps a complete copy of the error
//! (`CopyErrorData`, into a memory context of its own, which pgrx's `FlushErrorState`
//! does not reset). When the body then ends in pgrx's panic for that error, the bridge
//! raises the kept copy again with `ThrowErrorData`, the function PostgreSQL uses to
//! re-raise a parallel worker's error in the leader: it copies every field into a new
//! error, and its `errfinish` calls the context callbacks above the callback again, which
//! append the same lines they appended the first time. So the error the client gets is
//! the one heap's path gives, field for field. The raise happens outside any
//! `catch_unwind` of ours, with nothing left to drop in the bridge's frame, and
//! `ThrowErrorData` is declared here without pgrx's wrapper so that its `longjmp` goes
//! to the PostgreSQL code that called the callback, as any ERROR from C code does.
//!
//! Each bridge keeps its own copy: when callbacks nest (an index expression that scans a
//! glassheap table, inside CREATE INDEX on a glassheap table), the inner bridge raises its
//! copy, whose context lines stop at the inner callback; the outer callbacks' context
//! entries, the outer bridge's among them, are then called again by that raise and the
//! outer bridge keeps the error with the lines up to it. A copy is matched against the
//! error pgrx caught (message, SQLSTATE, source file and line) before it is used; an
//! error the bridge did not see being built (PostgreSQL code below re-throwing an error
//! raised before the callback began) is raised from the fields pgrx kept, still without
//! a backtrace. Errors glassheap raises itself (`ereport!`, `error!`) and Rust panics go
//! on to pgrx's guard as before.
//!
//! What `ThrowErrorData` does not carry over: the `hide_stmt`/`hide_ctx` flags (set by
//! a few server messages that no glassheap callback reaches) and the untranslated message
//! id (used only to translate the message, which is already translated).

use pgrx::pg_sys;
use pgrx::pg_sys::panic::CaughtError;
use std::cell::Cell;
use std::ffi::{c_char, c_void, CStr};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

pub use glassheap_macros::pg_callback;

extern "C-unwind" {
    /// elog.c's ThrowErrorData, not wrapped by pgrx: its `longjmp` must reach the
    /// PostgreSQL code that called the callback, not a pgrx boundary that would turn it
    /// into a panic again.
    #[link_name = "ThrowErrorData"]
    fn throw_error_data_raw(edata: *mut pg_sys::ErrorData);
}

/// One bridge's entry on `error_context_stack` and the ERROR it kept.
#[repr(C)]
struct Frame {
    entry: pg_sys::ErrorContextCallback,
    /// A copy of the last ERROR built while this frame was on the stack (in
    /// [`capture_context`]), or null.
    kept: Cell<*mut pg_sys::ErrorData>,
}

thread_local! {
    static CAPTURE_CXT: Cell<pg_sys::MemoryContext> = const { Cell::new(std::ptr::null_mut()) };
}

/// The memory context the kept errors live in: a child of TopMemoryContext, so neither
/// pgrx's `FlushErrorState` (which resets ErrorContext) nor a subtransaction's abort
/// frees a copy before its bridge uses it. Every copy is freed by the bridge that kept it.
fn capture_context() -> pg_sys::MemoryContext {
    CAPTURE_CXT.with(|c| {
        if c.get().is_null() {
            // SAFETY: creating a context under TopMemoryContext (ALLOCSET_SMALL_SIZES); an
            // out-of-memory ERROR here is an ordinary ERROR.
            let cxt = unsafe {
                pg_sys::AllocSetContextCreateInternal(
                    pg_sys::TopMemoryContext,
                    c"glassheap error bridge".as_ptr(),
                    0,
                    1024,
                    8 * 1024,
                )
            };
            c.set(cxt);
        }
        c.get()
    })
}

/// Runs a callback's body; an ERROR PostgreSQL raised inside it is raised again as
/// PostgreSQL built it (see the module comment). Used by `#[pg_callback]`, not directly.
#[inline]
pub fn bridge<R>(body: impl FnOnce() -> R) -> R {
    let mut frame = Frame {
        entry: pg_sys::ErrorContextCallback {
            // SAFETY: a backend-local global, read on the backend's only thread.
            previous: unsafe { pg_sys::error_context_stack },
            callback: Some(keep_error),
            arg: std::ptr::null_mut(),
        },
        kept: Cell::new(std::ptr::null_mut()),
    };
    let fp: *mut Frame = &mut frame;
    // SAFETY: `frame` stays where it is until this function returns or raises, and it is
    // off the stack again (below) before either; PostgreSQL only calls `keep_error` with
    // `arg` while the entry is on the stack.
    unsafe {
        (*fp).entry.arg = fp.cast();
        pg_sys::error_context_stack = &mut (*fp).entry;
    }
    let result = catch_unwind(AssertUnwindSafe(body));
    // SAFETY: pops our entry: whatever ran below restored the stack to our entry
    // (PostgreSQL's own pushes are popped by their pushers, pgrx's boundary restores the
    // value it saw), so the previous value is what was there before.
    unsafe {
        pg_sys::error_context_stack = (*fp).entry.previous;
    }
    match result {
        Ok(v) => {
            // an ERROR built below and caught below (an EXCEPTION block in an index
            // expression's function): nothing to raise
            free_kept(frame.kept.replace(std::ptr::null_mut()));
            v
        }
        Err(payload) => {
            let kept = frame.kept.replace(std::ptr::null_mut());
            let edata = match payload.downcast_ref::<CaughtError>() {
                // SAFETY: `kept` is null or a copy made by keep_error, not yet freed; the
                // copies and the built error go into ErrorContext, which lives until the
                // raised error has been handled.
                Some(CaughtError::PostgresError(report)) => Some(unsafe {
                    if same_error(kept, report) {
                        copy_into_error_context(kept)
                    } else {
                        error_from_report(report)
                    }
                }),
                // glassheap's own ERRORs and Rust panics: pgrx's guard reports them
                _ => None,
            };
            free_kept(kept);
            let Some(edata) = edata else {
                resume_unwind(payload)
            };
            drop(payload);
            // SAFETY: `edata` is a complete ERROR in ErrorContext. ThrowErrorData does not
            // return for an ERROR: it longjmps to the PostgreSQL code that called this
            // callback. Nothing in this frame or in pgrx's guard frames above it has a
            // destructor left to run (the body and the payload are gone), which is what
            // a longjmp over Rust frames requires. Deliberately unguarded (the crate
            // denies ffi_unwind_calls everywhere else).
            #[allow(ffi_unwind_calls)]
            // SAFETY: as above.
            unsafe {
                throw_error_data_raw(edata)
            };
            unreachable!("ThrowErrorData returned for an ERROR")
        }
    }
}

/// The context callback of a bridge's entry: called by `errfinish` for every message
/// built while the entry is on the stack; keeps a copy of each ERROR (the last one wins).
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn keep_error(arg: *mut c_void) {
    let frame = arg as *const Frame;
    let cxt = capture_context();
    // SAFETY: CopyErrorData copies the error being built (errordata's top entry, which
    // errfinish is finishing) into the current memory context, which must not be
    // ErrorContext (errfinish runs the callbacks in ErrorContext).
    let e = unsafe {
        let old = pg_sys::MemoryContextSwitchTo(cxt);
        let e = pg_sys::CopyErrorData();
        pg_sys::MemoryContextSwitchTo(old);
        e
    };
    // SAFETY: `e` is a fresh copy; `frame` is the bridge's, alive while its entry is on
    // the stack (this call happens only then).
    unsafe {
        if (*e).elevel != pg_sys::PGERROR as i32 {
            // NOTICE, WARNING (and PANIC, which never comes back): not ours to raise
            pg_sys::FreeErrorData(e);
            return;
        }
        // filename and funcname are not copied by CopyErrorData: PostgreSQL's are string
        // constants, but pgrx's re-raised ERRORs allocate them in ErrorContext, which is
        // reset before the copy is used
        (*e).filename = strdup_in(cxt, (*e).filename);
        (*e).funcname = strdup_in(cxt, (*e).funcname);
        free_kept((*frame).kept.replace(e));
    }
}

/// A copy of `s` in `cxt`, or null.
unsafe fn strdup_in(cxt: pg_sys::MemoryContext, s: *const c_char) -> *mut c_char {
    if s.is_null() {
        std::ptr::null_mut()
    } else {
        // SAFETY: `s` is a NUL-terminated string (caller's promise).
        unsafe { pg_sys::MemoryContextStrdup(cxt, s) }
    }
}

/// Frees a copy made by [`keep_error`] (null: nothing). Inline for the null test that
/// every callback's return makes (TPC-B makes about a thousand a transaction); the
/// freeing itself, rare, is out of line.
#[inline(always)]
fn free_kept(e: *mut pg_sys::ErrorData) {
    if !e.is_null() {
        free_kept_copy(e)
    }
}

#[cold]
#[inline(never)]
fn free_kept_copy(e: *mut pg_sys::ErrorData) {
    // SAFETY: `e` and its strings were allocated by keep_error; FreeErrorData frees the
    // strings it owns and the struct, filename and funcname are the copies keep_error made.
    unsafe {
        for s in [(*e).filename, (*e).funcname] {
            if !s.is_null() {
                pg_sys::pfree(s as *mut c_void);
            }
        }
        pg_sys::FreeErrorData(e);
    }
}

fn cstr_eq(p: *const c_char, s: &str) -> bool {
    // SAFETY: p is null or a NUL-terminated string.
    !p.is_null() && unsafe { CStr::from_ptr(p) }.to_bytes() == s.as_bytes()
}

/// Is the kept copy the error pgrx caught?
unsafe fn same_error(
    kept: *const pg_sys::ErrorData,
    report: &pg_sys::panic::ErrorReportWithLevel,
) -> bool {
    if kept.is_null() {
        return false;
    }
    // SAFETY: `kept` is a live copy (caller's promise).
    let k = unsafe { &*kept };
    k.sqlerrcode == report.sql_error_code() as i32
        && k.lineno as u32 == report.line_number()
        && cstr_eq(k.message, report.message())
        && cstr_eq(k.filename, report.file())
}

/// A copy of `src` and its strings in ErrorContext: the ErrorData ThrowErrorData raises
/// from (it copies the strings once more; this copy is freed with ErrorContext when the
/// error has been handled).
unsafe fn copy_into_error_context(src: *const pg_sys::ErrorData) -> *mut pg_sys::ErrorData {
    // SAFETY: `src` is a live copy; ErrorContext exists in every backend.
    unsafe {
        let cxt = pg_sys::ErrorContext;
        let e = pg_sys::MemoryContextAllocZero(cxt, std::mem::size_of::<pg_sys::ErrorData>())
            as *mut pg_sys::ErrorData;
        std::ptr::copy_nonoverlapping(src, e, 1);
        (*e).filename = strdup_in(cxt, (*src).filename);
        (*e).funcname = strdup_in(cxt, (*src).funcname);
        (*e).message = strdup_in(cxt, (*src).message);
        (*e).detail = strdup_in(cxt, (*src).detail);
        (*e).detail_log = strdup_in(cxt, (*src).detail_log);
        (*e).hint = strdup_in(cxt, (*src).hint);
        (*e).context = strdup_in(cxt, (*src).context);
        (*e).backtrace = strdup_in(cxt, (*src).backtrace);
        (*e).schema_name = strdup_in(cxt, (*src).schema_name);
        (*e).table_name = strdup_in(cxt, (*src).table_name);
        (*e).column_name = strdup_in(cxt, (*src).column_name);
        (*e).datatype_name = strdup_in(cxt, (*src).datatype_name);
        (*e).constraint_name = strdup_in(cxt, (*src).constraint_name);
        (*e).internalquery = strdup_in(cxt, (*src).internalquery);
        (*e).assoc_context = cxt;
        e
    }
}

/// An ERROR in ErrorContext from the fields pgrx kept (an error no bridge saw being
/// built): message, DETAIL (without a backtrace), HINT, SQLSTATE and location.
unsafe fn error_from_report(
    report: &pg_sys::panic::ErrorReportWithLevel,
) -> *mut pg_sys::ErrorData {
    // SAFETY: allocations in ErrorContext, which exists in every backend.
    unsafe {
        let cxt = pg_sys::ErrorContext;
        let e = pg_sys::MemoryContextAllocZero(cxt, std::mem::size_of::<pg_sys::ErrorData>())
            as *mut pg_sys::ErrorData;
        let dup = |s: &str| {
            let c = std::ffi::CString::new(s.replace('\0', "")).unwrap_or_default();
            pg_sys::MemoryContextStrdup(cxt, c.as_ptr())
        };
        (*e).elevel = pg_sys::PGERROR as i32;
        (*e).sqlerrcode = report.sql_error_code() as i32;
        (*e).message = dup(report.message());
        (*e).detail = report.detail().map_or(std::ptr::null_mut(), dup);
        (*e).hint = report.hint().map_or(std::ptr::null_mut(), dup);
        (*e).filename = dup(report.file()).cast_const();
        (*e).lineno = report.line_number() as i32;
        (*e).funcname = report
            .function_name()
            .map_or(std::ptr::null_mut(), dup)
            .cast_const();
        (*e).assoc_context = cxt;
        e
    }
}
