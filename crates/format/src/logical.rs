//! What logical decoding needs from glassheap's WAL: the *logical part* of a DML record
//! and the conversion of a logged glassheap row into the heap tuple PostgreSQL's reorder
//! buffer and output plugins read.
//!
//! A DML record (INSERT, MULTI_INSERT, UPDATE, DELETE, CONFIRM) carries a logical part,
//! as the record's main data, only when its relation is logically logged (heap's
//! `RelationIsLogicallyLogged`: `wal_level = logical`, a permanent relation). A record
//! without one is not decoded, as heap skips records without
//! `XLH_INSERT_CONTAINS_NEW_TUPLE`; at `wal_level = replica` glassheap's WAL is therefore
//! byte for byte what it was before decoding existed. Layout (docs/FORMAT.md, "Logical
//! decoding"):
//!
//! ```text
//! u8   flags     1 OLD_KEY (replica identity key columns of the old row follow)
//!                2 OLD_FULL (the whole old row follows: REPLICA IDENTITY FULL)
//!                4 LAST_IN_MULTI (MULTI_INSERT: the last record of one batch)
//! with OLD_KEY or OLD_FULL:
//! u16  natts | has_nulls << 11
//! ...  the old row's body (glassheap body: null bitmap, padding, data)
//! ```

use crate::records::WalError;
use crate::tuple::{bitmap_len, data_offset, HEADER_SIZE, MAX_NATTS};
use serde::Serialize;

pub const LOGICAL_OLD_KEY: u8 = 1;
pub const LOGICAL_OLD_FULL: u8 = 2;
pub const LOGICAL_LAST_IN_MULTI: u8 = 4;
const LOGICAL_KNOWN: u8 = LOGICAL_OLD_KEY | LOGICAL_OLD_FULL | LOGICAL_LAST_IN_MULTI;

/// The old row an UPDATE or DELETE logs for its replica identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OldRow<'a> {
    /// REPLICA IDENTITY FULL: every column; otherwise only the identity key columns
    /// hold values and the others are null (heap's ExtractReplicaIdentity).
    pub full: bool,
    pub natts: u16,
    pub has_nulls: bool,
    #[serde(skip)]
    pub body: &'a [u8],
}

/// A DML record's logical part (its main data).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogicalPart<'a> {
    /// MULTI_INSERT: the last record of one multi-insert call. TOAST chunks of every row
    /// of the call precede the first record, so the reorder buffer may forget them only
    /// after this one (heap's XLH_INSERT_LAST_IN_MULTI).
    pub last_in_multi: bool,
    pub old: Option<OldRow<'a>>,
}

impl<'a> LogicalPart<'a> {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut flags = 0u8;
        if self.last_in_multi {
            flags |= LOGICAL_LAST_IN_MULTI;
        }
        match &self.old {
            Some(o) if o.full => flags |= LOGICAL_OLD_FULL,
            Some(_) => flags |= LOGICAL_OLD_KEY,
            None => {}
        }
        out.push(flags);
        if let Some(o) = &self.old {
            let packed = (o.natts & MAX_NATTS) | ((o.has_nulls as u16) << 11);
            out.extend_from_slice(&packed.to_le_bytes());
            out.extend_from_slice(o.body);
        }
    }

    pub fn decode(b: &'a [u8]) -> Result<Self, WalError> {
        const WHAT: &str = "glassheap logical part";
        let (&flags, rest) = b.split_first().ok_or(WalError::Truncated {
            what: WHAT,
            need: 1,
            have: 0,
        })?;
        if flags & !LOGICAL_KNOWN != 0 {
            return Err(WalError::Invalid {
                what: WHAT,
                detail: format!("unknown flags {flags:#x}"),
            });
        }
        if flags & LOGICAL_OLD_KEY != 0 && flags & LOGICAL_OLD_FULL != 0 {
            return Err(WalError::Invalid {
                what: WHAT,
                detail: "both an old key and a full old row".into(),
            });
        }
        let old = if flags & (LOGICAL_OLD_KEY | LOGICAL_OLD_FULL) != 0 {
            if rest.len() < 2 {
                return Err(WalError::Truncated {
                    what: WHAT,
                    need: 3,
                    have: b.len(),
                });
            }
            let packed = u16::from_le_bytes([rest[0], rest[1]]);
            if packed >> 12 != 0 {
                return Err(WalError::Invalid {
                    what: WHAT,
                    detail: format!("unknown old-row bits {:#x}", packed >> 12),
                });
            }
            Some(OldRow {
                full: flags & LOGICAL_OLD_FULL != 0,
                natts: packed & MAX_NATTS,
                has_nulls: packed & (1 << 11) != 0,
                body: &rest[2..],
            })
        } else {
            if !rest.is_empty() {
                return Err(WalError::Trailing {
                    what: WHAT,
                    extra: rest.len(),
                });
            }
            None
        };
        Ok(LogicalPart {
            last_in_multi: flags & LOGICAL_LAST_IN_MULTI != 0,
            old,
        })
    }
}

