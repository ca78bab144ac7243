//! glassheap: a PostgreSQL table access method with its own MVCC heap (own page and
//! tuple format, own WAL resource manager with redo) and an inspection toolkit.
//!
//! Layout: `am` holds the TableAmRoutine callbacks, `wal` the resource manager, `pg` the
//! thin layer over PostgreSQL's C API; the bytes-only logic (formats, visibility rules,
//! WAL codecs) lives in the `glassheap-format` crate.

// Every call into C that may unwind (longjmp as a Rust panic) is deliberate: such calls go
// through pgrx's guard (or pg::sys_extra::guarded for C function pointers); the one exception,
// src/pg/error.rs's ThrowErrorData of a kept ERROR, says why with an allow.
#![deny(ffi_unwind_calls)]

use pg::error::pg_callback;
use pgrx::prelude::*;

::pgrx::pg_module_magic!(name, version);

mod am;
mod inspect;
/// pgrx's #[pg_guard] on an extern block expands to `crate::ffi::pg_guard_ffi_boundary`.
#[doc(hidden)]
pub mod ffi {
    pub use pgrx::pg_sys::submodules::ffi::pg_guard_ffi_boundary;
}
mod pg;
mod planner;
mod rmgr;

/// Loading glassheap anywhere but from shared_preload_libraries is refused: its WAL
/// resource manager must be registered before recovery can replay glassheap records.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // SAFETY: reads a postmaster-set global.
    let preloading = unsafe { pg_sys::process_shared_preload_libraries_in_progress };
    if !preloading {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "glassheap must be loaded via shared_preload_libraries",
            "Add glassheap to shared_preload_libraries in postgresql.conf and restart the server."
        );
    }
    pg::crit::install_panic_hook();
    pg::fault::register();
    rmgr::callbacks::register();
    rmgr::callbacks::include_in_consistency_checking_all();
    // SAFETY: registering a callback for the lifetime of the process.
    unsafe { pg_sys::RegisterXactCallback(Some(xact_callback), std::ptr::null_mut()) };
    planner::install();
}

/// Forget backend-local command ids when the top-level transaction ends.
#[pg_callback]
unsafe extern "C-unwind" fn xact_callback(
    event: pg_sys::XactEvent::Type,
    _arg: *mut core::ffi::c_void,
) {
    use pg_sys::XactEvent::*;
    inspect::on_xact_event(event);
    if matches!(
        event,
        XACT_EVENT_COMMIT
            | XACT_EVENT_ABORT
            | XACT_EVENT_PREPARE
            | XACT_EVENT_PARALLEL_COMMIT
            | XACT_EVENT_PARALLEL_ABORT
    ) {
        am::cidmap::reset();
    }
}

#[no_mangle]
#[doc(hidden)]
pub extern "C" fn pg_finfo_glassheap_tableam_handler() -> &'static pg_sys::Pg_finfo_record {
    static V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// The table AM handler: returns glassheap's TableAmRoutine.
#[pg_callback]
#[no_mangle]
pub unsafe extern "C-unwind" fn glassheap_tableam_handler(
    _fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    pg_sys::Datum::from(&am::handler::GLASSHEAP_METHODS as *const pg_sys::TableAmRoutine)
}

extension_sql!(
    r#"
CREATE FUNCTION glassheap_tableam_handler(internal) RETURNS table_am_handler
    AS 'MODULE_PATHNAME', 'glassheap_tableam_handler' LANGUAGE C STRICT;
CREATE ACCESS METHOD glassheap TYPE TABLE HANDLER glassheap_tableam_handler;
COMMENT ON ACCESS METHOD glassheap IS 'glassheap: own-format MVCC heap with its own WAL resource manager';
"#,
    name = "glassheap_access_method"
);

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn access_method_exists() {
        let n = Spi::get_one::<i64>(
            "SELECT count(*) FROM pg_am WHERE amname = 'glassheap' AND amtype = 't'",
        );
        assert_eq!(n, Ok(Some(1)));
    }

    /// A LockedBuffer releases its lock and pin when dropped: an exclusive lock on the
    /// same page can be taken right after (it would wait for itself otherwise), and the
    /// page it hands out is the table's block.
    #[pg_test]
    fn locked_buffer_releases_on_drop() {
        use crate::pg::bufmgr::{LockMode, LockedBuffer};
        Spi::run(
            "CREATE TABLE guard_t (a int) USING glassheap; INSERT INTO guard_t VALUES (1), (2)",
        )
        .unwrap();
        let rel =
            pgrx::PgRelation::open_with_name_and_share_lock("guard_t").expect("guard_t exists");
        // SAFETY: the table is open and has block 0.
        let shared = unsafe {
            LockedBuffer::read_main(rel.as_ptr(), 0, LockMode::Share, std::ptr::null_mut())
        };
        assert_eq!(shared.page().max_offset(), 2);
        assert!(shared.page().is_glassheap());
        drop(shared);
        // SAFETY: as above.
        let mut excl = unsafe {
            LockedBuffer::read_main(rel.as_ptr(), 0, LockMode::Exclusive, std::ptr::null_mut())
        };
        let lsn = excl.page().lsn();
        excl.page_mut().set_prunable(3);
        assert_eq!(excl.page().lsn(), lsn);
        assert_eq!(excl.page().prune_xid(), 3);
    }

    /// The pure page code (`glassheap_format::pageview`) gives the bytes PostgreSQL's
    /// PageRepairFragmentation, PageTruncateLinePointerArray, PageAddItemExtended,
    /// PageInit and bufmask give, on 300 pseudo-random pages.
    #[pg_test]
    fn page_changes_match_the_servers() {
        if let Err(e) = crate::pg::page::server_comparison::compare(0x9e37_79b9_7f4a_7c15, 300) {
            panic!("{e}");
        }
    }
}

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}
    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'glassheap'"]
    }
}
