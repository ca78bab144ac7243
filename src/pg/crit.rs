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
