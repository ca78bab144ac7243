//! The inspection toolkit: SQL functions in schema glassheap that show pages, tuple
//! headers, stored values, WAL records and table statistics of heap and glassheap tables
//! in the same column shapes. Decoding happens in glassheap_format (pure, fuzzed); these
//! functions only fetch bytes through PostgreSQL and turn decoded structs into rows.
//! All are superuser-only by default (EXECUTE revoked from PUBLIC), like contrib's.

mod durability;
mod history;
mod horizon;
mod html;
mod logical;
mod mvcc;
mod pagemap;
mod rawpage;
mod stats;
mod trace;
mod types;
mod values;
mod verify;
mod versions;
mod wal_records;

pub(crate) use durability::on_xact_event;

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgRelation;

/// Raises `ERROR` with SQLSTATE `code`; usable in expression position (returns `!`).
pub(crate) fn raise(code: PgSqlErrorCode, msg: impl Into<String>) -> ! {
    let msg: String = msg.into();
    ereport!(ERROR, code, msg);
}

/// The same with a DETAIL line.
pub(crate) fn raise_detail(
    code: PgSqlErrorCode,
    msg: impl Into<String>,
    detail: impl Into<String>,
) -> ! {
    let (msg, detail): (String, String) = (msg.into(), detail.into());
    ereport!(ERROR, code, msg, detail);
}

/// Which tuple format a table uses, or an error naming what it is instead.
pub(crate) fn table_am(rel: &PgRelation) -> glassheap_decode::items::Am {
    check_read_privilege(rel);
    // SAFETY: rel is open; rd_tableam is set for tables and matviews.
    unsafe {
        let r = rel.as_ptr();
        let kind = (*(*r).rd_rel).relkind as u8;
        if kind == pg_sys::RELKIND_RELATION
            || kind == pg_sys::RELKIND_MATVIEW
            || kind == pg_sys::RELKIND_TOASTVALUE
        {
            if std::ptr::eq((*r).rd_tableam, &crate::am::handler::GLASSHEAP_METHODS) {
                return glassheap_decode::items::Am::Glassheap;
            }
            if (*(*r).rd_rel).relam == pg_sys::HEAP_TABLE_AM_OID {
                return glassheap_decode::items::Am::Heap;
            }
        }
    }
    raise_detail(
        PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
        format!("\"{}\" is not a heap or glassheap table", rel.name()),
        "Tuple-level inspection works on tables using the heap or glassheap access method.",
    );
}

/// The relation must be a glassheap table.
pub(crate) fn require_glassheap(rel: &PgRelation, what: &str) {
    if table_am(rel) != glassheap_decode::items::Am::Glassheap {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!(
                "{what} requires a glassheap table; \"{}\" uses heap",
                rel.name()
            ),
        );
    }
}

/// Whether the relation has storage of its own (tables, indexes, sequences, TOAST
/// tables, materialized views), i.e. pages and WAL block references.
pub(crate) fn has_storage(rel: &PgRelation) -> bool {
    // SAFETY: rel is open.
    let kind = unsafe { (*(*rel.as_ptr()).rd_rel).relkind } as u8;
    matches!(
        kind,
        pg_sys::RELKIND_RELATION
            | pg_sys::RELKIND_INDEX
            | pg_sys::RELKIND_SEQUENCE
            | pg_sys::RELKIND_TOASTVALUE
            | pg_sys::RELKIND_MATVIEW
    )
}

/// The toolkit shows stored rows (including deleted ones), so beyond EXECUTE on the
/// function the caller needs SELECT on the table (for an index: on its table), like
/// any other way of reading its data. Superusers always pass.
pub(crate) fn check_read_privilege(rel: &PgRelation) {
    // SAFETY: catalog lookups for an open relation.
    unsafe {
        let r = rel.as_ptr();
        let kind = (*(*r).rd_rel).relkind as u8;
        let table = if kind == pg_sys::RELKIND_INDEX {
            pg_sys::IndexGetRelation((*r).rd_id, false)
        } else {
            (*r).rd_id
        };
        let res = pg_sys::pg_class_aclcheck(
            table,
            pg_sys::GetUserId(),
            pg_sys::ACL_SELECT as pg_sys::AclMode,
        );
        if res != pg_sys::AclResult::ACLCHECK_OK {
            let tabkind = if table == (*r).rd_id {
                kind
            } else {
                pg_sys::RELKIND_RELATION
            };
            pg_sys::aclcheck_error(
                res,
                pg_sys::get_relkind_objtype(tabkind as core::ffi::c_char),
                pg_sys::get_rel_name(table),
            );
        }
    }
}

/// Refuses other sessions' temporary tables, whose pages are in their local buffers.
pub(crate) fn check_not_other_temp(rel: &PgRelation) {
    // SAFETY: rel is open.
    unsafe {
        let r = rel.as_ptr();
        if (*(*r).rd_rel).relpersistence as u8 == pg_sys::RELPERSISTENCE_TEMP
            && !(*r).rd_islocaltemp
        {
            raise(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                "cannot access temporary tables of other sessions",
            );
        }
    }
}

extension_sql!(
    r#"
-- Superuser-only by default; grant EXECUTE to let others inspect (as with pageinspect).
DO $$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'glassheap' AND p.proname <> 'glassheap_tableam_handler'
  LOOP
    EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END $$;
"#,
    name = "glassheap_toolkit_permissions",
    finalize
);
