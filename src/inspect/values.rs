//! glassheap.tuple_values: the attributes of the stored tuple at a TID, whatever its
//! visibility, for heap and glassheap tables. Every attribute's extent is checked against
//! the tuple before any type output function sees its bytes.

use super::rawpage::read_block;
use super::table_am;
use super::types::{Name, RegType};
use glassheap_decode::heap::HeapHeader;
use glassheap_decode::items::Am;
use glassheap_format::attrs::{split, AttrDesc, AttrSlice};
use glassheap_format::page::{line_pointers, LP_NORMAL};
use glassheap_format::tuple::{bitmap_len, TupleFlags, TupleHeader, HEADER_SIZE};
use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgRelation;

fn damaged(tid: (u32, u16), what: String) -> ! {
    super::raise(
        PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        format!("tuple ({},{}) cannot be decoded: {what}", tid.0, tid.1),
    );
}

/// The relation's attributes: (name, type, dropped, storage description), for the
/// checked splitting of stored rows (tuple_values, all_versions).
pub(super) fn table_attrs(rel: &PgRelation) -> Vec<(String, pg_sys::Oid, bool, AttrDesc)> {
    rel.tuple_desc()
        .iter()
        .map(|a| {
            (
                a.name().to_string(),
                a.type_oid().value(),
                a.is_dropped(),
                crate::pg::compat::attr_desc(a),
            )
        })
        .collect()
}

/// Datum for `bytes` of an attribute of type (len, byval): by-value types are read the
/// way fetch_att does (sign-extended); others get an aligned palloc'd copy.
pub(super) fn datum_of(bytes: &[u8], d: &AttrDesc) -> pg_sys::Datum {
    if d.byval {
        let mut b = [0u8; 8];
        b[..bytes.len().min(8)].copy_from_slice(&bytes[..bytes.len().min(8)]);
        return match d.len {
            1 => pg_sys::Datum::from(b[0] as i8),
            2 => pg_sys::Datum::from(i16::from_ne_bytes([b[0], b[1]])),
            4 => pg_sys::Datum::from(i32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
            _ => pg_sys::Datum::from(i64::from_ne_bytes(b)),
        };
    }
    // SAFETY: a fresh palloc'd copy of exactly the bounds-checked bytes.
    unsafe {
        let p = pg_sys::palloc(bytes.len().max(1)) as *mut u8;
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        pg_sys::Datum::from(p)
    }
}

/// How an attribute's bytes are stored: fixed-width or 4-byte-header varlena ("plain"),
/// 1-byte-header varlena ("short"), compressed inline, or a TOAST pointer ("external").
fn storage_kind(bytes: &[u8], d: &AttrDesc) -> &'static str {
    match (d.len, bytes.first()) {
        (-1, Some(0x01)) => "external",
        (-1, Some(b)) if b & 0x01 == 0x01 => "short",
        (-1, Some(b)) if b & 0x03 == 0x02 => "compressed",
        _ => "plain",
    }
}

pub(super) fn output(typid: pg_sys::Oid, datum: pg_sys::Datum) -> String {
    // SAFETY: catalog lookup of the type's output function, then a call on a datum of
    // that type whose bytes lie within the tuple.
    unsafe {
        let mut func = pg_sys::Oid::INVALID;
        let mut varlena = false;
        pg_sys::getTypeOutputInfo(typid, &mut func, &mut varlena);
        let s = pg_sys::OidOutputFunctionCall(func, datum);
        let out = std::ffi::CStr::from_ptr(s).to_string_lossy().into_owned();
        pg_sys::pfree(s as *mut core::ffi::c_void);
        out
    }
}

#[pg_extern]
#[allow(clippy::type_complexity)]
fn tuple_values(
    rel: PgRelation,
    tid: pg_sys::ItemPointerData,
) -> TableIterator<
    'static,
    (
        name!(attnum, i32),
        name!(attname, Name),
        name!(type, RegType),
        name!(isnull, bool),
        name!(raw, Option<Vec<u8>>),
        name!(value, Option<String>),
        name!(dropped, bool),
        name!(storage, String),
        name!(offset, Option<i32>),
    ),
