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
//!
//! The access method's files (src/am) lock pages only through the two guards below:
//! [`LockedBuffer`] owns a pin and a lock, [`BufferLock`] the lock of a buffer whose pin
//! the caller keeps across several lock cycles (scans, `Target`s, the insert path). Both
//! unlock in `Drop`, call nothing while a panic unwinds, and hand out the page view for
//! their own lifetime; they are thin wrappers over the unguarded calls here. Redo
//! (src/rmgr) still pairs `lock`/`unlock_release` by hand around the buffers
//! XLogReadBufferForRedo returns.

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

/// The content lock of a buffer whose pin the caller keeps (a scan's current page, a
/// `Target`, the insert path's buffers): unlocked when the guard goes out of scope, so
/// a page view taken from it ([`BufferLock::page`]) cannot outlive the lock. The pin is
/// not the guard's: paths that keep a pin across several lock cycles (a scan locks each
/// page once per batch, UPDATE and DELETE unlock around XactLockTableWait and lock
/// again) take one guard per cycle. As for [`LockedBuffer`], nothing is called in
/// PostgreSQL while a panic unwinds: the abort releases every content lock
/// (LWLockReleaseAll). A plain pair of integers with inlined methods: it costs what the
/// LockBuffer calls it replaces.
///
/// The constructors are safe functions with one convention every caller in the access
/// method keeps (the one the former `lock_buffer(buffer, mode)` had): the buffer named is
/// pinned by this backend for the guard's whole life and not already locked by it.
#[must_use = "the lock is released when the guard is dropped"]
pub struct BufferLock {
    buffer: pg_sys::Buffer,
    exclusive: bool,
}

impl BufferLock {
    /// Locks pinned `buffer` in `mode`.
    #[inline]
    pub fn new(buffer: pg_sys::Buffer, mode: LockMode) -> BufferLock {
        debug_assert!(buffer != pg_sys::InvalidBuffer as pg_sys::Buffer);
        // SAFETY: the caller's pin (the convention above).
        unsafe { lock(buffer, mode.raw()) };
        BufferLock {
            buffer,
            exclusive: mode == LockMode::Exclusive,
        }
    }

    /// Takes over a lock this backend already holds (the insert path's buffers, which
    /// `hio::buffer_for_tuple` locks in block order, and RBM_ZERO_AND_LOCK reads).
    ///
    /// # Safety
    /// `buffer` is pinned by this backend for the guard's life and locked by it in
    /// `mode`; nothing else unlocks it.
    #[inline]
    pub unsafe fn adopt(buffer: pg_sys::Buffer, mode: LockMode) -> BufferLock {
        BufferLock {
            buffer,
            exclusive: mode == LockMode::Exclusive,
        }
    }

    /// BUFFER_LOCK_SHARE on pinned `buffer`.
    #[inline]
    pub fn share(buffer: pg_sys::Buffer) -> BufferLock {
        Self::new(buffer, LockMode::Share)
    }

    /// BUFFER_LOCK_EXCLUSIVE on pinned `buffer`.
    #[inline]
    pub fn exclusive(buffer: pg_sys::Buffer) -> BufferLock {
        Self::new(buffer, LockMode::Exclusive)
    }

    /// The page, for as long as the lock is held.
    #[inline]
    pub fn page(&self) -> glassheap_format::pageview::Page<'_> {
        // SAFETY: pinned (the convention) and locked by this guard while the view
        // borrows it; under a share lock only hint bits change, as in `LockedBuffer::page`.
        unsafe { super::page::PageRef::of_buffer(self.buffer).view_unbounded() }
    }

    /// The page through the pointer-based accessors of `page.rs`.
    #[inline]
    pub fn page_ref(&self) -> super::page::PageRef {
        // SAFETY: pinned (the convention).
        unsafe { super::page::PageRef::of_buffer(self.buffer) }
    }

    /// Unlocks now (the same as dropping the guard).
    #[inline]
    pub fn unlock(self) {}

    /// Runs `f` with the buffer unlocked (the pin stays), then locks it again in the
    /// same mode: heap's unlock / wait (XactLockTableWait, MultiXact waits, TOAST work,
    /// finding a page for the new version) / relock. Views taken before are borrows of
    /// the guard and cannot be used across it; the page may have changed meanwhile.
    #[inline]
    pub fn unlocked_while<R>(&mut self, f: impl FnOnce() -> R) -> R {
        // SAFETY: the guard holds the lock; the pin is the caller's (the convention).
        unsafe { lock(self.buffer, pg_sys::BUFFER_LOCK_UNLOCK) };
        let r = f();
        let mode = if self.exclusive {
            pg_sys::BUFFER_LOCK_EXCLUSIVE
        } else {
            pg_sys::BUFFER_LOCK_SHARE
        };
        // SAFETY: as above; unlocked just before.
        unsafe { lock(self.buffer, mode) };
        r
    }

    /// The buffer.
    #[inline]
    pub fn buffer(&self) -> pg_sys::Buffer {
        self.buffer
    }

    /// Hands the caller's pin to the guard: a [`LockedBuffer`] that releases both.
    ///
    /// # Safety
    /// The pin is the caller's to give: nothing else releases it.
    #[inline]
    pub unsafe fn with_pin(self) -> LockedBuffer {
        LockedBuffer {
            lock: std::mem::ManuallyDrop::new(self),
        }
    }

    /// UnlockReleaseBuffer: unlocks and drops the caller's pin in one call.
    ///
    /// # Safety
    /// The pin is the caller's to drop, and nothing uses the buffer afterwards.
    #[inline]
    pub unsafe fn unlock_release(self) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: locked by this guard; the pin per the contract.
        unsafe { unlock_release(this.buffer) }
    }

    /// Leaves the buffer locked past the guard (for a lock the caller hands on, e.g. to
    /// a caller that releases it with UnlockReleaseBuffer); returns the buffer.
    #[inline]
    pub fn keep_locked(self) -> pg_sys::Buffer {
        std::mem::ManuallyDrop::new(self).buffer
    }
}

