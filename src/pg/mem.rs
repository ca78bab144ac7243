//! Freeing memory PostgreSQL allocated for us, without pgrx's per-call guard.

use super::crit::CritSection;

mod raw {
    // Signature of PG15's utils/palloc.h (the same in 16 and 18).
    unsafe extern "C" {
        pub fn pfree(pointer: *mut core::ffi::c_void);
    }
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
