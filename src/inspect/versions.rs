//! glassheap.all_versions(rel): every stored version of a heap or glassheap table as a
//! typed row, visible or not -- what pg_dirtyread's `pg_dirtyread()` does for heap, for
//! both formats:
//!
//! ```sql
//! SELECT * FROM glassheap.all_versions('t') AS t(ctid tid, xmin xid, xmax xid, dead bool, id int, v text);
//! ```
//!
//! Columns of the alias are matched by name: the table's columns (same type), a dropped
//! column as `dropped_N` (N its attribute number; its type must have the dropped column's
//! length, alignment and by-value-ness), and the system columns `tableoid`, `ctid` (where
//! the version is stored), `xmin`, `xmax` (raw), `cmin`, `cmax` (the raw command id word
//! when it holds one) and `dead` (surely dead to every transaction, by hint bits and the
//! removal horizon: heap's HeapTupleIsSurelyDead, glassheap's same rule). Every attribute
//! is bounds-checked before a type's code sees its bytes; a damaged version is an ERROR
//! naming its TID.

use super::rawpage::read_block;
use super::table_am;
use super::values::{datum_of, table_attrs};
use crate::pg::error::pg_callback;
use glassheap_decode::heap::HeapHeader;
use glassheap_decode::items::Am;
use glassheap_format::attrs::{split, AttrDesc, AttrSlice};
use glassheap_format::page::{line_pointers, LP_NORMAL};
use glassheap_format::tuple::{bitmap_len, TupleFlags, TupleHeader, HEADER_SIZE};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::{PgMemoryContexts, PgRelation};
use std::ffi::CStr;

/// Where an output column's value comes from.
#[derive(Clone, Copy)]
enum Source {
    /// Attribute index (0-based) of the table, live or dropped.
    Attr(usize),
    TableOid,
    Ctid,
    Xmin,
    Xmax,
    Cid,
    Dead,
}

fn err(code: PgSqlErrorCode, msg: String) -> ! {
    super::raise(code, msg)
}

/// Matches the column definition list with the table (pg_dirtyread's rules).
fn sources(
    rel: &PgRelation,
    expected: pg_sys::TupleDesc,
    attrs: &[(String, pg_sys::Oid, bool, AttrDesc)],
) -> Vec<Source> {
    let sys = |name: &str| -> Option<(Source, pg_sys::Oid)> {
        Some(match name {
            "tableoid" => (Source::TableOid, pg_sys::OIDOID),
            "ctid" => (Source::Ctid, pg_sys::TIDOID),
            "xmin" => (Source::Xmin, pg_sys::XIDOID),
            "xmax" => (Source::Xmax, pg_sys::XIDOID),
            "cmin" | "cmax" => (Source::Cid, pg_sys::CIDOID),
            "dead" => (Source::Dead, pg_sys::BOOLOID),
            _ => return None,
        })
    };
    // SAFETY: the executor's expected descriptor of the column definition list.
    let natts = unsafe { (*expected).natts } as usize;
    (0..natts)
        .map(|j| {
            // SAFETY: j < natts.
            let (name, typ) = unsafe {
                let a = &*crate::pg::compat::attr(expected, j);
                (
                    CStr::from_ptr(a.attname.data.as_ptr()).to_string_lossy().into_owned(),
                    a.atttypid,
                )
            };
            if let Some((src, want)) = sys(&name) {
                if typ != want {
                    err(
                        PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                        format!("system column \"{name}\" must be declared as type {}", type_name(want)),
                    );
                }
                return src;
            }
            if let Some(n) = name.strip_prefix("dropped_").and_then(|n| n.parse::<usize>().ok()) {
                let Some((_, _, true, d)) = n.checked_sub(1).and_then(|i| attrs.get(i)) else {
                    err(
                        PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                        format!("attribute {n} of \"{}\" is not a dropped column", rel.name()),
                    );
                };
                let (mut len, mut byval, mut align) = (0i16, false, 0 as core::ffi::c_char);
                // SAFETY: a catalog lookup of the declared type.
                unsafe { pg_sys::get_typlenbyvalalign(typ, &mut len, &mut byval, &mut align) };
                if len != d.len || byval != d.byval || align as u8 != d.align {
                    err(
                        PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                        format!(
                            "type {} of \"{name}\" does not match the dropped column's storage (length {}, alignment '{}', by value {})",
                            type_name(typ),
                            d.len,
                            d.align as char,
                            d.byval
                        ),
                    );
                }
                return Source::Attr(n - 1);
            }
            match attrs.iter().position(|(n, _, dropped, _)| !dropped && *n == name) {
                Some(i) if attrs[i].1 == typ => Source::Attr(i),
                Some(i) => err(
                    PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                    format!(
                        "column \"{name}\" of \"{}\" is of type {}, not {}",
                        rel.name(),
                        type_name(attrs[i].1),
                        type_name(typ)
                    ),
                ),
                None => err(
                    PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                    format!("column \"{name}\" does not exist in \"{}\"", rel.name()),
                ),
            }
        })
        .collect()
}

