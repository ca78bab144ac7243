//! TOAST for glassheap tables: heaptoast.c's heap_toast_insert_or_update and
//! heap_toast_delete on glassheap's tuple format, driven through PostgreSQL's table-AM
//! toaster (access/toast_helper.h).
//!
//! A glassheap table's TOAST table is a *heap* table (see `relation_toast_am` and
//! docs/FORMAT.md): PostgreSQL 15's toast_save_datum and toast_delete_datum call
//! heap_insert / simple_heap_delete / heap_abort_speculative on it directly. What
//! glassheap stores in-line is PostgreSQL's 18-byte on-disk TOAST pointer
//! (varatt_external), byte for byte as heap stores it in its data area.
//!
//! The decisions are heap's: the same thresholds (TOAST_TUPLE_THRESHOLD,
//! TOAST_TUPLE_TARGET or the `toast_tuple_target` reloption, TOAST_TUPLE_TARGET_MAIN),
//! the same four rounds over the same attribute storage rules, measured on glassheap's
//! own tuple size (16-byte header instead of heap's 24). Both targets are capped at
//! glassheap's largest tuple, which is 8 bytes smaller than heap's.

use super::slot;
use super::tuple::{self, Formed};
use crate::pg::sys_extra;
use glassheap_format::attrs::{
    attr_size, attr_start, refill_in_place, refill_into, refill_plan, RefillAttr,
};
use glassheap_format::layout::MAX_TUPLE_SIZE;
use glassheap_format::tuple::{data_offset, TupleFlags, TupleHeader, HEADER_SIZE};
use glassheap_format::{BLCKSZ, MAXALIGN, PAGE_HEADER_SIZE};
use pgrx::pg_sys;
use std::ops::ControlFlow;

/// heaptoast.h's MaximumBytesPerTuple: the tuple size that lets `n` tuples share a
/// standard page (page header and `n` line pointers taken out).
const fn maximum_bytes_per_tuple(n: usize) -> usize {
    let overhead = (PAGE_HEADER_SIZE + n * 4 + MAXALIGN - 1) & !(MAXALIGN - 1);
    ((BLCKSZ - overhead) / n) & !(MAXALIGN - 1)
}

/// A tuple longer than this is toasted (heap: TOAST_TUPLE_THRESHOLD, 2032 bytes).
pub const TOAST_TUPLE_THRESHOLD: usize = maximum_bytes_per_tuple(4);
/// The size the toaster shrinks tuples to (heap: TOAST_TUPLE_TARGET, the default of the
/// `toast_tuple_target` reloption).
pub const TOAST_TUPLE_TARGET: usize = TOAST_TUPLE_THRESHOLD;
/// The size STORAGE MAIN values are moved out of line at (heap: TOAST_TUPLE_TARGET_MAIN,
/// 8160 bytes; glassheap caps it at its MAX_TUPLE_SIZE, 8152).
pub const TOAST_TUPLE_TARGET_MAIN: usize = maximum_bytes_per_tuple(1);
const _: () = assert!(TOAST_TUPLE_THRESHOLD == 2032 && TOAST_TUPLE_TARGET_MAIN == 8160);

/// VARHDRSZ_EXTERNAL + sizeof(varatt_external): an on-disk TOAST pointer.
const TOAST_POINTER_SIZE: usize = 18;
/// VARTAG_ONDISK.
const VARTAG_ONDISK: u8 = 18;

/// Heap toasts only ordinary tables and materialized views (never TOAST tables).
fn toastable_relkind(rel: pg_sys::Relation) -> bool {
    // SAFETY: a valid open relation has rd_rel.
    let kind = unsafe { (*(*rel).rd_rel).relkind } as u8;
    kind == pg_sys::RELKIND_RELATION || kind == pg_sys::RELKIND_MATVIEW
}

fn has_toast_table(rel: pg_sys::Relation) -> bool {
    // SAFETY: valid relation.
    unsafe { (*(*rel).rd_rel).reltoastrelid != pg_sys::InvalidOid }
}

