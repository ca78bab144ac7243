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

/// A buffer this backend holds pinned and locked, released when the guard goes out of
/// scope: the page is reached through views whose lifetime is the guard's, so no
/// pointer into the page outlives the pin. While a panic unwinds (a PostgreSQL ERROR
/// caught by pgrx's guard on its way to the callback boundary) `Drop` calls nothing in
/// PostgreSQL: transaction abort releases every buffer lock (LWLockReleaseAll) and pin
/// (the resource owner) anyway, and a call into the server from a half-unwound stack
/// could raise a second error.
pub struct LockedBuffer {
    buffer: pg_sys::Buffer,
    exclusive: bool,
}

/// How a [`LockedBuffer`] locks its page.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LockMode {
    Share,
    Exclusive,
}

impl LockMode {
    fn raw(self) -> u32 {
        match self {
            LockMode::Share => pg_sys::BUFFER_LOCK_SHARE,
            LockMode::Exclusive => pg_sys::BUFFER_LOCK_EXCLUSIVE,
        }
    }
}

impl LockedBuffer {
    /// Reads block `blk` of `fork` of `relation` (through `strategy`, which may be null)
    /// and locks it.
    ///
    /// # Safety
    /// `relation` is open and `blk` exists in the fork (ReadBufferExtended raises an
    /// ERROR otherwise, which is safe, but the caller should have checked).
    pub unsafe fn read(
        relation: pg_sys::Relation,
        fork: pg_sys::ForkNumber::Type,
        blk: pg_sys::BlockNumber,
        mode: LockMode,
        strategy: pg_sys::BufferAccessStrategy,
    ) -> LockedBuffer {
        // SAFETY: per the contract; the read is guarded (it may fail for I/O reasons).
        let buffer = unsafe {
            pg_sys::ReadBufferExtended(
                relation,
                fork,
                blk,
                pg_sys::ReadBufferMode::RBM_NORMAL,
                strategy,
            )
        };
        // SAFETY: pinned just above.
        unsafe { lock(buffer, mode.raw()) };
        LockedBuffer {
            buffer,
            exclusive: mode == LockMode::Exclusive,
        }
    }

    /// The main fork's block `blk`.
    ///
    /// # Safety
    /// As for [`LockedBuffer::read`].
    pub unsafe fn read_main(
        relation: pg_sys::Relation,
        blk: pg_sys::BlockNumber,
        mode: LockMode,
        strategy: pg_sys::BufferAccessStrategy,
    ) -> LockedBuffer {
        // SAFETY: per the contract.
        unsafe {
            Self::read(
                relation,
                pg_sys::ForkNumber::MAIN_FORKNUM,
                blk,
                mode,
                strategy,
            )
        }
    }

    #[inline]
    pub fn buffer(&self) -> pg_sys::Buffer {
        self.buffer
    }

    /// The page, for as long as the guard lives.
    #[inline]
    pub fn page(&self) -> glassheap_format::pageview::Page<'_> {
        // SAFETY: the guard holds the pin (the page stays mapped) and a lock (nobody
        // changes it under a share lock except hint bits, which are single-byte ORs the
        // views tolerate, as PostgreSQL's own readers do).
        unsafe { super::page::PageRef::of_buffer(self.buffer) }.view()
    }

    /// The page, writable: only under an exclusive lock.
    #[cfg_attr(not(any(test, feature = "pg_test")), allow(dead_code))] // tests only so far
    #[inline]
    pub fn page_mut(&mut self) -> glassheap_format::pageview::PageMut<'_> {
        assert!(self.exclusive, "a page changed under a share lock");
        // SAFETY: pinned and exclusively locked; the &mut borrow of the guard keeps any
        // other view from this guard away while the PageMut lives.
        let page = unsafe { pg_sys::BufferGetPage(self.buffer) };
        // SAFETY: BufferGetPage returns BLCKSZ bytes of the pinned buffer.
        glassheap_format::pageview::PageMut::new(unsafe {
            &mut *(page as *mut glassheap_format::pageview::PageBytes)
        })
    }

    /// The page through the pointer-based accessors of `page.rs`.
    #[inline]
    pub fn page_ref(&self) -> super::page::PageRef {
        // SAFETY: pinned.
        unsafe { super::page::PageRef::of_buffer(self.buffer) }
    }
}

impl Drop for LockedBuffer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // SAFETY: the guard holds the pin and the lock it took.
        unsafe { unlock_release(self.buffer) }
    }
}