/// SizeofHeapTupleHeader: the fixed part of heap's tuple header.
pub const HEAP_TUPLE_HEADER_SIZE: usize = 23;
/// heap's t_infomask bits set on a decoded tuple.
pub const HEAP_HASNULL: u16 = 0x0001;
pub const HEAP_HASVARWIDTH: u16 = 0x0002;
pub const HEAP_XMAX_INVALID: u16 = 0x0800;
/// PostgreSQL's MaxTupleAttributeNumber.
pub const MAX_TUPLE_ATTRIBUTE_NUMBER: u16 = 1664;

/// The heap tuple (header, null bitmap, data) for a logged glassheap row, as heap's
/// decoder builds one from `xl_heap_header` and the logged bytes: transaction fields and
/// `t_ctid` zero, `t_infomask2` = natts, `t_hoff` heap's for that many attributes.
///
/// The data area is copied unchanged: glassheap's and heap's both start MAXALIGNed and
/// are laid out by heap_fill_tuple, so attribute offsets agree. `t_infomask` gets
/// `HEAP_HASNULL` when the row has a null bitmap, `HEAP_XMAX_INVALID` (as every freshly
/// formed heap tuple), and `HEAP_HASVARWIDTH` always: the record does not say whether a
/// column is variable-width (the descriptor is not available while decoding), and the
/// flag only makes readers compute offsets instead of trusting cached ones, which is
/// correct for every row.
pub fn heap_tuple_from_body(natts: u16, has_nulls: bool, body: &[u8]) -> Result<Vec<u8>, WalError> {
    const WHAT: &str = "glassheap row";
    if natts > MAX_TUPLE_ATTRIBUTE_NUMBER {
        return Err(WalError::Invalid {
            what: WHAT,
            detail: format!("{natts} attributes, more than {MAX_TUPLE_ATTRIBUTE_NUMBER}"),
        });
    }
    let bml = if has_nulls { bitmap_len(natts) } else { 0 };
    let gh_data = data_offset(natts, has_nulls) - HEADER_SIZE;
    if body.len() < gh_data {
        return Err(WalError::Truncated {
            what: WHAT,
            need: gh_data,
            have: body.len(),
        });
    }
    let hoff = crate::tuple::maxalign(HEAP_TUPLE_HEADER_SIZE + bml);
    let data = &body[gh_data..];
    let mut out = vec![0u8; hoff + data.len()];
    let mut infomask = HEAP_HASVARWIDTH | HEAP_XMAX_INVALID;
    if has_nulls {
        infomask |= HEAP_HASNULL;
        out[HEAP_TUPLE_HEADER_SIZE..HEAP_TUPLE_HEADER_SIZE + bml].copy_from_slice(&body[..bml]);
    }
    // t_infomask2 at 18, t_infomask at 20, t_hoff at 22 (native byte order, as in memory).
    out[18..20].copy_from_slice(&natts.to_ne_bytes());
    out[20..22].copy_from_slice(&infomask.to_ne_bytes());
    out[22] = hoff as u8;
    out[hoff..].copy_from_slice(data);
    Ok(out)
}

// ---------------------------------------------------------------------------------
// What logical decoding makes of glassheap's records (rm_decode and the toolkit's view).
// ---------------------------------------------------------------------------------

