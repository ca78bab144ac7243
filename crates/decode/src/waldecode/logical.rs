//! The logical view of a WAL record: the row changes logical decoding makes of it, with
//! the tuples as heap tuples (23-byte header, null bitmap, data), for heap's INSERT,
//! MULTI_INSERT, UPDATE, HOT_UPDATE, DELETE and CONFIRM records and glassheap's DML
//! records alike. `glassheap.wal_records()` and `glassheap.trace()` turn the tuples into
//! column values with the relation's descriptor, so a reader sees one change as WAL bytes
//! and as a subscriber receives it.
//!
//! The rules are decode.c's (heap) and `src/rmgr/decode.rs`'s (glassheap): a heap INSERT,
//! MULTI_INSERT or UPDATE without `XLH_*_CONTAINS_NEW_TUPLE`, and a glassheap record
//! without a logical part, decode to nothing (their relation was not logically logged
//! when they were written). Heap's DELETE decodes always, with the old row when logged.

use super::heap::{
    XLH_DELETE_CONTAINS_OLD_KEY, XLH_DELETE_CONTAINS_OLD_TUPLE, XLH_DELETE_IS_SUPER,
    XLH_INSERT_CONTAINS_NEW_TUPLE, XLH_INSERT_IS_SPECULATIVE, XLH_INSERT_LAST_IN_MULTI,
    XLH_UPDATE_CONTAINS_NEW_TUPLE, XLH_UPDATE_CONTAINS_OLD_KEY, XLH_UPDATE_CONTAINS_OLD_TUPLE,
    XLOG_HEAP_CONFIRM, XLOG_HEAP_DELETE, XLOG_HEAP_HOT_UPDATE, XLOG_HEAP_INSERT, XLOG_HEAP_OPMASK,
    XLOG_HEAP_UPDATE,
};
use super::BlockRef;
pub use glassheap_format::logical::{glassheap, Action, Change, OldKind, View};
use glassheap_format::logical::{need, HEAP_TUPLE_HEADER_SIZE, NOT_LOGGED};
use glassheap_format::records;

use super::{RM_HEAP2_ID, RM_HEAP_ID};
const XLOG_HEAP2_MULTI_INSERT: u8 = 0x50;
/// sizeof(xl_heap_header): t_infomask2, t_infomask, t_hoff.
pub(crate) const SIZE_OF_HEAP_HEADER: usize = 5;
/// offsetof(xl_heap_multi_insert_tuple, t_hoff) + 1.
pub(crate) const SIZE_OF_MULTI_INSERT_TUPLE: usize = 7;
const SIZE_OF_HEAP_DELETE: usize = 8;
const SIZE_OF_HEAP_UPDATE: usize = 14;

