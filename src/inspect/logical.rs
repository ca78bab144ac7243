//! The `logical` column of glassheap.wal_records and glassheap.trace: what logical
//! decoding makes of a record (`glassheap_decode::waldecode::logical`), the tuples shown
//! as column values with the relation's current descriptor, for heap and glassheap
//! records alike. So a reader sees one change as WAL bytes (`decoded`) and as a
//! subscriber receives it (`logical`).

use super::values::{datum_of, output};
use crate::pg::compat::{self, RelFileLocator};
use glassheap_decode::waldecode::logical::{view, OldKind, View};
use glassheap_decode::waldecode::BlockRef;
use glassheap_format::attrs::{split, AttrDesc, AttrSlice};
use glassheap_format::logical::{HEAP_HASNULL, HEAP_TUPLE_HEADER_SIZE};
use pgrx::pg_sys;
use serde_json::{json, Map, Value};
use std::ffi::CStr;

/// An open relation (AccessShareLock) and its qualified name, for the record's block 0.
struct Rel {
    rel: pg_sys::Relation,
    name: String,
}

impl Rel {
    fn of(rnode: &RelFileLocator) -> Option<Rel> {
        // SAFETY: catalog lookups and relation_open in the caller's transaction; a
        // relation that no longer exists (or was rewritten) is simply not found.
        unsafe {
            if compat::locator_oids(rnode).1 != pg_sys::MyDatabaseId {
                return None;
            }
            let oid = compat::relid_by_locator(rnode);
            if oid == pg_sys::Oid::INVALID {
                return None;
            }
            let rel = pg_sys::try_relation_open(oid, pg_sys::AccessShareLock as i32);
            if rel.is_null() {
                return None;
            }
            let nsp = pg_sys::get_namespace_name((*(*rel).rd_rel).relnamespace);
            let relname = CStr::from_ptr((*(*rel).rd_rel).relname.data.as_ptr());
            let name = format!(
                "{}.{}",
                if nsp.is_null() {
                    "?".into()
                } else {
                    CStr::from_ptr(nsp).to_string_lossy()
                },
                relname.to_string_lossy()
            );
            Some(Rel { rel, name })
        }
    }
}

impl Drop for Rel {
    fn drop(&mut self) {
        // SAFETY: opened by `of` with this lock mode.
        unsafe { pg_sys::relation_close(self.rel, pg_sys::AccessShareLock as i32) };
    }
}

/// A heap tuple's columns as {name: text value or null}; out-of-line values are named,
/// not fetched (the record holds only their TOAST pointer). An old key leaves out its
/// null columns (the ones not in the key), as test_decoding prints it.
fn columns(rel: &Rel, tuple: &[u8], skip_nulls: bool) -> Value {
    let natts = u16::from_ne_bytes([tuple[18], tuple[19]]) as usize & 0x07FF;
    let infomask = u16::from_ne_bytes([tuple[20], tuple[21]]);
    let hoff = tuple[22] as usize;
    let nulls = (infomask & HEAP_HASNULL != 0)
        .then(|| tuple.get(HEAP_TUPLE_HEADER_SIZE..HEAP_TUPLE_HEADER_SIZE + natts.div_ceil(8)))
        .flatten();
    let Some(data) = tuple.get(hoff..) else {
        return json!({ "error": format!("t_hoff {hoff} past the tuple") });
    };
    // SAFETY: an open relation's descriptor: natts attributes.
    let attrs: Vec<(String, pg_sys::Oid, bool, AttrDesc)> = unsafe {
        let desc = (*rel.rel).rd_att;
        (0..(*desc).natts as usize)
            .map(|i| {
                let a = &*compat::attr(desc, i);
                (
                    CStr::from_ptr(a.attname.data.as_ptr())
                        .to_string_lossy()
                        .into_owned(),
                    a.atttypid,
                    a.attisdropped,
                    compat::attr_desc(a),
                )
            })
            .collect()
    };
    let descs: Vec<AttrDesc> = attrs.iter().map(|a| a.3).collect();
    if natts > descs.len() {
        return json!({ "error": format!("tuple has {natts} attributes; the relation has {}", descs.len()) });
    }
    let slices = match split(data, natts, nulls, &descs) {
        Ok(s) => s,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let mut out = Map::new();
    for ((name, typid, dropped, desc), slice) in attrs.iter().zip(slices) {
        if *dropped {
            continue;
        }
        let v = match slice {
            AttrSlice::Null | AttrSlice::Missing if skip_nulls => continue,
            AttrSlice::Null | AttrSlice::Missing => Value::Null,
            AttrSlice::Value { start, len } => {
                let bytes = &data[start..start + len];
                if desc.len == -1 && bytes.first() == Some(&0x01) {
                    Value::String("(out of line: a TOAST pointer)".into())
                } else {
                    Value::String(output(*typid, datum_of(bytes, desc)))
                }
            }
        };
        out.insert(name.clone(), v);
    }
    Value::Object(out)
}

/// The `logical` value of a record: NULL for records that change no row.
pub(super) fn logical_json(
    rmid: u8,
    info: u8,
    main: &[u8],
    blocks: &[BlockRef<'_>],
    rnode0: Option<&RelFileLocator>,
) -> Value {
    match view(rmid, info, main, blocks) {
        None => Value::Null,
        Some(View::NotDecoded(why)) => json!({ "decoded": false, "why": why }),
        Some(View::Corrupt(e)) => json!({ "decoded": false, "error": e }),
        Some(View::Changes(changes)) => {
            let rel = rnode0.and_then(Rel::of);
            let tuple = |t: &[u8], skip_nulls| match &rel {
                Some(r) => columns(r, t, skip_nulls),
                None => json!({ "bytes": t.len() }),
            };
            let changes: Vec<Value> = changes
                .iter()
                .map(|c| {
                    let mut o = Map::new();
                    o.insert("action".into(), c.action.name().into());
                    if let Some((kind, t)) = &c.old {
                        let key = match kind {
                            OldKind::Key => "old_key",
                            OldKind::Full => "old_row",
                        };
                        o.insert(key.into(), tuple(t, *kind == OldKind::Key));
                    }
                    if let Some(t) = &c.new {
                        o.insert("new".into(), tuple(t, false));
                    }
                    Value::Object(o)
                })
                .collect();
            json!({
                "decoded": true,
                "relation": rel.as_ref().map(|r| r.name.clone()),
                "changes": changes,
            })
        }
    }
}
