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
    use pgrx::IntoDatum;

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

    /// A BufferLock holds the content lock of a buffer whose pin stays the caller's:
    /// taken while the guard lives, given up when it is dropped and for the length of
    /// `unlocked_while` (then taken again). ConditionalLockBuffer (an exclusive
    /// LWLockConditionalAcquire, which fails on a lock held, by us or anyone) tells.
    #[pg_test]
    fn buffer_lock_unlocks_on_drop_and_around_waits() {
        use crate::am::modify::Target;
        use crate::pg::bufmgr::BufferLock;
        Spi::run("CREATE TABLE lock_t (a int) USING glassheap; INSERT INTO lock_t VALUES (1)")
            .unwrap();
        let rel = pgrx::PgRelation::open_with_name_and_share_lock("lock_t").expect("lock_t exists");
        let t = Target::read(rel.as_ptr(), &crate::pg::rel::make_tid(0, 1));
        let try_exclusive = || {
            // SAFETY: t's pin; a lock taken here is given up at once.
            unsafe {
                let got = pg_sys::ConditionalLockBuffer(t.buffer);
                if got {
                    crate::pg::bufmgr::lock(t.buffer, pg_sys::BUFFER_LOCK_UNLOCK);
                }
                got
            }
        };
        assert!(try_exclusive(), "nothing holds the page yet");
        {
            let lock = BufferLock::share(t.buffer);
            assert_eq!(lock.page().max_offset(), 1);
            assert!(!try_exclusive(), "the share lock is held");
        }
        assert!(try_exclusive(), "dropping the guard unlocked");
        let mut lock = BufferLock::exclusive(t.buffer);
        assert!(!try_exclusive());
        assert!(lock.unlocked_while(try_exclusive), "unlocked while waiting");
        assert!(!try_exclusive(), "locked again after the wait");
        lock.unlock();
        assert!(try_exclusive());
        // SAFETY: Target's pin, not used after this.
        unsafe { crate::pg::bufmgr::release(t.buffer) };
    }

    /// The stored bytes of the row at `tid` of `rel` (read under a share lock).
    fn stored_bytes(rel: pg_sys::Relation, tid: &pg_sys::ItemPointerData) -> Vec<u8> {
        use crate::am::modify::Target;
        let mut t = Target::read(rel, tid);
        let lock = crate::pg::bufmgr::BufferLock::share(t.buffer);
        t.locate(rel);
        // SAFETY: located on the locked, pinned page.
        let v = unsafe { std::slice::from_raw_parts(t.ptr, t.len) }.to_vec();
        // SAFETY: Target's pin, not used after this.
        unsafe { lock.unlock_release() };
        v
    }

    /// The bytes a glassheap slot holds.
    fn slot_bytes(s: *mut pg_sys::TupleTableSlot) -> Vec<u8> {
        let g = crate::am::slot::cast(s);
        // SAFETY: a glass slot holding a row of `len` bytes.
        unsafe {
            assert!(!(*g).tuple.is_null(), "the slot holds no row");
            std::slice::from_raw_parts((*g).tuple, (*g).len as usize).to_vec()
        }
    }

    /// One row of `fo`/`fo2` (a int, x text dropped, b text, c text, d text, e int).
    struct Row {
        a: i32,
        b: Option<pg_sys::Datum>,
        c: Option<pg_sys::Datum>,
        d: Option<pg_sys::Datum>,
        e: Option<i32>,
    }

    fn text(s: &str) -> Option<pg_sys::Datum> {
        s.to_string().into_datum()
    }

    /// Stores `r` as a virtual tuple in `s` (the dropped column null).
    fn fill(s: *mut pg_sys::TupleTableSlot, r: &Row) {
        // SAFETY: a slot of a 6-attribute descriptor.
        unsafe {
            pg_sys::ExecClearTuple(s);
            let vals = [
                Some(pg_sys::Datum::from(r.a)),
                None,
                r.b,
                r.c,
                r.d,
                r.e.map(pg_sys::Datum::from),
            ];
            for (i, v) in vals.iter().enumerate() {
                *(*s).tts_values.add(i) = v.unwrap_or(pg_sys::Datum::from(0usize));
                *(*s).tts_isnull.add(i) = v.is_none();
            }
            pg_sys::ExecStoreVirtualTuple(s);
        }
    }

    /// Checks that slot `s` reads back as `r` (text values detoasted), and returns the
    /// first byte of each stored text value (b, c, d) to tell how it is stored.
    fn read_back(
        s: *mut pg_sys::TupleTableSlot,
        r: &Row,
        want: [Option<&str>; 3],
    ) -> [Option<u8>; 3] {
        // SAFETY: a slot of a 6-attribute descriptor holding a row.
        unsafe {
            pg_sys::slot_getsomeattrs(s, 6);
            let v = |i: usize| (!*(*s).tts_isnull.add(i)).then(|| *(*s).tts_values.add(i));
            assert_eq!(v(0).map(|d| d.value() as i32), Some(r.a));
            assert!(v(1).is_none(), "the dropped column reads as null");
            assert_eq!(v(5).map(|d| d.value() as i32), r.e);
            let mut first = [None; 3];
            for (k, i) in [2usize, 3, 4].into_iter().enumerate() {
                let got = v(i).map(|d| {
                    first[k] = Some(*d.cast_mut_ptr::<u8>());
                    let c = pg_sys::text_to_cstring(d.cast_mut_ptr());
                    std::ffi::CStr::from_ptr(c).to_str().unwrap().to_string()
                });
                assert_eq!(got.as_deref(), want[k], "attribute {}", i + 1);
            }
            first
        }
    }

    fn formations() -> u64 {
        crate::am::tuple::FORMATIONS.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A row is formed once per write, TOAST applied in the formed bytes, and the slot
    /// then holds exactly the stored bytes, reading back as the values written: rows with
    /// a value compressed in line, one moved out of line, NULLs and a dropped column,
    /// through INSERT's insert and COPY's multi-insert; and a row whose value, fetched
    /// back from another table's TOAST pointer, grows (refilled into a new chunk, not
    /// formed again).
    #[pg_test]
    fn writes_form_a_row_once_and_the_slot_holds_it() {
        use crate::am::modify;
        Spi::run(
            "CREATE TABLE fo (a int, x text, b text, c text, d text, e int) USING glassheap;
             ALTER TABLE fo DROP COLUMN x; ALTER TABLE fo ALTER c SET STORAGE EXTERNAL;
             CREATE TABLE fo2 (a int, x text, b text, c text, d text, e int) USING glassheap;
             ALTER TABLE fo2 DROP COLUMN x;",
        )
        .unwrap();
        let big_b = "ab".repeat(10000);
        let big_c = "cd".repeat(3000);
        let rel = pgrx::PgRelation::open_with_name_and_share_lock("fo").expect("fo exists");
        let rel2 = pgrx::PgRelation::open_with_name_and_share_lock("fo2").expect("fo2 exists");
        // SAFETY: open relations; slots made for them and dropped at the end; the writes
        // run in the test's transaction with its command id.
        unsafe {
            let (r, r2) = (rel.as_ptr(), rel2.as_ptr());
            let cid = pg_sys::GetCurrentCommandId(true);
            let s = pg_sys::table_slot_create(r, std::ptr::null_mut());

            // INSERT: b compressed in line, c moved out of line (EXTERNAL), d NULL
            let row = Row {
                a: 7,
                b: text(&big_b),
                c: text(&big_c),
                d: None,
                e: Some(42),
            };
            fill(s, &row);
            let before = formations();
            modify::insert(r, s, cid, 0, std::ptr::null_mut(), None);
            assert_eq!(formations() - before, 1, "the toasted row is formed once");
            assert_eq!(slot_bytes(s), stored_bytes(r, &(*s).tts_tid));
            let first = read_back(s, &row, [Some(&big_b), Some(&big_c), None]);
            assert_eq!(
                first[0].map(|b| b & 0x03),
                Some(0x02),
                "b is compressed in line"
            );
            assert_eq!(first[1], Some(0x01), "c is a TOAST pointer");
            // c's TOAST pointer, kept for the row that grows below
            let c = *(*s).tts_values.add(3);
            let ptr = pg_sys::palloc(18) as *mut u8;
            std::ptr::copy_nonoverlapping(c.cast_mut_ptr::<u8>(), ptr, 18);

            // INSERT of a row needing no TOAST: formed once, the slot holds it
            let small = Row {
                a: 8,
                b: None,
                c: text("short"),
                d: text("dd"),
                e: None,
            };
            fill(s, &small);
            let before = formations();
            modify::insert(r, s, cid, 0, std::ptr::null_mut(), None);
            assert_eq!(formations() - before, 1);
            assert_eq!(slot_bytes(s), stored_bytes(r, &(*s).tts_tid));
            read_back(s, &small, [None, Some("short"), Some("dd")]);

            // COPY's multi-insert: three slots, one row each, formed once each
            let rows = [
                Row {
                    a: 1,
                    b: text(&big_b),
                    c: None,
                    d: text(&big_c),
                    e: Some(1),
                },
                Row {
                    a: 2,
                    b: None,
                    c: None,
                    d: None,
                    e: None,
                },
                Row {
                    a: 3,
                    b: text("x"),
                    c: text(&big_c),
                    d: None,
                    e: Some(3),
                },
            ];
            let slots: Vec<_> = rows
                .iter()
                .map(|row| {
                    let t = pg_sys::table_slot_create(r, std::ptr::null_mut());
                    fill(t, row);
                    t
                })
                .collect();
            let before = formations();
            let mut ptrs = slots.clone();
            modify::multi_insert(r, ptrs.as_mut_ptr(), 3, cid, 0, std::ptr::null_mut());
            assert_eq!(formations() - before, 3, "each row formed once");
            let want = [
                [Some(big_b.as_str()), None, Some(big_c.as_str())],
                [None, None, None],
                [Some("x"), Some(big_c.as_str()), None],
            ];
            for ((t, row), w) in slots.iter().zip(&rows).zip(want) {
                assert_eq!(slot_bytes(*t), stored_bytes(r, &(**t).tts_tid));
                read_back(*t, row, w);
                pg_sys::ExecDropSingleTupleTableSlot(*t);
            }

            // fo's TOAST pointer inserted into fo2 (c EXTENDED there): fetched back and
            // compressed in line, the row grows; still formed once, and the slot holds
            // the stored bytes
            let s2 = pg_sys::table_slot_create(r2, std::ptr::null_mut());
            let grow = Row {
                a: 9,
                b: None,
                c: Some(pg_sys::Datum::from(ptr)),
                d: None,
                e: None,
            };
            fill(s2, &grow);
            let before = formations();
            modify::insert(r2, s2, cid, 0, std::ptr::null_mut(), None);
            assert_eq!(formations() - before, 1);
            assert_eq!(slot_bytes(s2), stored_bytes(r2, &(*s2).tts_tid));
            let first = read_back(s2, &grow, [None, Some(&big_c), None]);
            assert_eq!(
                first[1].map(|b| b & 0x03),
                Some(0x02),
                "c is compressed in line in fo2"
            );
            pg_sys::ExecDropSingleTupleTableSlot(s2);
            pg_sys::ExecDropSingleTupleTableSlot(s);
        }
        // and SQL sees the same rows
        let n = Spi::get_one::<i64>(
            "SELECT count(*) FROM fo WHERE (a = 7 AND b = repeat('ab', 10000) AND c = repeat('cd', 3000) AND d IS NULL AND e = 42)
                OR (a = 8 AND c = 'short' AND d = 'dd') OR a IN (1, 2, 3)",
        );
        assert_eq!(n, Ok(Some(5)));
    }

    /// compat.rs: the i'th attribute of a descriptor (TupleDescAttr, computed by hand on
    /// 18) and the fields deforming reads (18's CompactAttribute) agree with pg_attribute.
    #[pg_test]
    fn compat_attributes_match_the_catalog() {
        use crate::pg::compat;
        Spi::run("CREATE TABLE ca (a int2, b text, x int, c int8, d bool) USING glassheap; ALTER TABLE ca DROP COLUMN x").unwrap();
        let rel = pgrx::PgRelation::open_with_name_and_share_lock("ca").expect("ca exists");
        let cat: Vec<(String, i16, bool, bool)> = Spi::connect(|c| {
            c.select(
                "SELECT attname::text, attlen, attbyval, attisdropped FROM pg_attribute
                  WHERE attrelid = 'ca'::regclass AND attnum > 0 ORDER BY attnum",
                None,
                &[],
            )
            .unwrap()
            .map(|r| {
                (
                    r.get::<String>(1).unwrap().unwrap(),
                    r.get::<i16>(2).unwrap().unwrap(),
                    r.get::<bool>(3).unwrap().unwrap(),
                    r.get::<bool>(4).unwrap().unwrap(),
                )
            })
            .collect()
        });
        // SAFETY: an open relation's descriptor; i < natts.
        unsafe {
            let desc = rel.as_ptr().as_ref().unwrap().rd_att;
            assert_eq!((*desc).natts as usize, cat.len());
            for (i, (name, len, byval, dropped)) in cat.iter().enumerate() {
                let a = &*compat::attr(desc, i);
                let got = std::ffi::CStr::from_ptr(a.attname.data.as_ptr())
                    .to_str()
                    .unwrap();
                if !dropped {
                    assert_eq!(got, name);
                }
                assert_eq!(
                    (a.attnum as usize, a.attlen, a.attbyval, a.attisdropped),
                    (i + 1, *len, *byval, *dropped)
                );
                let d = &*compat::deform_attr(desc, i);
                assert_eq!((d.attlen, d.attbyval), (*len, *byval));
            }
        }
    }

    /// compat.rs: a relation's storage locator names its tablespace, database and file,
    /// and maps back to the relation; the WAL format version is the server's.
    #[pg_test]
    fn compat_locator_and_version_match_the_server() {
        use crate::pg::compat;
        Spi::run("CREATE TABLE cl (a int) USING glassheap").unwrap();
        let rel = pgrx::PgRelation::open_with_name_and_share_lock("cl").expect("cl exists");
        let (spc, db, file) = compat::locator_oids(&compat::rel_locator(rel.as_ptr()));
        let filenode = Spi::get_one::<i64>("SELECT pg_relation_filenode('cl')::int8")
            .unwrap()
            .unwrap();
        let dbid = Spi::get_one::<i64>(
            "SELECT oid::int8 FROM pg_database WHERE datname = current_database()",
        )
        .unwrap()
        .unwrap();
        let deftbs =
            Spi::get_one::<i64>("SELECT oid::int8 FROM pg_tablespace WHERE spcname = 'pg_default'")
                .unwrap()
                .unwrap();
        assert_eq!(
            (
                u32::from(spc) as i64,
                u32::from(db) as i64,
                u32::from(file) as i64
            ),
            (deftbs, dbid, filenode)
        );
        assert_eq!(
            compat::relid_by_locator(&compat::rel_locator(rel.as_ptr())),
            rel.oid()
        );
        assert!(!compat::is_autovacuum_worker());
        let major =
            Spi::get_one::<i32>("SELECT current_setting('server_version_num')::int / 10000")
                .unwrap()
                .unwrap();
        assert_eq!(compat::wal_format_version().major() as i32, major);
    }

    /// compat.rs: the index attribute sets HOT and lock modes are decided from: key
    /// columns (of unique indexes) and every indexed column, offset as PostgreSQL's
    /// bitmapsets are.
    #[pg_test]
    fn compat_index_attrs_match_the_indexes() {
        use crate::pg::compat::IndexAttrs;
        Spi::run("CREATE TABLE ci (a int PRIMARY KEY, b int, c int, d text) USING glassheap; CREATE INDEX ON ci (c)").unwrap();
        let rel = pgrx::PgRelation::open_with_name_and_share_lock("ci").expect("ci exists");
        let members = |set: *mut pg_sys::Bitmapset| -> Vec<i32> {
            // SAFETY: a set IndexAttrs holds (or NULL) while it lives.
            unsafe { crate::pg::rel::bms_members(set) }
                .map(|m| m + pg_sys::FirstLowInvalidHeapAttributeNumber)
                .collect()
        };
        let ia = IndexAttrs::of(rel.as_ptr());
        assert_eq!(members(ia.keys), vec![1]);
        assert_eq!(members(ia.hot_blocking), vec![1, 3]);
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
