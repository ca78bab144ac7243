//! What a write adds to its WAL record for logical decoding (heapam.c's
//! `RelationIsLogicallyLogged` and `ExtractReplicaIdentity`): whether the relation is
//! logically logged at all, and the old row an UPDATE or DELETE logs for its replica
//! identity. The record layout is `glassheap_format::logical` (docs/FORMAT.md).

use super::{slot, tuple};
use crate::pg::rel;
use crate::pg::sys_extra;
use glassheap_format::logical::{LogicalPart, OldRow};
use glassheap_format::tuple::{TupleFlags, TupleHeader, HEADER_SIZE};
use pgrx::pg_sys;

/// RelationIsLogicallyLogged: `wal_level = logical`, the relation writes WAL, and it is
/// not a catalog. Its DML records then carry a logical part (and keep their tuple data
/// when a full-page image is taken); otherwise the WAL is exactly what it is at
/// `wal_level = replica`.
#[inline]
pub fn logically_logged(relation: pg_sys::Relation) -> bool {
    // SAFETY: reads a GUC variable.
    if unsafe { pg_sys::wal_level } < pg_sys::WalLevel::WAL_LEVEL_LOGICAL as i32 {
        return false;
    }
    // SAFETY: an open relation; IsCatalogRelation reads its OID and namespace.
    rel::needs_wal(relation) && !unsafe { pg_sys::IsCatalogRelation(relation) }
}

/// The logical part of an INSERT, MULTI_INSERT or CONFIRM record, when the relation is
/// logically logged.
pub fn insert_part(
    relation: pg_sys::Relation,
    last_in_multi: bool,
) -> Option<LogicalPart<'static>> {
    logically_logged(relation).then_some(LogicalPart {
        last_in_multi,
        old: None,
    })
}

/// The old row an UPDATE or DELETE logs, owned until the record is written.
pub struct OldIdentity {
    full: bool,
    natts: u16,
    has_nulls: bool,
    body: Vec<u8>,
}

impl OldIdentity {
    pub fn row(&self) -> OldRow<'_> {
        OldRow {
            full: self.full,
            natts: self.natts,
            has_nulls: self.has_nulls,
            body: &self.body,
        }
    }
}

/// The logical part of an UPDATE or DELETE: None when the relation is not logically
/// logged, else the part with the old row `old` (if any).
pub fn change_part(
    relation: pg_sys::Relation,
    old: Option<&OldIdentity>,
) -> Option<LogicalPart<'_>> {
    logically_logged(relation).then(|| LogicalPart {
        last_in_multi: false,
        old: old.map(OldIdentity::row),
    })
}

/// The replica identity a DELETE logs: REPLICA IDENTITY FULL the whole old row, DEFAULT
/// and USING INDEX the identity key columns (the others null), NOTHING (or no key)
/// nothing. Called with the old version located on its locked page, before the critical
/// section (detoasting and forming can fail; inside it they would PANIC).
pub fn for_delete(
    relation: pg_sys::Relation,
    old: &[u8],
    tid: pg_sys::ItemPointerData,
) -> Option<OldIdentity> {
    extract(relation, old, tid, None)
}

/// As [`for_delete`] for an UPDATE whose new values are in `newslot`: the key columns
/// are logged only when the update changes one of them or one is stored out of line
/// (heap's `bms_overlap(modified_attrs, id_attrs) || id_has_external`); FULL always.
pub fn for_update(
    relation: pg_sys::Relation,
    old: &[u8],
    tid: pg_sys::ItemPointerData,
    newslot: *mut pg_sys::TupleTableSlot,
) -> Option<OldIdentity> {
    extract(relation, old, tid, Some(newslot))
}

const REPLICA_IDENTITY_NOTHING: u8 = b'n';
const REPLICA_IDENTITY_FULL: u8 = b'f';