/// Which old row a change carries (heap's CONTAINS_OLD_KEY / CONTAINS_OLD_TUPLE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldKind {
    /// The replica identity key columns, the other columns null.
    Key,
    /// The whole old row (REPLICA IDENTITY FULL).
    Full,
}

/// What a change does: INSERT, UPDATE, DELETE, or a step of a speculative insertion
/// (which output plugins see as an INSERT, or nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Insert,
    Update,
    Delete,
    SpecInsert,
    SpecConfirm,
    SpecAbort,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Insert => "INSERT",
            Action::Update => "UPDATE",
            Action::Delete => "DELETE",
            Action::SpecInsert => "SPEC_INSERT",
            Action::SpecConfirm => "SPEC_CONFIRM",
            Action::SpecAbort => "SPEC_ABORT",
        }
    }
}

/// One change logical decoding queues for a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub action: Action,
    /// The relation is block 0's.
    pub new: Option<Vec<u8>>,
    pub old: Option<(OldKind, Vec<u8>)>,
    /// The reorder buffer may forget the transaction's reassembled TOAST chunks after
    /// this change: always, but within a multi-insert call only after its last row
    /// (heap's XLH_INSERT_LAST_IN_MULTI, glassheap's LAST_IN_MULTI).
    pub clear_toast_afterwards: bool,
}

/// What logical decoding makes of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// A row-changing record whose relation was not logically logged: nothing.
    NotDecoded(&'static str),
    Changes(Vec<Change>),
    /// The bytes do not parse.
    Corrupt(String),
}

pub const NOT_LOGGED: &str = "the relation was not logically logged when this was written (wal_level below logical, or a catalog)";

/// Block 0's data of the record `what`, or the error that it has none.
pub fn need<'a>(b: Option<&'a [u8]>, what: &str) -> Result<&'a [u8], String> {
    b.ok_or_else(|| format!("{what}: block 0 has no data"))
}