impl Drop for BufferLock {
    #[inline]
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // SAFETY: the guard took the lock; the pin is the caller's (the convention).
        unsafe { lock(self.buffer, pg_sys::BUFFER_LOCK_UNLOCK) }
    }
}

/// A buffer this backend holds pinned and locked, released when the guard goes out of
/// scope: the page is reached through views whose lifetime is the guard's, so no
/// pointer into the page outlives the pin. While a panic unwinds (a PostgreSQL ERROR
/// caught by pgrx's guard on its way to the callback boundary) `Drop` calls nothing in
/// PostgreSQL: transaction abort releases every buffer lock (LWLockReleaseAll) and pin
/// (the resource owner) anyway, and a call into the server from a half-unwound stack
/// could raise a second error.
///
/// It is a [`BufferLock`] that also owns the pin: the page views and the lock are the
/// inner guard's, and `Drop` ends both with one UnlockReleaseBuffer.
pub struct LockedBuffer {
    lock: std::mem::ManuallyDrop<BufferLock>,
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
        // SAFETY: pinned just above, and the pin is the guard's.
        unsafe { Self::lock_pinned(buffer, mode) }
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
        self.lock.buffer
    }

    /// The page, for as long as the guard lives.
    #[inline]
    pub fn page(&self) -> glassheap_format::pageview::Page<'_> {
        self.lock.page()
    }

    /// The page, writable: only under an exclusive lock.
    #[cfg_attr(not(any(test, feature = "pg_test")), allow(dead_code))] // tests only so far
    #[inline]
    pub fn page_mut(&mut self) -> glassheap_format::pageview::PageMut<'_> {
        assert!(self.lock.exclusive, "a page changed under a share lock");
        // SAFETY: pinned and exclusively locked; the &mut borrow of the guard keeps any
        // other view from this guard away while the PageMut lives.
        let page = unsafe { pg_sys::BufferGetPage(self.lock.buffer) };
        // SAFETY: BufferGetPage returns BLCKSZ bytes of the pinned buffer.
        glassheap_format::pageview::PageMut::new(unsafe {
            &mut *(page as *mut glassheap_format::pageview::PageBytes)
        })
    }

    /// The page through the pointer-based accessors of `page.rs`.
    #[inline]
    pub fn page_ref(&self) -> super::page::PageRef {
        self.lock.page_ref()
    }

    /// Locks a buffer the caller pinned and takes over the pin.
    ///
    /// # Safety
    /// `buffer` is pinned by this backend and not locked by it, and the pin is the
    /// guard's to release: nothing else releases it.
    #[inline]
    pub unsafe fn lock_pinned(buffer: pg_sys::Buffer, mode: LockMode) -> LockedBuffer {
        // SAFETY: the pin is the guard's, per the contract.
        unsafe { BufferLock::new(buffer, mode).with_pin() }
    }

    /// Takes over a pin and a lock this backend holds (a buffer the insert path found
    /// and locked, a cleanup lock VACUUM took).
    ///
    /// # Safety
    /// `buffer` is pinned and locked in `mode` by this backend, and the pin and lock are
    /// the guard's to release: nothing else releases them.
    #[inline]
    pub unsafe fn adopt(buffer: pg_sys::Buffer, mode: LockMode) -> LockedBuffer {
        // SAFETY: pinned and locked in `mode`, and both are the guard's, per the contract.
        unsafe { BufferLock::adopt(buffer, mode).with_pin() }
    }
}

impl Drop for LockedBuffer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // SAFETY: taken once, here; the inner guard holds the lock and this guard the
        // pin, which UnlockReleaseBuffer ends together.
        unsafe { std::mem::ManuallyDrop::take(&mut self.lock).unlock_release() }
    }
}