fn type_name(t: pg_sys::Oid) -> String {
    // SAFETY: format_type_be returns a palloc'd name for any type OID.
    unsafe {
        CStr::from_ptr(pg_sys::format_type_be(t))
            .to_string_lossy()
            .into_owned()
    }
}

fn damaged(tid: (u32, u16), what: impl std::fmt::Display) -> ! {
    err(
        PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        format!("version ({},{}) cannot be decoded: {what}", tid.0, tid.1),
    )
}

/// One stored version, decoded: its header fields and attribute slices.
struct Version<'a> {
    xmin: u32,
    xmax: u32,
    cid: u32,
    dead: bool,
    data: &'a [u8],
    slices: Vec<AttrSlice>,
}

#[no_mangle]
#[doc(hidden)]
pub extern "C" fn pg_finfo_all_versions() -> &'static pg_sys::Pg_finfo_record {
    static V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
    &V1
}

/// glassheap.all_versions(regclass) RETURNS SETOF record, materialized.
#[pg_callback]
#[no_mangle]
pub unsafe extern "C-unwind" fn all_versions(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: called by the executor with one non-null regclass argument (STRICT).
    let relid = unsafe { pg_sys::Oid::from((*fcinfo).args.as_slice(1)[0].value.value() as u32) };
    // SAFETY: resultinfo is the executor's ReturnSetInfo when the caller accepts a set.
    let rsinfo = unsafe { (*fcinfo).resultinfo as *mut pg_sys::ReturnSetInfo };
    // SAFETY: rsinfo checked for null first.
    if rsinfo.is_null() || unsafe { (*rsinfo).expectedDesc.is_null() } {
        err(
            PgSqlErrorCode::ERRCODE_SYNTAX_ERROR,
            "a column definition list is required: SELECT * FROM glassheap.all_versions('t') AS t(id int, ...)".into(),
        );
    }
    // SAFETY: relation_open under the lock; an oid that names no relation is its ERROR.
    let rel = unsafe { PgRelation::with_lock(relid, pg_sys::AccessShareLock as pg_sys::LOCKMODE) };
    let am = table_am(&rel);
    let attrs = table_attrs(&rel);
    // SAFETY: rsinfo is valid; InitMaterializedSRF checks the caller allows materialize
    // mode and sets up the tuplestore with the expected descriptor.
    let expected = unsafe { (*rsinfo).expectedDesc };
    let srcs = sources(&rel, expected, &attrs);
    // SAFETY: as above.
    unsafe { pg_sys::InitMaterializedSRF(fcinfo, pg_sys::MAT_SRF_USE_EXPECTED_DESC) };
    let wants_dead = srcs.iter().any(|s| matches!(s, Source::Dead));
    // SAFETY: reads the recovery state; GlobalVisTestFor of an open relation.
    let vistest = unsafe {
        if wants_dead && pg_sys::RecoveryInProgress() {
            err(
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                "the \"dead\" column cannot be computed during recovery".into(),
            );
        }
        pg_sys::GlobalVisTestFor(rel.as_ptr())
    };
    let descs: Vec<AttrDesc> = attrs.iter().map(|a| a.3).collect();
    // SAFETY: an open relation with storage.
    let nblocks = unsafe {
        pg_sys::RelationGetNumberOfBlocksInFork(rel.as_ptr(), pg_sys::ForkNumber::MAIN_FORKNUM)
    };
    let mut per_block = PgMemoryContexts::new("glassheap.all_versions");
    let n = srcs.len();
    for blk in 0..nblocks {
        pgrx::check_for_interrupts!();
        // SAFETY: values of this block live in per_block until the rows are stored
        // (tuplestore_putvalues copies them), then it is reset.
        unsafe {
            per_block.switch_to(|_| {
                let page = read_block(&rel, blk as i64, "main");
                let Ok(lps) = line_pointers(&page) else {
                    damaged((blk, 0), "the line pointer array does not fit the page");
                };
                for lp in lps.iter().filter(|lp| lp.flags == LP_NORMAL) {
                    let tid = (blk, lp.lp);
                    let item = lp
                        .item(&page)
                        .unwrap_or_else(|| damaged(tid, "item extends past the page"));
                    let v = decode(am, item, &descs, tid, vistest, wants_dead);
                    let mut values = vec![pg_sys::Datum::from(0usize); n];
                    let mut nulls = vec![false; n];
                    for (j, src) in srcs.iter().enumerate() {
                        let (d, null) = value(*src, &v, &rel, &descs, tid);
                        values[j] = d;
                        nulls[j] = null;
                    }
                    pg_sys::tuplestore_putvalues(
                        (*rsinfo).setResult,
                        (*rsinfo).setDesc,
                        values.as_mut_ptr(),
                        nulls.as_mut_ptr(),
                    );
                }
            });
            per_block.reset();
        }
    }
    pg_sys::Datum::from(0usize)
}

