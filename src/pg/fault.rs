//! Fault injection for crash-safety tests: a Rust panic inside each kind of critical
//! section, after the page was changed and before its WAL record is written -- exactly
//! the state a bug there would leave (see `crit`: the server must PANIC, and recovery
//! must rebuild the table as it was committed).
//!
//! Only in builds with the cargo feature `fault-injection` (what `scripts/test`
//! installs); there the superuser-only setting `glassheap.fault_injection` names the
//! critical section to fail in (`none` by default). Without the feature there is no
//! setting and [`point`] is an empty inline function: the write path pays nothing.

/// The critical sections that change glassheap pages, one name each.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
#[cfg_attr(feature = "fault-injection", derive(pgrx::PostgresGucEnum))]
pub enum Kind {
    #[cfg_attr(feature = "fault-injection", name = c"none")]
    None,
    #[cfg_attr(feature = "fault-injection", name = c"insert")]
    Insert,
    #[cfg_attr(feature = "fault-injection", name = c"multi_insert")]
    MultiInsert,
    #[cfg_attr(feature = "fault-injection", name = c"confirm")]
    Confirm,
    #[cfg_attr(feature = "fault-injection", name = c"super_delete")]
    SuperDelete,
    #[cfg_attr(feature = "fault-injection", name = c"delete")]
    Delete,
    /// UPDATE's lock on the old version before it looks for another page.
    #[cfg_attr(feature = "fault-injection", name = c"update_lock")]
    UpdateLock,
    #[cfg_attr(feature = "fault-injection", name = c"update")]
    Update,
    #[cfg_attr(feature = "fault-injection", name = c"lock")]
    Lock,
    #[cfg_attr(feature = "fault-injection", name = c"prune")]
    Prune,
    #[cfg_attr(feature = "fault-injection", name = c"vacuum")]
    Vacuum,
    #[cfg_attr(feature = "fault-injection", name = c"freeze")]
    Freeze,
    #[cfg_attr(feature = "fault-injection", name = c"visible")]
    Visible,
    /// Not a panic: DML records get a logical part with unknown flag bits, which logical
    /// decoding must refuse with an ERROR naming the record's LSN.
    #[cfg_attr(feature = "fault-injection", name = c"bad_logical_part")]
    BadLogicalPart,
    /// Not a panic: glassheap's own allocations (`pg::mem`) find the memory context out
    /// of memory, as when malloc returns NULL; the statement must fail with PostgreSQL's
    /// "out of memory" ERROR and the server keep running.
    #[cfg_attr(feature = "fault-injection", name = c"out_of_memory")]
    OutOfMemory,
}

#[cfg(feature = "fault-injection")]
mod imp {
    use super::Kind;
    use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

    static FAULT: GucSetting<Kind> = GucSetting::<Kind>::new(Kind::None);

    pub fn register() {
        GucRegistry::define_enum_guc(
            c"glassheap.fault_injection",
            c"Panic inside the named glassheap critical section (testing only).",
            c"Test builds only (cargo feature fault-injection): a Rust panic after the page \
              change and before its WAL record, which must PANIC the server.",
            &FAULT,
            GucContext::Suset,
            GucFlags::default(),
        );
    }

    #[inline]
    pub fn point(kind: Kind) {
        if FAULT.get() == kind
            && !matches!(kind, Kind::None | Kind::BadLogicalPart | Kind::OutOfMemory)
        {
            panic!("glassheap fault injection: {kind:?} critical section");
        }
    }

    #[inline]
    pub fn is(kind: Kind) -> bool {
        FAULT.get() == kind
    }
}

/// Registers `glassheap.fault_injection` (from `_PG_init`).
#[cfg(feature = "fault-injection")]
pub fn register() {
    imp::register()
}

/// Without the feature there is nothing to register.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn register() {}

/// Called inside each critical section after its page change, before its WAL record:
/// panics there when `glassheap.fault_injection` names `kind`.
#[cfg(feature = "fault-injection")]
#[inline]
pub fn point(kind: Kind) {
    imp::point(kind)
}

/// Without the feature: nothing.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn point(_kind: Kind) {}

/// Does `glassheap.fault_injection` name `kind` (a fault that is not a panic)?
#[cfg(feature = "fault-injection")]
#[inline]
pub fn is(kind: Kind) -> bool {
    imp::is(kind)
}

/// Without the feature: never.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn is(_kind: Kind) -> bool {
    false
}