fn extract(
    relation: pg_sys::Relation,
    old: &[u8],
    tid: pg_sys::ItemPointerData,
    newslot: Option<*mut pg_sys::TupleTableSlot>,
) -> Option<OldIdentity> {
    if !logically_logged(relation) {
        return None;
    }
    // SAFETY: an open relation.
    let (replident, has_toast) = unsafe {
        let r = &*(*relation).rd_rel;
        (r.relreplident as u8, r.reltoastrelid != pg_sys::InvalidOid)
    };
    match replident {
        REPLICA_IDENTITY_NOTHING => None,
        REPLICA_IDENTITY_FULL => Some(full_row(relation, old, tid, has_toast)),
        _ => key_row(relation, old, tid, newslot),
    }
}

/// The old row's values for every attribute of the relation's descriptor (attributes
/// added after the row was written take their missing values, as heap_deform_tuple).
struct Deformed {
    values: Vec<pg_sys::Datum>,
    isnull: Vec<bool>,
}

fn deform_old(relation: pg_sys::Relation, old: &[u8], tid: pg_sys::ItemPointerData) -> Deformed {
    // SAFETY: an open relation; `old` is a located tuple; values/isnull have natts
    // entries and deform_range checks every length against the tuple.
    unsafe {
        let tupdesc = (*relation).rd_att;
        let natts = (*tupdesc).natts as usize;
        let mut d = Deformed {
            values: vec![pg_sys::Datum::from(0usize); natts],
            isnull: vec![true; natts],
        };
        let stored = (TupleHeader::read(old).natts() as usize).min(natts);
        let mut st = slot::DeformState::default();
        if let Err(e) = slot::deform_range(
            tupdesc,
            old,
            &mut st,
            stored,
            d.values.as_mut_ptr(),
            d.isnull.as_mut_ptr(),
        ) {
            let errslot = pg_sys::TupleTableSlot {
                tts_tid: tid,
                tts_tableOid: rel::relid(relation),
                ..Default::default()
            };
            slot::corrupt(&errslot, e);
        }
        for i in stored..natts {
            d.values[i] = pg_sys::getmissingattr(tupdesc, i as i32 + 1, &mut d.isnull[i]);
        }
        d
    }
}

/// Is attribute `i` (0-based) a varlena stored out of line (VARATT_IS_EXTERNAL)?
///
/// # Safety
/// `tupdesc` describes the row `d` was deformed from.
unsafe fn is_external(tupdesc: pg_sys::TupleDesc, d: &Deformed, i: usize) -> bool {
    // SAFETY: per the contract; a non-null varlena datum points at its header byte.
    unsafe {
        let att = &*crate::pg::compat::attr(tupdesc, i);
        // VARATT_IS_EXTERNAL: a 1-byte header of exactly 0x01 (little-endian layout).
        !d.isnull[i] && att.attlen == -1 && *(d.values[i].cast_mut_ptr::<u8>()) == 0x01
    }
}

/// Replaces out-of-line values of the attributes `want` accepts by their contents
/// (toast_flatten_tuple: compressed values stay compressed), so the record is decodable
/// on its own.
///
/// # Safety
/// As [`is_external`].
unsafe fn inline_externals(
    tupdesc: pg_sys::TupleDesc,
    d: &mut Deformed,
    want: impl Fn(usize) -> bool,
) {
    for i in 0..d.values.len() {
        // SAFETY: per the contract; detoast_external_attr returns a palloc'd copy.
        unsafe {
            if want(i) && is_external(tupdesc, d, i) {
                let flat = pg_sys::detoast_external_attr(d.values[i].cast_mut_ptr());
                d.values[i] = pg_sys::Datum::from(flat);
            }
        }
    }
}

/// The row formed from `d` (glassheap format), as logged.
fn form_identity(relation: pg_sys::Relation, d: &Deformed, full: bool) -> OldIdentity {
    // SAFETY: values/isnull hold natts entries of the relation's descriptor.
    let f = unsafe { tuple::form((*relation).rd_att, d.values.as_ptr(), d.isnull.as_ptr()) };
    let id = OldIdentity {
        full,
        natts: f.natts,
        has_nulls: f.has_nulls,
        body: f.body().to_vec(),
    };
    f.free();
    id
}

