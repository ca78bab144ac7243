//! Buffer lock and pin release without pgrx's per-call FFI guard.
//!
//! `LockBuffer`, `UnlockReleaseBuffer` and `ReleaseBuffer` run several times per row of
//! every write and index fetch, and pgrx's guard around each call (a thread check, a
//! `sigsetjmp` and three saved globals) was a visible share of an UPDATE's CPU time. On a
//! pinned buffer with one of the three lock modes these functions raise an ERROR only
//! when an invariant is already broken ("too many LWLocks taken", "lock is not held",
//! "bad buffer ID", a buffer the resource owner does not know); waiting for the lock
//! holds interrupts off, so no cancel can arrive either. Each call is still made inside
//! a critical section of its own: should one of those errors ever happen, elog.c turns
//! it into a PANIC (which exits instead of jumping), so no longjmp can cross Rust frames
//! the guard would otherwise have protected. Nothing here allocates memory, which a
//! critical section forbids.
//!
//! Reading a buffer (I/O, page verification) and pinning (which may enlarge the resource
//! owner's array) can fail for ordinary reasons and stay behind the guard.

use super::crit::CritSection;
use pgrx::pg_sys;

mod raw {
    use pgrx::pg_sys;

    // Signatures of PG15's storage/bufmgr.h.
    unsafe extern "C" {
        pub fn LockBuffer(buffer: pg_sys::Buffer, mode: core::ffi::c_int);
        pub fn UnlockReleaseBuffer(buffer: pg_sys::Buffer);
        pub fn ReleaseBuffer(buffer: pg_sys::Buffer);
    }
}

/// LockBuffer: `mode` is BUFFER_LOCK_SHARE, BUFFER_LOCK_EXCLUSIVE or BUFFER_LOCK_UNLOCK.
///
/// # Safety
/// `buffer` is pinned by this backend; unlocking requires holding the lock.
#[inline]
pub unsafe fn lock(buffer: pg_sys::Buffer, mode: u32) {
    debug_assert!(mode <= pg_sys::BUFFER_LOCK_EXCLUSIVE);
    let _crit = CritSection::enter();
    // SAFETY: per the contract; inside a critical section an ERROR becomes a PANIC, so
    // the unguarded call cannot longjmp (see the module comment).
    unsafe { raw::LockBuffer(buffer, mode as core::ffi::c_int) }
}

/// UnlockReleaseBuffer.
///
/// # Safety
/// `buffer` is pinned and locked by this backend.
#[inline]
pub unsafe fn unlock_release(buffer: pg_sys::Buffer) {
    let _crit = CritSection::enter();
    // SAFETY: as for `lock`.
    unsafe { raw::UnlockReleaseBuffer(buffer) }
}

/// ReleaseBuffer.
///
/// # Safety
/// `buffer` is pinned by this backend.
#[inline]
pub unsafe fn release(buffer: pg_sys::Buffer) {
    let _crit = CritSection::enter();
    // SAFETY: as for `lock`.
    unsafe { raw::ReleaseBuffer(buffer) }
}

/// LockBuffer on a buffer the caller has pinned (the form the access method's files
/// use: each call site holds the pin it names).
#[inline]
pub fn lock_buffer(b: pg_sys::Buffer, mode: u32) {
    // SAFETY: callers pass a buffer they pinned; unlocking callers hold the lock.
    unsafe { lock(b, mode) }
}
