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

use crate::records::{WalError, WalErrorKind};
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

    #[inline]
    pub fn decode(b: &'a [u8]) -> Result<Self, WalError> {
        const WHAT: &str = "glassheap logical part";
        let (&flags, rest) = b.split_first().ok_or_else(|| {
            WalError::new(WalErrorKind::Truncated {
                what: WHAT,
                need: 1,
                have: 0,
            })
        })?;
        if flags & !LOGICAL_KNOWN != 0 {
            return Err(WalError::new(WalErrorKind::Invalid {
                what: WHAT,
                detail: format!("unknown flags {flags:#x}"),
            }));
        }
        if flags & LOGICAL_OLD_KEY != 0 && flags & LOGICAL_OLD_FULL != 0 {
            return Err(WalError::new(WalErrorKind::Invalid {
                what: WHAT,
                detail: "both an old key and a full old row".into(),
            }));
        }
        let old = if flags & (LOGICAL_OLD_KEY | LOGICAL_OLD_FULL) != 0 {
            if rest.len() < 2 {
                return Err(WalError::new(WalErrorKind::Truncated {
                    what: WHAT,
                    need: 3,
                    have: b.len(),
                }));
            }
            let packed = u16::from_le_bytes([rest[0], rest[1]]);
            if packed >> 12 != 0 {
                return Err(WalError::new(WalErrorKind::Invalid {
                    what: WHAT,
                    detail: format!("unknown old-row bits {:#x}", packed >> 12),
                }));
            }
            Some(OldRow {
                full: flags & LOGICAL_OLD_FULL != 0,
                natts: packed & MAX_NATTS,
                has_nulls: packed & (1 << 11) != 0,
                body: &rest[2..],
            })
        } else {
            if !rest.is_empty() {
                return Err(WalError::new(WalErrorKind::Trailing {
                    what: WHAT,
                    extra: rest.len(),
                }));
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

/// A row as a glassheap record logs it (attribute count, null-bitmap flag and body:
/// bitmap, padding, data), checked to convert into the heap tuple PostgreSQL's reorder
/// buffer and output plugins read. Only [`LoggedRow::new`] makes one, so every
/// `LoggedRow` converts: [`heap_len`](LoggedRow::heap_len) cannot fail and
/// [`write_heap`](LoggedRow::write_heap) neither fails nor panics given a buffer of that
/// length, which lets `rm_decode` write the tuple straight into the reorder buffer's
/// memory (no buffer of its own, no copy).
///
/// The heap tuple is what heap's decoder builds from `xl_heap_header` and the logged
/// bytes: transaction fields and `t_ctid` zero, `t_infomask2` = natts, `t_hoff` heap's for
/// that many attributes. The data area is copied unchanged: glassheap's and heap's both
/// start MAXALIGNed and are laid out by heap_fill_tuple, so attribute offsets agree.
/// `t_infomask` gets `HEAP_HASNULL` when the row has a null bitmap, `HEAP_XMAX_INVALID`
/// (as every freshly formed heap tuple), and `HEAP_HASVARWIDTH` always: the record does
/// not say whether a column is variable-width (the descriptor is not available while
/// decoding), and the flag only makes readers compute offsets instead of trusting cached
/// ones, which is correct for every row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedRow<'a> {
    natts: u16,
    has_nulls: bool,
    /// The null bitmap's bytes (empty without nulls).
    bitmap: &'a [u8],
    /// The data area.
    data: &'a [u8],
    /// The heap tuple's t_hoff: MAXALIGN(23 + bitmap).
    hoff: u8,
}

impl<'a> LoggedRow<'a> {
    #[inline]
    pub fn new(natts: u16, has_nulls: bool, body: &'a [u8]) -> Result<Self, WalError> {
        const WHAT: &str = "glassheap row";
        if natts > MAX_TUPLE_ATTRIBUTE_NUMBER {
            return Err(too_many_attributes(WHAT, natts));
        }
        let bml = if has_nulls { bitmap_len(natts) } else { 0 };
        let gh_data = data_offset(natts, has_nulls) - HEADER_SIZE;
        if body.len() < gh_data {
            return Err(WalError::new(WalErrorKind::Truncated {
                what: WHAT,
                need: gh_data,
                have: body.len(),
            }));
        }
        Ok(LoggedRow {
            natts,
            has_nulls,
            bitmap: &body[..bml],
            data: &body[gh_data..],
            // at most MAXALIGN(23 + 208) = 232 for 1664 attributes
            hoff: crate::tuple::maxalign(HEAP_TUPLE_HEADER_SIZE + bml) as u8,
        })
    }

    /// The heap tuple's length: header, bitmap, padding and data.
    #[inline]
    pub fn heap_len(&self) -> usize {
        self.hoff as usize + self.data.len()
    }

    /// Writes the heap tuple into `out`, which must be exactly
    /// [`heap_len`](Self::heap_len) bytes (memory of any prior contents: every byte is
    /// written); `Err(WrongLength)`, nothing written, for a buffer of another length.
    ///
    /// It cannot panic, whatever it is given: `rm_decode` calls it inside one `sigsetjmp`
    /// guard (`pg::reorder`), across whose C frame a panic could not unwind. The test
    /// at the top puts every slice below in bounds: `out` is `hoff` + the data's length,
    /// and `hoff` covers the fixed header and the bitmap.
    #[inline]
    pub fn write_heap(&self, out: &mut [u8]) -> Result<(), WrongLength> {
        let hoff = self.hoff as usize;
        let bitmap_end = HEAP_TUPLE_HEADER_SIZE + self.bitmap.len();
        if out.len() != self.heap_len() || hoff < bitmap_end {
            return Err(WrongLength);
        }
        let (head, data) = out.split_at_mut(hoff);
        head.fill(0);
        let mut infomask = HEAP_HASVARWIDTH | HEAP_XMAX_INVALID;
        if self.has_nulls {
            infomask |= HEAP_HASNULL;
        }
        head[HEAP_TUPLE_HEADER_SIZE..bitmap_end].copy_from_slice(self.bitmap);
        // t_infomask2 at 18, t_infomask at 20, t_hoff at 22 (native byte order, as in memory).
        head[18..20].copy_from_slice(&self.natts.to_ne_bytes());
        head[20..22].copy_from_slice(&infomask.to_ne_bytes());
        head[22] = self.hoff;
        data.copy_from_slice(self.data);
        Ok(())
    }

    /// The heap tuple in a buffer of its own (the toolkit's view).
    pub fn to_heap(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.heap_len()];
        self.write_heap(&mut out)
            .expect("a buffer of heap_len bytes is the right length");
        out
    }
}

/// A buffer handed to [`LoggedRow::write_heap`] that is not the heap tuple's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongLength;

#[cold]
#[inline(never)]
fn too_many_attributes(what: &'static str, natts: u16) -> WalError {
    WalError::new(WalErrorKind::Invalid {
        what,
        detail: format!("{natts} attributes, more than {MAX_TUPLE_ATTRIBUTE_NUMBER}"),
    })
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

/// One change logical decoding queues for a record, its rows still in the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeRef<'a> {
    pub action: Action,
    /// The relation is block 0's.
    pub new: Option<LoggedRow<'a>>,
    pub old: Option<(OldKind, LoggedRow<'a>)>,
    /// The reorder buffer may forget the transaction's reassembled TOAST chunks after
    /// this change: always, but within a multi-insert call only after its last row
    /// (heap's XLH_INSERT_LAST_IN_MULTI, glassheap's LAST_IN_MULTI).
    pub clear_toast_afterwards: bool,
}

impl ChangeRef<'_> {
    /// The change with its heap tuples built (the toolkit's view).
    pub fn to_change(&self) -> Change {
        Change {
            action: self.action,
            new: self.new.map(|r| r.to_heap()),
            old: self.old.map(|(k, r)| (k, r.to_heap())),
            clear_toast_afterwards: self.clear_toast_afterwards,
        }
    }
}

/// One change logical decoding queues for a record, with its heap tuples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub action: Action,
    /// The relation is block 0's.
    pub new: Option<Vec<u8>>,
    pub old: Option<(OldKind, Vec<u8>)>,
    /// See [`ChangeRef::clear_toast_afterwards`].
    pub clear_toast_afterwards: bool,
}