/// The logical view of a record, or None for records that change no row (heap's LOCK,
/// PRUNE, VACUUM..., glassheap's LOCK, PRUNE..., every other resource manager).
pub fn view(rmid: u8, info: u8, main: &[u8], blocks: &[BlockRef<'_>]) -> Option<View> {
    let block0 = || blocks.iter().find(|b| b.block_id == 0).and_then(|b| b.data);
    let r = match rmid {
        RM_HEAP_ID => heap(info & XLOG_HEAP_OPMASK, main, block0())?,
        RM_HEAP2_ID if info & 0x70 == XLOG_HEAP2_MULTI_INSERT => heap_multi_insert(main, block0()),
        records::RMGR_ID => glassheap(info & records::XLOG_GH_OPMASK, main, block0())?,
        _ => return None,
    };
    Some(r.unwrap_or_else(View::Corrupt))
}

/// A heap tuple from `xl_heap_header` + data, as decode.c's DecodeXLogTuple builds it.
fn from_xl_heap_header(b: &[u8], what: &str) -> Result<Vec<u8>, String> {
    if b.len() < SIZE_OF_HEAP_HEADER {
        return Err(format!(
            "{what}: {} bytes, shorter than xl_heap_header",
            b.len()
        ));
    }
    let mut t = vec![0u8; HEAP_TUPLE_HEADER_SIZE + b.len() - SIZE_OF_HEAP_HEADER];
    // xl_heap_header is logged in the machine's byte order, like the tuple header.
    t[18..20].copy_from_slice(&b[0..2]);
    t[20..22].copy_from_slice(&b[2..4]);
    t[22] = b[4];
    t[HEAP_TUPLE_HEADER_SIZE..].copy_from_slice(&b[SIZE_OF_HEAP_HEADER..]);
    Ok(t)
}

fn old_of(
    flags: u8,
    key: u8,
    full: u8,
    rest: &[u8],
    what: &str,
) -> Result<Option<(OldKind, Vec<u8>)>, String> {
    let kind = if flags & full != 0 {
        OldKind::Full
    } else if flags & key != 0 {
        OldKind::Key
    } else {
        return Ok(None);
    };
    Ok(Some((kind, from_xl_heap_header(rest, what)?)))
}

fn heap(op: u8, main: &[u8], block0: Option<&[u8]>) -> Option<Result<View, String>> {
    Some(match op {
        XLOG_HEAP_INSERT => (|| {
            let flags = *main.get(2).ok_or("xl_heap_insert: truncated")?;
            if flags & XLH_INSERT_CONTAINS_NEW_TUPLE == 0 {
                return Ok(View::NotDecoded(NOT_LOGGED));
            }
            let new = from_xl_heap_header(need(block0, "heap INSERT")?, "heap INSERT")?;
            let action = if flags & XLH_INSERT_IS_SPECULATIVE != 0 {
                Action::SpecInsert
            } else {
                Action::Insert
            };
            Ok(View::Changes(vec![Change {
                action,
                new: Some(new),
                old: None,
                clear_toast_afterwards: true,
            }]))
        })(),
        XLOG_HEAP_DELETE => (|| {
            if main.len() < SIZE_OF_HEAP_DELETE {
                return Err("xl_heap_delete: truncated".to_string());
            }
            let flags = main[7];
            let old = old_of(
                flags,
                XLH_DELETE_CONTAINS_OLD_KEY,
                XLH_DELETE_CONTAINS_OLD_TUPLE,
                &main[SIZE_OF_HEAP_DELETE..],
                "heap DELETE old row",
            )?;
            let action = if flags & XLH_DELETE_IS_SUPER != 0 {
                Action::SpecAbort
            } else {
                Action::Delete
            };
            Ok(View::Changes(vec![Change {
                action,
                new: None,
                old,
                clear_toast_afterwards: true,
            }]))
        })(),
        XLOG_HEAP_UPDATE | XLOG_HEAP_HOT_UPDATE => (|| {
            if main.len() < SIZE_OF_HEAP_UPDATE {
                return Err("xl_heap_update: truncated".to_string());
            }
            let flags = main[7];
            if flags & XLH_UPDATE_CONTAINS_NEW_TUPLE == 0 {
                return Ok(View::NotDecoded(NOT_LOGGED));
            }
            let new = from_xl_heap_header(need(block0, "heap UPDATE")?, "heap UPDATE")?;
            let old = old_of(
                flags,
                XLH_UPDATE_CONTAINS_OLD_KEY,
                XLH_UPDATE_CONTAINS_OLD_TUPLE,
                &main[SIZE_OF_HEAP_UPDATE..],
                "heap UPDATE old row",
            )?;
            Ok(View::Changes(vec![Change {
                action: Action::Update,
                new: Some(new),
                old,
                clear_toast_afterwards: true,
            }]))
        })(),
        XLOG_HEAP_CONFIRM => Ok(View::Changes(vec![Change {
            action: Action::SpecConfirm,
            new: None,
            old: None,
            clear_toast_afterwards: true,
        }])),
        _ => return None,
    })
}

fn heap_multi_insert(main: &[u8], block0: Option<&[u8]>) -> Result<View, String> {
    if main.len() < 4 {
        return Err("xl_heap_multi_insert: truncated".into());
    }
    if main[0] & XLH_INSERT_CONTAINS_NEW_TUPLE == 0 {
        return Ok(View::NotDecoded(NOT_LOGGED));
    }
    let n = u16::from_ne_bytes([main[2], main[3]]) as usize;
    let data = need(block0, "heap MULTI_INSERT")?;
    let mut at = 0usize;
    let mut changes = Vec::with_capacity(n);
    for i in 0..n {
        at = (at + 1) & !1; // SHORTALIGN (the block data starts MAXALIGNed)
        let hdr = data
            .get(at..at + SIZE_OF_MULTI_INSERT_TUPLE)
            .ok_or_else(|| format!("heap MULTI_INSERT: tuple {i} header truncated"))?;
        let len = u16::from_ne_bytes([hdr[0], hdr[1]]) as usize;
        at += SIZE_OF_MULTI_INSERT_TUPLE;
        let body = data
            .get(at..at + len)
            .ok_or_else(|| format!("heap MULTI_INSERT: tuple {i} data truncated"))?;
        let mut t = vec![0u8; HEAP_TUPLE_HEADER_SIZE + len];
        t[18..20].copy_from_slice(&hdr[2..4]);
        t[20..22].copy_from_slice(&hdr[4..6]);
        t[22] = hdr[6];
        t[HEAP_TUPLE_HEADER_SIZE..].copy_from_slice(body);
        at += len;
        changes.push(Change {
            action: Action::Insert,
            new: Some(t),
            old: None,
            clear_toast_afterwards: main[0] & XLH_INSERT_LAST_IN_MULTI != 0 && i + 1 == n,
        });
    }
    Ok(View::Changes(changes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassheap_format::records::InsertBlock;

    fn blk(data: &[u8]) -> Vec<BlockRef<'_>> {
        vec![BlockRef {
            block_id: 0,
            data: Some(data),
            has_image: false,
        }]
    }

    #[test]
    fn heap_insert_without_tuple_data_decodes_to_nothing() {
        let main = [1, 0, 0];
        assert_eq!(
            view(RM_HEAP_ID, XLOG_HEAP_INSERT, &main, &blk(&[0; 9])),
            Some(View::NotDecoded(NOT_LOGGED))
        );
    }

    /// The heap tuple of the only change, with HEAP_HASVARWIDTH cleared (glassheap's
    /// decoded tuples always have it; heap's for rows with a varlena column).
    fn only_tuple(v: Option<View>) -> Vec<u8> {
        let Some(View::Changes(c)) = v else {
            panic!("not a change: {v:?}")
        };
        let mut t = c[0].new.clone().unwrap();
        t[20] &= !0x02;
        t
    }

    #[test]
    fn heap_insert_and_glassheap_insert_agree() {
        // (int 5): heap logs xl_heap_header {natts 1, infomask XMAX_INVALID, hoff 24}
        // + 1 padding byte (tuple byte 23) + 4 data bytes; glassheap its body (4 bytes).
        let mut heap_block = Vec::new();
        heap_block.extend_from_slice(&1u16.to_ne_bytes());
        heap_block.extend_from_slice(&0x0800u16.to_ne_bytes());
        heap_block.push(24);
        heap_block.push(0);
        heap_block.extend_from_slice(&5i32.to_le_bytes());
        let h = view(
            RM_HEAP_ID,
            XLOG_HEAP_INSERT,
            &[1, 0, XLH_INSERT_CONTAINS_NEW_TUPLE],
            &blk(&heap_block),
        );
        let mut gh_block = Vec::new();
        InsertBlock {
            offnum: 1,
            natts: 1,
            has_nulls: false,
            init_page: false,
            vm_cleared: false,
            speculative: false,
            body: &5i32.to_le_bytes(),
        }
        .encode(&mut gh_block);
        let g = view(
            records::RMGR_ID,
            records::XLOG_GH_INSERT,
            &[0],
            &blk(&gh_block),
        );
        assert_eq!(only_tuple(h), only_tuple(g));
        assert_eq!(
            view(
                records::RMGR_ID,
                records::XLOG_GH_INSERT,
                &[],
                &blk(&gh_block)
            ),
            Some(View::NotDecoded(NOT_LOGGED))
        );
    }

    #[test]
    fn garbage_is_reported_not_panicked() {
        for rmid in [RM_HEAP_ID, RM_HEAP2_ID, records::RMGR_ID] {
            for info in (0..=0xF0u8).step_by(0x10) {
                for main in [&[][..], &[0xFF; 3][..], &[0xFF; 20][..]] {
                    let _ = view(rmid, info, main, &blk(&[0xFF; 11]));
                    let _ = view(rmid, info, main, &[]);
                }
            }
        }
    }

    #[test]
    fn lock_records_change_no_row() {
        assert_eq!(
            view(records::RMGR_ID, records::XLOG_GH_LOCK, &[], &[]),
            None
        );
        assert_eq!(view(RM_HEAP_ID, 0x60, &[0; 8], &[]), None);
    }
}