> {
    let am = table_am(&rel);
    let (blk, off) = crate::pg::rel::tid_parts(&tid);
    let page = read_block(&rel, blk as i64, "main");
    let lp = line_pointers(&page)
        .ok()
        .and_then(|l| l.into_iter().find(|lp| lp.lp == off))
        .unwrap_or_else(|| {
            super::raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("line pointer ({blk},{off}) does not exist"),
            )
        });
    if lp.flags != LP_NORMAL {
        super::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "line pointer ({blk},{off}) is {} and holds no tuple",
                glassheap_format::page::lp_flags_name(lp.flags)
            ),
        );
    }
    let item = lp
        .item(&page)
        .unwrap_or_else(|| damaged((blk, off), "item extends past the page".into()));
    let (natts, nulls, hoff) = match am {
        Am::Heap => {
            let h = HeapHeader::decode(item).unwrap_or_else(|e| damaged((blk, off), e.to_string()));
            let n = (h.natts() as usize).div_ceil(8);
            let bits = h.has_nulls().then(|| item.get(23..23 + n)).flatten();
            if h.has_nulls() && bits.is_none() {
                damaged((blk, off), "null bitmap extends past the tuple".into());
            }
            (h.natts() as usize, bits, h.hoff as usize)
        }
        Am::Glassheap => {
            let h =
                TupleHeader::decode(item).unwrap_or_else(|e| damaged((blk, off), e.to_string()));
            let hoff = h.hoff();
            let bits = h
                .has(TupleFlags::HAS_NULLS)
                .then(|| item.get(HEADER_SIZE..HEADER_SIZE + bitmap_len(h.natts())))
                .flatten();
            if h.has(TupleFlags::HAS_NULLS) && bits.is_none() {
                damaged((blk, off), "null bitmap extends past the tuple".into());
            }
            (h.natts() as usize, bits, hoff)
        }
    };
    let data = item.get(hoff..).unwrap_or_else(|| {
        damaged(
            (blk, off),
            format!("header length {hoff} exceeds the tuple"),
        )
    });
    let tupdesc = rel.tuple_desc();
    let attrs = table_attrs(&rel);
    let descs: Vec<AttrDesc> = attrs.iter().map(|a| a.3).collect();
    if natts > descs.len() {
        damaged(
            (blk, off),
            format!(
                "tuple has {natts} attributes; the relation has {}",
                descs.len()
            ),
        );
    }
    let slices =
        split(data, natts, nulls, &descs).unwrap_or_else(|e| damaged((blk, off), e.to_string()));
    let tupdesc_ptr = tupdesc.as_ptr();
    let rows: Vec<_> = attrs
        .iter()
        .zip(slices)
        .enumerate()
        .map(|(i, ((name, typid, dropped, desc), slice))| {
            let (isnull, raw, value, storage, offset) = match slice {
                AttrSlice::Null => (true, None, None, "null", None),
                AttrSlice::Missing => {
                    let mut isnull = true;
                    // SAFETY: catalog-provided missing value for an attribute added later.
                    let d = unsafe { pg_sys::getmissingattr(tupdesc_ptr, i as i32 + 1, &mut isnull) };
                    let v = (!isnull && !dropped).then(|| output(*typid, d));
                    (isnull, None, v, "missing", None)
                }
                AttrSlice::Value { start, len } => {
                    let bytes = &data[start..start + len];
                    // A stored varlena may be inline, compressed inline or an on-disk
                    // TOAST pointer; any other external tag (expanded, indirect) holds a
                    // memory address and must never reach an output function.
                    if desc.len == -1 && bytes.first() == Some(&0x01) && !(bytes.len() == 18 && bytes[1] == 18) {
                        damaged((blk, off), format!("attribute {} is an external value that is not an on-disk TOAST pointer", i + 1));
                    }
                    let v = (!dropped).then(|| output(*typid, datum_of(bytes, desc)));
                    (false, Some(bytes.to_vec()), v, storage_kind(bytes, desc), Some((hoff + start) as i32))
                }
            };
            (i as i32 + 1, Name(name.clone()), RegType(*typid), isnull, raw, value, *dropped, storage.to_string(), offset)
        })
        .collect();
    TableIterator::new(rows)
}