/// RelationGetToastTupleTarget(rel, TOAST_TUPLE_TARGET).
fn toast_tuple_target(rel: pg_sys::Relation) -> usize {
    // SAFETY: a table's rd_options is NULL or heap's StdRdOptions (PostgreSQL 15 parses
    // every table's reloptions with heap_reloptions, whatever its access method).
    unsafe {
        let opts = (*rel).rd_options as *const pg_sys::StdRdOptions;
        if opts.is_null() {
            TOAST_TUPLE_TARGET
        } else {
            (*opts).toast_tuple_target as usize
        }
    }
}

// ---------------------------------------------------------------------------------
// Writing: INSERT, COPY, UPDATE
// ---------------------------------------------------------------------------------

/// heap_prepare_insert's TOAST step for a tuple about to be inserted into `rel`: returns
/// the tuple to store: the same bytes, with any value compressed or moved out of line
/// written in place, or a new tuple when the row grew (values fetched back from another
/// relation's TOAST table). Errors like heap when the row
/// still cannot fit on a page. `options` are the table_tuple_insert options, handed on
/// to the TOAST table's inserts (speculative insertion is not, as in heap).
#[inline]
pub fn prepare_insert(rel: pg_sys::Relation, f: Formed, options: i32) -> Formed {
    if !insert_needs_toast(&f) {
        return f; // the common case: nothing to do
    }
    let mut f = f;
    toast_or_check(rel, &mut f, None, options);
    f
}

/// heap_insert's test for the TOAST step: the row has external values or is over the
/// threshold.
#[inline]
pub fn insert_needs_toast(f: &Formed) -> bool {
    f.has_external || f.len > TOAST_TUPLE_THRESHOLD
}

/// heap_update's need_toast: the new version has external values or is over the
/// threshold, or the old version has TOAST pointers (which may have to be deleted).
/// `old` is the old version, located on its locked buffer.
pub fn update_needs_toast(
    rel: pg_sys::Relation,
    f: &Formed,
    old: *const u8,
    old_len: usize,
) -> bool {
    insert_needs_toast(f)
        || (has_toast_table(rel)
            && for_each_ondisk_pointer(rel, old, old_len, |_, _| ControlFlow::Break(())).is_some())
}

/// heap_update's toasting, run after the old version is locked and its buffer lock
/// released (the old version stays pinned): applies TOAST to `f` (in its own bytes, which
/// keep the header already written into them, unless the row grows) and deletes the old
/// version's external values the new version does not reuse. Errors like heap when the
/// row cannot fit.
pub fn prepare_update(rel: pg_sys::Relation, f: &mut Formed, old: *const u8, old_len: usize) {
    toast_or_check(rel, f, Some((old, old_len)), 0);
}

#[inline(never)]
fn toast_or_check(
    rel: pg_sys::Relation,
    f: &mut Formed,
    old: Option<(*const u8, usize)>,
    options: i32,
) {
    if toastable_relkind(rel) {
        let options = options & !(pg_sys::HEAP_INSERT_SPECULATIVE as i32);
        // SAFETY: f was formed with rel's descriptor; old (if any) is a pinned tuple.
        if let Some(new) = unsafe { toast_tuple(rel, f, old, options) } {
            std::mem::replace(f, new).free();
        }
    }
    tuple::check_fits(f);
}

/// Deforms a stored (or just formed) glassheap tuple of `rel` into `values`/`isnull`
/// (natts entries), attributes beyond its natts taking their missing values.
///
/// # Safety
/// `tup` is a whole glassheap tuple of `rel`; the values point into it.
unsafe fn deform(
    rel: pg_sys::Relation,
    tup: &[u8],
    values: &mut [pg_sys::Datum],
    isnull: &mut [bool],
) {
    // SAFETY: values/isnull have natts entries; deform_range reads at most `stored`.
    unsafe {
        let tupdesc = (*rel).rd_att;
        let natts = values.len();
        let stored = (TupleHeader::read(tup).natts() as usize).min(natts);
        let mut st = slot::DeformState::default();
        let errslot = pg_sys::TupleTableSlot {
            tts_tableOid: (*rel).rd_id,
            ..Default::default()
        };
        if let Err(e) = slot::deform_range(
            tupdesc,
            tup,
            &mut st,
            stored,
            values.as_mut_ptr(),
            isnull.as_mut_ptr(),
        ) {
            slot::corrupt(&errslot, e);
        }
        for i in stored..natts {
            values[i] = pg_sys::getmissingattr(tupdesc, i as i32 + 1, &mut isnull[i]);
        }
    }
}