/// What logical decoding makes of a glassheap record with opcode `op`, its main data
/// and block 0's data: the one decoder of glassheap's records, used by `rm_decode`
/// (src/rmgr/decode.rs) and by the toolkit's view. None for records that change no row.
pub fn glassheap(op: u8, main: &[u8], block0: Option<&[u8]>) -> Option<Result<View, String>> {
    if !matches!(
        op,
        crate::records::XLOG_GH_INSERT
            | crate::records::XLOG_GH_MULTI_INSERT
            | crate::records::XLOG_GH_UPDATE
            | crate::records::XLOG_GH_DELETE
            | crate::records::XLOG_GH_CONFIRM
    ) {
        return None;
    }
    if main.is_empty() {
        return Some(Ok(View::NotDecoded(NOT_LOGGED)));
    }
    Some((|| {
        let e = |e: crate::records::WalError| e.to_string();
        let part = LogicalPart::decode(main).map_err(e)?;
        let old = match &part.old {
            Some(o) => Some((
                if o.full { OldKind::Full } else { OldKind::Key },
                heap_tuple_from_body(o.natts, o.has_nulls, o.body).map_err(e)?,
            )),
            None => None,
        };
        let one = |action, new| {
            Ok(View::Changes(vec![Change {
                action,
                new,
                old: old.clone(),
                clear_toast_afterwards: true,
            }]))
        };
        match op {
            crate::records::XLOG_GH_INSERT => {
                let i = crate::records::InsertBlock::decode(need(block0, "glassheap INSERT")?)
                    .map_err(e)?;
                let new = heap_tuple_from_body(i.natts, i.has_nulls, i.body).map_err(e)?;
                let action = if i.speculative {
                    Action::SpecInsert
                } else {
                    Action::Insert
                };
                one(action, Some(new))
            }
            crate::records::XLOG_GH_MULTI_INSERT => {
                let m = crate::records::MultiInsertBlock::decode(need(
                    block0,
                    "glassheap MULTI_INSERT",
                )?)
                .map_err(e)?;
                let n = m.tuples.len();
                let changes = m
                    .tuples
                    .iter()
                    .enumerate()
                    .map(|(k, t)| {
                        Ok(Change {
                            action: Action::Insert,
                            new: Some(
                                heap_tuple_from_body(t.natts, t.has_nulls, t.body).map_err(e)?,
                            ),
                            old: None,
                            clear_toast_afterwards: part.last_in_multi && k + 1 == n,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                Ok(View::Changes(changes))
            }
            crate::records::XLOG_GH_UPDATE => {
                let u = crate::records::UpdateNew::decode(need(block0, "glassheap UPDATE")?)
                    .map_err(e)?;
                if u.prefix_len != 0 || u.suffix_len != 0 {
                    return Err(
                        "glassheap UPDATE with a logical part logged with a prefix/suffix".into(),
                    );
                }
                let new = heap_tuple_from_body(u.natts, u.has_nulls, u.body).map_err(e)?;
                one(Action::Update, Some(new))
            }
            crate::records::XLOG_GH_DELETE => {
                let d = crate::records::DeleteBlock::decode(need(block0, "glassheap DELETE")?)
                    .map_err(e)?;
                let action = if d.super_delete {
                    Action::SpecAbort
                } else {
                    Action::Delete
                };
                one(action, None)
            }
            _ => one(Action::SpecConfirm, None),
        }
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn insert_part_is_one_byte() {
        let mut out = Vec::new();
        LogicalPart::default().encode(&mut out);
        assert_eq!(out, vec![0]);
        assert_eq!(LogicalPart::decode(&out).unwrap(), LogicalPart::default());
    }

    #[test]
    fn rejects_garbage() {
        assert!(LogicalPart::decode(&[]).is_err());
        assert!(LogicalPart::decode(&[0x80]).is_err());
        assert!(LogicalPart::decode(&[3, 1, 0]).is_err());
        assert!(LogicalPart::decode(&[1, 1]).is_err());
        assert!(LogicalPart::decode(&[0, 9]).is_err());
        assert!(LogicalPart::decode(&[1, 0, 0xF0]).is_err());
    }

    #[test]
    fn heap_tuple_of_two_ints() {
        // (int 7, int 9): glassheap body = 8 data bytes.
        let body = [7, 0, 0, 0, 9, 0, 0, 0];
        let t = heap_tuple_from_body(2, false, &body).unwrap();
        assert_eq!(t.len(), 24 + 8);
        assert_eq!(t[22], 24);
        assert_eq!(u16::from_ne_bytes([t[18], t[19]]), 2);
        assert_eq!(&t[24..], &body);
    }

    #[test]
    fn heap_tuple_with_nulls_moves_bitmap() {
        // 9 attributes, bitmap of 2 bytes; glassheap data at 24 (body offset 8), heap
        // data at MAXALIGN(23 + 2) = 32.
        let mut body = vec![0u8; 8 + 4];
        body[0] = 0b1111_1101;
        body[1] = 0b1;
        body[8..].copy_from_slice(&[1, 2, 3, 4]);
        let t = heap_tuple_from_body(9, true, &body).unwrap();
        assert_eq!(t[22], 32);
        assert_eq!(&t[23..25], &body[..2]);
        assert_eq!(&t[32..], &[1, 2, 3, 4]);
        assert_eq!(
            u16::from_ne_bytes([t[20], t[21]]) & HEAP_HASNULL,
            HEAP_HASNULL
        );
        assert!(heap_tuple_from_body(9, true, &body[..7]).is_err());
        assert!(heap_tuple_from_body(2000, false, &body).is_err());
    }

    proptest! {
        #[test]
        fn part_roundtrips(last in any::<bool>(), old in proptest::option::of((any::<bool>(), 0u16..=1664, any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64)))) {
            let body;
            let part = LogicalPart {
                last_in_multi: last,
                old: match &old {
                    Some((full, natts, nulls, b)) => {
                        body = b.clone();
                        Some(OldRow { full: *full, natts: *natts, has_nulls: *nulls, body: &body })
                    }
                    None => None,
                },
            };
            let mut out = Vec::new();
            part.encode(&mut out);
            prop_assert_eq!(LogicalPart::decode(&out).unwrap(), part);
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..40), natts in any::<u16>(), nulls in any::<bool>()) {
            let _ = LogicalPart::decode(&b);
            if let Ok(t) = heap_tuple_from_body(natts, nulls, &b) {
                prop_assert_eq!(t[22] as usize % 8, 0);
                prop_assert!(t.len() >= t[22] as usize);
            }
        }
    }
}