fn decode<'a>(
    am: Am,
    item: &'a [u8],
    descs: &[AttrDesc],
    tid: (u32, u16),
    vistest: *mut pg_sys::GlobalVisState,
    wants_dead: bool,
) -> Version<'a> {
    let (xmin, xmax, cid, natts, nulls, hoff, dead) = match am {
        Am::Heap => {
            let h = HeapHeader::decode(item).unwrap_or_else(|e| damaged(tid, e));
            let nb = (h.natts() as usize).div_ceil(8);
            let bits = h.has_nulls().then(|| item.get(23..23 + nb)).flatten();
            if h.has_nulls() && bits.is_none() {
                damaged(tid, "null bitmap extends past the tuple");
            }
            let dead = wants_dead && {
                let mut t = pg_sys::HeapTupleData {
                    t_len: item.len() as u32,
                    t_data: item.as_ptr() as *mut pg_sys::HeapTupleHeaderData,
                    ..Default::default()
                };
                // SAFETY: a header decoded above (23+ bytes); the function reads only
                // the header's hint bits and xids.
                unsafe { pg_sys::HeapTupleIsSurelyDead(&mut t, vistest) }
            };
            (
                h.xmin,
                h.xmax,
                h.field3,
                h.natts() as usize,
                bits,
                h.hoff as usize,
                dead,
            )
        }
        Am::Glassheap => {
            let h = TupleHeader::decode(item).unwrap_or_else(|e| damaged(tid, e));
            let bits = h
                .has(TupleFlags::HAS_NULLS)
                .then(|| item.get(HEADER_SIZE..HEADER_SIZE + bitmap_len(h.natts())))
                .flatten();
            if h.has(TupleFlags::HAS_NULLS) && bits.is_none() {
                damaged(tid, "null bitmap extends past the tuple");
            }
            let cid = if h.aux_is_cid() { h.aux } else { 0 };
            let dead = wants_dead && crate::am::visibility::surely_dead(&h, vistest);
            (
                h.xmin,
                h.xmax,
                cid,
                h.natts() as usize,
                bits,
                h.hoff(),
                dead,
            )
        }
    };
    let data = item
        .get(hoff..)
        .unwrap_or_else(|| damaged(tid, format!("header length {hoff} exceeds the tuple")));
    if natts > descs.len() {
        damaged(
            tid,
            format!(
                "it has {natts} attributes; the relation has {}",
                descs.len()
            ),
        );
    }
    let slices = split(data, natts, nulls, descs).unwrap_or_else(|e| damaged(tid, e));
    Version {
        xmin,
        xmax,
        cid,
        dead,
        data,
        slices,
    }
}

fn value(
    src: Source,
    v: &Version<'_>,
    rel: &PgRelation,
    descs: &[AttrDesc],
    tid: (u32, u16),
) -> (pg_sys::Datum, bool) {
    match src {
        Source::TableOid => (pg_sys::Datum::from(rel.oid()), false),
        Source::Ctid => {
            // SAFETY: a palloc'd ItemPointerData the tuplestore copies (tid is by reference).
            let p = unsafe {
                let p = pg_sys::palloc(std::mem::size_of::<pg_sys::ItemPointerData>())
                    as *mut pg_sys::ItemPointerData;
                *p = crate::pg::rel::make_tid(tid.0, tid.1);
                p
            };
            (pg_sys::Datum::from(p), false)
        }
        Source::Xmin => (pg_sys::Datum::from(v.xmin), false),
        Source::Xmax => (pg_sys::Datum::from(v.xmax), false),
        Source::Cid => (pg_sys::Datum::from(v.cid), false),
        Source::Dead => (pg_sys::Datum::from(v.dead), false),
        Source::Attr(i) => match v.slices[i] {
            AttrSlice::Null => (pg_sys::Datum::from(0usize), true),
            AttrSlice::Missing => {
                let mut isnull = true;
                // SAFETY: the catalog's missing value of an attribute added later.
                let d = unsafe {
                    pg_sys::getmissingattr(rel.tuple_desc().as_ptr(), i as i32 + 1, &mut isnull)
                };
                (d, isnull)
            }
            AttrSlice::Value { start, len } => {
                let bytes = &v.data[start..start + len];
                // A stored varlena is inline, compressed inline or an on-disk TOAST
                // pointer; any other external tag would hold a memory address.
                if descs[i].len == -1
                    && bytes.first() == Some(&0x01)
                    && !(bytes.len() == 18 && bytes[1] == 18)
                {
                    damaged(tid, format!("attribute {} is an external value that is not an on-disk TOAST pointer", i + 1));
                }
                (datum_of(bytes, &descs[i]), false)
            }
        },
    }
}

extension_sql!(
    r#"
CREATE FUNCTION all_versions(rel regclass) RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'all_versions' LANGUAGE C STRICT;
COMMENT ON FUNCTION all_versions(regclass) IS
    'every stored version of a heap or glassheap table, visible or not, as rows of the column definition list (like pg_dirtyread)';
"#,
    name = "glassheap_all_versions",
    requires = ["glassheap_access_method"]
);