/// heap_toast_insert_or_update on glassheap's format, applied to the row already formed:
/// the toaster's values are written into `f`'s own bytes (None: `f` is what to store,
/// changed or not), or, when the row grows, into a new tuple with `f`'s header bytes
/// (Some).
///
/// # Safety
/// `f` was formed with `rel`'s descriptor; `old` is a pinned glassheap tuple of `rel`.
unsafe fn toast_tuple(
    rel: pg_sys::Relation,
    f: &mut Formed,
    old: Option<(*const u8, usize)>,
    options: i32,
) -> Option<Formed> {
    // SAFETY: all pointers handed to the toaster are arrays of natts entries that live
    // until toast_tuple_cleanup returns; the descriptor is the relation's.
    unsafe {
        let tupdesc = (*rel).rd_att;
        let natts = (*tupdesc).natts as usize;
        let zero = pg_sys::Datum::from(0usize);
        let mut values = vec![zero; natts];
        let mut isnull = vec![true; natts];
        deform(rel, f.bytes(), &mut values, &mut isnull);
        let formed_values = values.clone();
        let mut oldvalues = Vec::new();
        let mut oldisnull = Vec::new();
        if let Some((p, len)) = old {
            oldvalues = vec![zero; natts];
            oldisnull = vec![true; natts];
            deform(
                rel,
                std::slice::from_raw_parts(p, len),
                &mut oldvalues,
                &mut oldisnull,
            );
        }
        let mut attrs = vec![
            sys_extra::ToastAttrInfo {
                tai_oldexternal: std::ptr::null_mut(),
                tai_size: 0,
                tai_colflags: 0,
                tai_compression: 0,
            };
            natts
        ];
        let mut ttc = sys_extra::ToastTupleContext {
            ttc_rel: rel,
            ttc_values: values.as_mut_ptr(),
            ttc_isnull: isnull.as_mut_ptr(),
            ttc_oldvalues: if old.is_some() {
                oldvalues.as_mut_ptr()
            } else {
                std::ptr::null_mut()
            },
            ttc_oldisnull: if old.is_some() {
                oldisnull.as_mut_ptr()
            } else {
                std::ptr::null_mut()
            },
            ttc_flags: 0,
            ttc_attr: attrs.as_mut_ptr(),
        };
        sys_extra::toast_tuple_init(&mut ttc);

        let has_toast = has_toast_table(rel);
        let hoff = data_offset(
            natts as u16,
            ttc.ttc_flags & sys_extra::TOAST_HAS_NULLS != 0,
        );
        let data_size = |ttc: &sys_extra::ToastTupleContext| {
            pg_sys::heap_compute_data_size(tupdesc, ttc.ttc_values, ttc.ttc_isnull)
        };
        let attr = |ttc: &sys_extra::ToastTupleContext, i: i32| ttc.ttc_attr.add(i as usize);
        let storage = |i: i32| (*crate::pg::compat::attr(tupdesc, i as usize)).attstorage as u8;

        // Round 1: compress EXTENDED attributes, biggest first; move any that is still
        // bigger than the target by itself out of line at once.
        let max_data_len = toast_tuple_target(rel)
            .min(MAX_TUPLE_SIZE)
            .saturating_sub(hoff);
        while data_size(&ttc) > max_data_len {
            let a = sys_extra::toast_tuple_find_biggest_attribute(&mut ttc, true, false);
            if a < 0 {
                break;
            }
            if storage(a) == pg_sys::TYPSTORAGE_EXTENDED {
                sys_extra::toast_tuple_try_compression(&mut ttc, a);
            } else {
                // EXTERNAL: never compressed; skip it in later compression passes
                (*attr(&ttc, a)).tai_colflags |= sys_extra::TOASTCOL_INCOMPRESSIBLE;
            }
            if (*attr(&ttc, a)).tai_size as usize > max_data_len && has_toast {
                sys_extra::toast_tuple_externalize(&mut ttc, a, options);
            }
        }
        // Round 2: move EXTENDED and EXTERNAL attributes out of line, biggest first.
        while has_toast && data_size(&ttc) > max_data_len {
            let a = sys_extra::toast_tuple_find_biggest_attribute(&mut ttc, false, false);
            if a < 0 {
                break;
            }
            sys_extra::toast_tuple_externalize(&mut ttc, a, options);
        }
        // Round 3: compress MAIN attributes.
        while data_size(&ttc) > max_data_len {
            let a = sys_extra::toast_tuple_find_biggest_attribute(&mut ttc, true, true);
            if a < 0 {
                break;
            }
            sys_extra::toast_tuple_try_compression(&mut ttc, a);
        }
        // Round 4: move MAIN attributes out of line only if the row cannot fit otherwise.
        let max_data_len = TOAST_TUPLE_TARGET_MAIN
            .min(MAX_TUPLE_SIZE)
            .saturating_sub(hoff);
        while has_toast && data_size(&ttc) > max_data_len {
            let a = sys_extra::toast_tuple_find_biggest_attribute(&mut ttc, false, true);
            if a < 0 {
                break;
            }
            sys_extra::toast_tuple_externalize(&mut ttc, a, options);
        }

        // The toaster's values replace the row's in its own bytes (each new extent ends
        // where the old one did at the latest, which compressed values and TOAST pointers
        // do); only a row that grows (values fetched back from another relation's TOAST
        // table) is refilled into a new chunk.
        let result = if ttc.ttc_flags & sys_extra::TOAST_NEEDS_CHANGE != 0 {
            refill(rel, f, &formed_values, &values, &isnull)
        } else {
            None
        };
        // Frees what the toaster allocated (after the refill copied it) and deletes the old
        // version's external values that the new version does not reuse.
        sys_extra::toast_tuple_cleanup(&mut ttc);
        result
    }
}