/// REPLICA IDENTITY FULL: the stored row itself, unless it holds TOAST pointers, which
/// are replaced by their values.
fn full_row(
    relation: pg_sys::Relation,
    old: &[u8],
    tid: pg_sys::ItemPointerData,
    has_toast: bool,
) -> OldIdentity {
    // SAFETY: an open relation.
    let tupdesc = unsafe { (*relation).rd_att };
    if has_toast {
        let mut d = deform_old(relation, old, tid);
        // SAFETY: d was deformed with tupdesc.
        if (0..d.values.len()).any(|i| unsafe { is_external(tupdesc, &d, i) }) {
            // SAFETY: as above.
            unsafe { inline_externals(tupdesc, &mut d, |_| true) };
            return form_identity(relation, &d, true);
        }
    }
    let h = TupleHeader::read(old);
    OldIdentity {
        full: true,
        natts: h.natts(),
        has_nulls: h.has(TupleFlags::HAS_NULLS),
        body: old[HEADER_SIZE..].to_vec(),
    }
}

/// REPLICA IDENTITY DEFAULT / USING INDEX: the identity key columns of the old row.
fn key_row(
    relation: pg_sys::Relation,
    old: &[u8],
    tid: pg_sys::ItemPointerData,
    newslot: Option<*mut pg_sys::TupleTableSlot>,
) -> Option<OldIdentity> {
    // SAFETY: the relcache returns a palloc'd copy of the identity key set (or NULL).
    let idattrs = unsafe {
        pg_sys::RelationGetIndexAttrBitmap(
            relation,
            pg_sys::IndexAttrBitmapKind::INDEX_ATTR_BITMAP_IDENTITY_KEY,
        )
    };
    if idattrs.is_null() {
        return None;
    }
    // SAFETY: a set from the relcache.
    let members: Vec<usize> = unsafe { rel::bms_members(idattrs) }
        .map(|idx| idx + pg_sys::FirstLowInvalidHeapAttributeNumber)
        .filter(|&attnum| attnum > 0)
        .map(|attnum| attnum as usize - 1)
        .collect();
    // SAFETY: our copy.
    unsafe { pg_sys::bms_free(idattrs) };
    // SAFETY: an open relation.
    let tupdesc = unsafe { (*relation).rd_att };
    let mut d = deform_old(relation, old, tid);
    if let Some(newslot) = newslot {
        // SAFETY: the executor's new slot for this relation; d was deformed with tupdesc.
        let required = unsafe { key_required(tupdesc, &d, newslot, &members) };
        if !required {
            return None;
        }
    }
    for i in 0..d.isnull.len() {
        if !members.contains(&i) {
            d.isnull[i] = true;
        }
    }
    // SAFETY: d was deformed with tupdesc.
    unsafe { inline_externals(tupdesc, &mut d, |i| members.contains(&i)) };
    Some(form_identity(relation, &d, false))
}

/// Does an UPDATE have to log the old key? When a key column changes (binary
/// comparison, heap_attr_equals) or an unchanged one is stored out of line.
///
/// # Safety
/// `newslot` holds a row of `tupdesc`; `d` was deformed with it.
unsafe fn key_required(
    tupdesc: pg_sys::TupleDesc,
    d: &Deformed,
    newslot: *mut pg_sys::TupleTableSlot,
    members: &[usize],
) -> bool {
    // SAFETY: per the contract.
    unsafe {
        slot::getsomeattrs(newslot, d.values.len() as i32);
        members.iter().any(|&i| {
            let (n1, n2) = (d.isnull[i], *(*newslot).tts_isnull.add(i));
            if n1 || n2 {
                return n1 != n2;
            }
            let att = &*crate::pg::compat::attr(tupdesc, i);
            let (v1, v2) = (d.values[i], *(*newslot).tts_values.add(i));
            let equal = if att.attbyval {
                v1 == v2
            } else {
                sys_extra::datumIsEqual(v1, v2, false, att.attlen as i32)
            };
            !equal || is_external(tupdesc, d, i)
        })
    }
}
