//! Allocating and freeing PostgreSQL memory on glassheap's per-row and per-scan paths
//! without pgrx's per-call guard (a thread check and a `sigsetjmp`, about a hundred
//! instructions, more than the allocation itself).

use super::crit::CritSection;
use pgrx::pg_sys;
use pgrx::prelude::*;

mod raw {
    use pgrx::pg_sys;

    // Signatures of PG15's utils/palloc.h (the same in 16 and 18).
    unsafe extern "C" {
        pub fn pfree(pointer: *mut core::ffi::c_void);
        pub fn MemoryContextAllocExtended(
            context: pg_sys::MemoryContext,
            size: usize,
            flags: core::ffi::c_int,
        ) -> *mut core::ffi::c_void;
    }
}

/// memutils.h's MaxAllocSize: the largest request palloc accepts.
const MAX_ALLOC_SIZE: usize = 0x3fff_ffff;

/// `size` bytes (zeroed when `zero`) in memory context `cxt`, as palloc / palloc0 /
/// MemoryContextAlloc give them, without pgrx's guard. It is asked for with
/// `MCXT_ALLOC_NO_OOM`, under which MemoryContextAllocExtended raises no ERROR: the
/// size check is the only other one it makes, and it is made here first; a context out
/// of memory returns NULL. Both failures are then raised from Rust with PostgreSQL's
/// own messages and SQLSTATE (an ordinary ERROR: the statement fails, the server goes
/// on), so no longjmp can leave the call.
///
/// # Safety
/// `cxt` is a live memory context (the current one, or a slot's).
#[inline]
pub unsafe fn alloc_in(cxt: pg_sys::MemoryContext, size: usize, zero: bool) -> *mut u8 {
    if size > MAX_ALLOC_SIZE {
        invalid_size(size);
    }
    let mut flags = pg_sys::MCXT_ALLOC_NO_OOM as core::ffi::c_int;
    if zero {
        flags |= pg_sys::MCXT_ALLOC_ZERO as core::ffi::c_int;
    }
    // SAFETY: per the contract; with MCXT_ALLOC_NO_OOM and a valid size the call raises
    // nothing (see above).
    let p = unsafe { raw::MemoryContextAllocExtended(cxt, size, flags) };
    if p.is_null() || super::fault::is(super::fault::Kind::OutOfMemory) {
        // SAFETY: as above.
        unsafe { out_of_memory(cxt, size) }
    }
    p as *mut u8
}

/// palloc0 in the current memory context, without pgrx's guard ([`alloc_in`]).
#[inline]
pub fn palloc0(size: usize) -> *mut u8 {
    // SAFETY: CurrentMemoryContext is always a live context in a backend.
    unsafe { alloc_in(pg_sys::CurrentMemoryContext, size, true) }
}

/// palloc in the current memory context, without pgrx's guard ([`alloc_in`]).
#[inline]
pub fn palloc(size: usize) -> *mut u8 {
    // SAFETY: as for palloc0.
    unsafe { alloc_in(pg_sys::CurrentMemoryContext, size, false) }
}

/// mcxt.c's error for a request above MaxAllocSize.
#[cold]
#[inline(never)]
fn invalid_size(size: usize) -> ! {
    error!("invalid memory alloc request size {size}")
}

/// mcxt.c's error for a context out of memory.
#[allow(unreachable_code)]
///
/// # Safety
/// `cxt` is a live memory context.
#[cold]
#[inline(never)]
unsafe fn out_of_memory(cxt: pg_sys::MemoryContext, size: usize) -> ! {
    // SAFETY: per the contract; a context's name is a NUL-terminated string.
    let name = unsafe { std::ffi::CStr::from_ptr((*cxt).name) }.to_string_lossy();
    ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_OUT_OF_MEMORY,
        "out of memory",
        format!("Failed on request of size {size} in memory context \"{name}\".")
    );
    unreachable!()
}

/// pfree. Freeing a chunk fails only when its header is not a memory context's (a
/// pointer that was never palloc'd, or memory already overwritten): an invariant
/// already broken. Chunks are freed per unique check and per slot, where the guard
/// (a thread check and a `sigsetjmp`, about a hundred instructions) cost more than the
/// freeing; so this runs unguarded inside a critical section, as the buffer calls do
/// (`bufmgr`): such an ERROR becomes a PANIC rather than a longjmp across Rust frames.
///
/// # Safety
/// `p` was returned by palloc (or a relative) and is not used after this call.
#[inline]
pub unsafe fn pfree(p: *mut core::ffi::c_void) {
    let _crit = CritSection::enter();
    // SAFETY: per the contract; see above for the missing guard.
    unsafe { raw::pfree(p) }
}