/// Puts the toaster's `values` into `f`, whose attributes were deformed into
/// `formed_values` (a value that differs is a replacement): in `f`'s own bytes when every
/// new extent ends no later than its old one did (None; `f.len` and `f.has_external` are
/// updated), else into a new chunk with `f`'s header and null bitmap (Some). The layout
/// is heap_fill_tuple's for the new values (`glassheap_format::attrs::refill_plan`).
///
/// # Safety
/// `f` was formed with `rel`'s descriptor (all its attributes); values/isnull hold natts
/// entries; every replaced value is a whole varlena that lives until the call returns.
unsafe fn refill(
    rel: pg_sys::Relation,
    f: &mut Formed,
    formed_values: &[pg_sys::Datum],
    values: &[pg_sys::Datum],
    isnull: &[bool],
) -> Option<Formed> {
    // SAFETY: per the contract.
    unsafe {
        let tupdesc = (*rel).rd_att;
        let natts = values.len();
        let attrs: Vec<RefillAttr> = (0..natts)
            .map(|i| {
                let a = &*crate::pg::compat::attr(tupdesc, i);
                RefillAttr {
                    desc: crate::pg::compat::attr_desc(a),
                    packable: a.attstorage as u8 != pg_sys::TYPSTORAGE_PLAIN,
                }
            })
            .collect();
        let new: Vec<Option<&[u8]>> = (0..natts)
            .map(|i| {
                (!isnull[i] && values[i] != formed_values[i]).then(|| {
                    let p = values[i].cast_mut_ptr::<u8>();
                    let len = pgrx::varlena::varsize_any(p as *const pg_sys::varlena);
                    std::slice::from_raw_parts(p as *const u8, len)
                })
            })
            .collect();
        if f.natts as usize != natts {
            pgrx::error!(
                "glassheap: a row of {} attributes cannot be toasted for \"{}\" ({} attributes)",
                f.natts,
                crate::pg::rel::name(rel),
                natts
            );
        }
        let hoff = data_offset(f.natts, f.has_nulls);
        let plan = {
            let bytes = f.bytes();
            let nulls = f.has_nulls.then(|| &bytes[HEADER_SIZE..hoff]);
            match refill_plan(&bytes[hoff..], nulls, &attrs, &new) {
                Ok(p) => p,
                Err(e) => pgrx::error!(
                    "glassheap: cannot apply TOAST to a row of \"{}\": {}",
                    crate::pg::rel::name(rel),
                    e
                ),
            }
        };
        if plan.in_place {
            refill_in_place(&plan, &mut f.bytes_mut()[hoff..], &new);
            f.len = hoff + plan.size;
            f.has_external = plan.has_external;
            return None;
        }
        let len = hoff + plan.size;
        let ptr = pg_sys::palloc0(len) as *mut u8;
        let out = std::slice::from_raw_parts_mut(ptr, len);
        out[..hoff].copy_from_slice(&f.bytes()[..hoff]);
        refill_into(&plan, &f.bytes()[hoff..], &mut out[hoff..], &new);
        Some(Formed {
            ptr,
            len,
            natts: f.natts,
            has_nulls: f.has_nulls,
            has_external: plan.has_external,
            slot_owned: false,
        })
    }
}