/// The changes of one record: one, or a MULTI_INSERT's several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes<'a> {
    One(ChangeRef<'a>),
    Many(Vec<ChangeRef<'a>>),
}

impl<'a> Changes<'a> {
    pub fn as_slice(&self) -> &[ChangeRef<'a>] {
        match self {
            Changes::One(c) => std::slice::from_ref(c),
            Changes::Many(v) => v,
        }
    }
}

/// What logical decoding makes of a record, its rows still in the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A row-changing record whose relation was not logically logged: nothing.
    NotDecoded(&'static str),
    Changes(Changes<'a>),
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

/// Is `op` a glassheap record that changes a row's contents (and so may be decoded)?
#[inline]
pub fn changes_rows(op: u8) -> bool {
    matches!(
        op,
        crate::records::XLOG_GH_INSERT
            | crate::records::XLOG_GH_MULTI_INSERT
            | crate::records::XLOG_GH_UPDATE
            | crate::records::XLOG_GH_DELETE
            | crate::records::XLOG_GH_CONFIRM
    )
}

/// What logical decoding makes of a glassheap record with opcode `op`, its main data
/// and block 0's data: the one decoder of glassheap's records, used by `rm_decode`
/// (src/rmgr/decode.rs, which writes the rows straight into the reorder buffer) and,
/// through [`glassheap`], by the toolkit's view. None for records that change no row.
pub fn decode<'a>(
    op: u8,
    main: &'a [u8],
    block0: Option<&'a [u8]>,
) -> Option<Result<Decoded<'a>, String>> {
    if !changes_rows(op) {
        return None;
    }
    if main.is_empty() {
        return Some(Ok(Decoded::NotDecoded(NOT_LOGGED)));
    }
    Some(decode_row_change(op, main, block0).map(Decoded::Changes))
}

fn decode_row_change<'a>(
    op: u8,
    main: &'a [u8],
    block0: Option<&'a [u8]>,
) -> Result<Changes<'a>, String> {
    let e = |e: crate::records::WalError| e.to_string();
    let part = LogicalPart::decode(main).map_err(e)?;
    let old = match &part.old {
        Some(o) => Some((
            if o.full { OldKind::Full } else { OldKind::Key },
            LoggedRow::new(o.natts, o.has_nulls, o.body).map_err(e)?,
        )),
        None => None,
    };
    let one = |action, new| {
        Ok(Changes::One(ChangeRef {
            action,
            new,
            old,
            clear_toast_afterwards: true,
        }))
    };
    match op {
        crate::records::XLOG_GH_INSERT => {
            let i = crate::records::InsertBlock::decode(need(block0, "glassheap INSERT")?)
                .map_err(e)?;
            let new = LoggedRow::new(i.natts, i.has_nulls, i.body).map_err(e)?;
            let action = if i.speculative {
                Action::SpecInsert
            } else {
                Action::Insert
            };
            one(action, Some(new))
        }
        crate::records::XLOG_GH_MULTI_INSERT => {
            let m =
                crate::records::MultiInsertBlock::decode(need(block0, "glassheap MULTI_INSERT")?)
                    .map_err(e)?;
            let n = m.tuples.len();
            let changes = m
                .tuples
                .iter()
                .enumerate()
                .map(|(k, t)| {
                    Ok(ChangeRef {
                        action: Action::Insert,
                        new: Some(LoggedRow::new(t.natts, t.has_nulls, t.body).map_err(e)?),
                        old: None,
                        clear_toast_afterwards: part.last_in_multi && k + 1 == n,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(Changes::Many(changes))
        }
        crate::records::XLOG_GH_UPDATE => {
            let u =
                crate::records::UpdateNew::decode(need(block0, "glassheap UPDATE")?).map_err(e)?;
            if u.prefix_len != 0 || u.suffix_len != 0 {
                return Err(
                    "glassheap UPDATE with a logical part logged with a prefix/suffix".into(),
                );
            }
            let new = LoggedRow::new(u.natts, u.has_nulls, u.body).map_err(e)?;
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
}

/// [`decode`] with the heap tuples built: the toolkit's view of a glassheap record.
pub fn glassheap(op: u8, main: &[u8], block0: Option<&[u8]>) -> Option<Result<View, String>> {
    decode(op, main, block0).map(|r| {
        r.map(|d| match d {
            Decoded::NotDecoded(why) => View::NotDecoded(why),
            Decoded::Changes(c) => {
                View::Changes(c.as_slice().iter().map(ChangeRef::to_change).collect())
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap_tuple_from_body(natts: u16, has_nulls: bool, body: &[u8]) -> Result<Vec<u8>, WalError> {
        Ok(LoggedRow::new(natts, has_nulls, body)?.to_heap())
    }
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
        let body = nine_attrs_with_nulls();
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

    /// A glassheap body of 9 attributes, two of them null: a 2-byte bitmap, padding to
    /// the data at body offset 8, 4 data bytes.
    fn nine_attrs_with_nulls() -> Vec<u8> {
        let mut body = vec![0u8; 8 + 4];
        body[0] = 0b1111_1101;
        body[1] = 0b1;
        body[8..].copy_from_slice(&[1, 2, 3, 4]);
        body
    }

    #[test]
    fn write_heap_overwrites_every_byte() {
        let body = nine_attrs_with_nulls();
        let row = LoggedRow::new(9, true, &body).unwrap();
        let mut dirty = vec![0xAB; row.heap_len()];
        row.write_heap(&mut dirty).unwrap();
        assert_eq!(dirty, heap_tuple_from_body(9, true, &body).unwrap());
        // a buffer of another length is refused, and left alone
        for len in [0, row.heap_len() - 1, row.heap_len() + 1] {
            let mut other = vec![0xCD; len];
            assert_eq!(row.write_heap(&mut other), Err(WrongLength));
            assert!(other.iter().all(|&b| b == 0xCD));
        }
        assert_eq!(dirty[..23].iter().filter(|&&b| b == 0xAB).count(), 0);
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
            if let Ok(row) = LoggedRow::new(natts, nulls, &b) {
                let t = row.to_heap();
                prop_assert_eq!(t.len(), row.heap_len());
                prop_assert_eq!(t[22] as usize % 8, 0);
                prop_assert!(t.len() >= t[22] as usize);
                // written over any prior contents, the same tuple
                let mut dirty = vec![0x5A; row.heap_len()];
                row.write_heap(&mut dirty).unwrap();
                prop_assert_eq!(dirty, t);
            }
        }
    }
}