// ---------------------------------------------------------------------------------
// Deleting: DELETE, super-deletion of a speculative insertion
// ---------------------------------------------------------------------------------

/// Calls `f(attribute index, pointer bytes)` for every on-disk TOAST pointer stored in a
/// glassheap tuple of `rel` (dropped columns included, as heap_toast_delete does),
/// stopping early when `f` breaks. A tuple whose attributes cannot be walked is skipped
/// (reading it errors elsewhere; glassheap.verify reports it).
fn for_each_ondisk_pointer<B>(
    rel: pg_sys::Relation,
    ptr: *const u8,
    len: usize,
    mut f: impl FnMut(usize, &[u8]) -> ControlFlow<B>,
) -> Option<B> {
    // SAFETY: ptr/len describe a tuple on a pinned buffer (or palloc'd); the descriptor
    // has natts attributes and we read at most that many.
    unsafe {
        let tup = std::slice::from_raw_parts(ptr, len);
        let h = TupleHeader::read(tup);
        let hoff = h.hoff();
        if hoff > tup.len() {
            return None;
        }
        let tupdesc = (*rel).rd_att;
        let natts = (h.natts() as usize).min((*tupdesc).natts as usize);
        let nulls = h
            .has(TupleFlags::HAS_NULLS)
            .then(|| &tup[HEADER_SIZE..hoff]);
        let data = &tup[hoff..];
        let mut off = 0usize;
        for i in 0..natts {
            if let Some(bits) = nulls {
                if bits.get(i / 8).is_none_or(|b| b & (1 << (i % 8)) == 0) {
                    continue;
                }
            }
            let att = crate::pg::compat::attr(tupdesc, i);
            let d = crate::pg::compat::attr_desc(&*att);
            let Ok(start) = attr_start(data, off, &d, i + 1) else {
                return None;
            };
            let Ok(size) = attr_size(data, start, &d, i + 1) else {
                return None;
            };
            if d.len == -1
                && size == TOAST_POINTER_SIZE
                && data[start] == 0x01
                && data[start + 1] == VARTAG_ONDISK
            {
                if let ControlFlow::Break(b) = f(i, &data[start..start + size]) {
                    return Some(b);
                }
            }
            off = start + size;
        }
        None
    }
}

/// The TOAST pointers of a deleted version, copied while its buffer was locked.
pub struct External {
    pointers: Vec<(usize, [u8; TOAST_POINTER_SIZE])>,
}

/// Collects the on-disk TOAST pointers of a tuple being deleted (None when there are
/// none, which a table without a TOAST table answers at once).
pub fn collect_external(rel: pg_sys::Relation, ptr: *const u8, len: usize) -> Option<External> {
    if !has_toast_table(rel) {
        return None;
    }
    let mut pointers = Vec::new();
    for_each_ondisk_pointer(rel, ptr, len, |i, p| {
        let mut copy = [0u8; TOAST_POINTER_SIZE];
        copy.copy_from_slice(p);
        pointers.push((i, copy));
        ControlFlow::<()>::Continue(())
    });
    (!pointers.is_empty()).then_some(External { pointers })
}

/// heap_toast_delete: deletes the values' chunks from the TOAST table (in this
/// transaction, so a rollback keeps them); `is_speculative` kills them at once, for the
/// super-deletion of a speculative insertion that lost its race.
pub fn delete_external(rel: pg_sys::Relation, ext: Option<External>, is_speculative: bool) {
    let Some(ext) = ext else { return };
    // SAFETY: valid relation.
    let natts = unsafe { (*(*rel).rd_att).natts } as usize;
    let mut values = vec![pg_sys::Datum::from(0usize); natts];
    let mut isnull = vec![true; natts];
    for (i, p) in &ext.pointers {
        values[*i] = pg_sys::Datum::from(p.as_ptr());
        isnull[*i] = false;
    }
    // SAFETY: natts entries; every non-null value is an on-disk TOAST pointer that lives
    // in `ext` until the call returns.
    unsafe {
        sys_extra::toast_delete_external(
            rel,
            values.as_mut_ptr(),
            isnull.as_mut_ptr(),
            is_speculative,
        )
    };
}

/// The TableAmRoutine callbacks of this family (`handler.rs` lists them all): PostgreSQL
/// calls these; each forwards to the function above that does the work.
#[allow(clippy::too_many_arguments)] // the callback signatures are PostgreSQL's
pub(super) mod callbacks {
    use crate::pg::error::pg_callback;
    use crate::pg::rel;
    use pgrx::pg_sys;
    use pgrx::prelude::*;

    /// heapam_relation_needs_toast_table on glassheap's tuple size: a TOAST table is needed
    /// when some variable-width column may be toasted (storage other than PLAIN) and the
    /// widest possible row is over TOAST_TUPLE_THRESHOLD (or has no maximum).
    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn relation_needs_toast_table(
        rel_: pg_sys::Relation,
    ) -> bool {
        use glassheap_format::attrs::align_nominal;
        use glassheap_format::tuple::{data_offset, maxalign};
        // SAFETY: a valid open relation; attrs has natts entries.
        unsafe {
            let tupdesc = (*rel_).rd_att;
            let natts = (*tupdesc).natts as usize;
            let mut data_length = 0usize;
            let mut maxlength_unknown = false;
            let mut has_toastable_attrs = false;
            for i in 0..natts {
                let att = crate::pg::compat::attr(tupdesc, i);
                if (*att).attisdropped {
                    continue;
                }
                data_length = align_nominal(data_length, (*att).attalign as u8);
                if (*att).attlen > 0 {
                    // fixed-length types are never toastable
                    data_length += (*att).attlen as usize;
                } else {
                    let maxlen = pg_sys::type_maximum_size((*att).atttypid, (*att).atttypmod);
                    if maxlen < 0 {
                        maxlength_unknown = true;
                    } else {
                        data_length += maxlen as usize;
                    }
                    if (*att).attstorage as u8 != pg_sys::TYPSTORAGE_PLAIN {
                        has_toastable_attrs = true;
                    }
                }
            }
            if !has_toastable_attrs {
                return false;
            }
            if maxlength_unknown {
                return true;
            }
            let tuple_length = data_offset(natts as u16, true) + maxalign(data_length);
            tuple_length > super::TOAST_TUPLE_THRESHOLD
        }
    }

    /// TOAST tables of glassheap tables are heap tables: PostgreSQL 15's toast_save_datum
    /// and toast_delete_datum write them with heap_insert and simple_heap_delete directly.
    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn relation_toast_am(
        _rel: pg_sys::Relation,
    ) -> pg_sys::Oid {
        pg_sys::HEAP_TABLE_AM_OID
    }

    /// Only reached if a glassheap relation were itself a TOAST table, which cannot happen
    /// (see relation_toast_am): detoasting glassheap values reads their heap TOAST table.
    #[pg_callback]
    pub(in crate::am) unsafe extern "C-unwind" fn relation_fetch_toast_slice(
        toastrel: pg_sys::Relation,
        _valueid: pg_sys::Oid,
        _attrsize: pg_sys::int32,
        _sliceoffset: pg_sys::int32,
        _slicelength: pg_sys::int32,
        _result: *mut pg_sys::varlena,
    ) {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!(
                "glassheap relation \"{}\" cannot be a TOAST table",
                rel::name(toastrel)
            ),
            "TOAST tables of glassheap tables use the heap access method."
        );
    }
}
