//! RM_BTREE_ID (11) records. Mirrors PostgreSQL 15-18 `src/include/access/nbtxlog.h`;
//! names from `btree_identify` in `src/backend/access/rmgrdesc/nbtdesc.c`, index tuple
//! headers from `src/include/access/itup.h`.
//!
//! PG15 main data:
//! * INSERT_LEAF / INSERT_UPPER / INSERT_META / INSERT_POST `xl_btree_insert
//!   {u16 offnum}`; block 0: (INSERT_POST: `u16 postingoff`) then the new index tuple;
//!   INSERT_META block 2: `xl_btree_metadata`.
//! * SPLIT_L / SPLIT_R `xl_btree_split {u32 level; u16 firstrightoff; u16 newitemoff;
//!   u16 postingoff}`; block 0: newitem / orignewitem (if logged) and the left page's
//!   new high key; block 1: the right page's tuples.
//! * DEDUP `xl_btree_dedup {u16 nintervals}`; block 0: `BTDedupInterval {u16 baseoff;
//!   u16 nitems}[]`.
//! * VACUUM `xl_btree_vacuum {u16 ndeleted; u16 nupdated}`, DELETE `xl_btree_delete
//!   {u32 latestRemovedXid; u16 ndeleted; u16 nupdated}` (PG16: snapshotConflictHorizon
//!   and isCatalogRel); block 0: deleted offsets, updated offsets, then per updated tuple
//!   `xl_btree_update {u16 ndeletedtids}` + u16 posting-list offsets.
//! * MARK_PAGE_HALFDEAD `xl_btree_mark_page_halfdead {u16 poffset; u32 leafblk (@4);
//!   u32 leftblk; u32 rightblk; u32 topparent}`.
//! * UNLINK_PAGE(_META) `xl_btree_unlink_page {u32 leftsib; u32 rightsib; u32 level;
//!   FullTransactionId safexid (@16); u32 leafleftsib; u32 leafrightsib;
//!   u32 leaftopparent}`; _META block 4: `xl_btree_metadata`.
//! * NEWROOT `xl_btree_newroot {u32 rootblk; u32 level}`; block 0: the root's tuples;
//!   block 2: `xl_btree_metadata`.
//! * REUSE_PAGE `xl_btree_reuse_page {RelFileNode node; u32 block;
//!   FullTransactionId latestRemovedFullXid (@16)}` (PG16: locator,
//!   snapshotConflictHorizon, isCatalogRel).
//! * META_CLEANUP: no main data; block 0: `xl_btree_metadata {u32 version; u32 root;
//!   u32 level; u32 fastroot; u32 fastlevel; u32 last_cleanup_num_delpages;
//!   bool allequalimage}`.
//!
//! PostgreSQL 16 changed two records: DELETE became `{u32 snapshotConflictHorizon;
//! u16 ndeleted; u16 nupdated; bool isCatalogRel}` (SizeOfBtreeDelete 9) and
//! REUSE_PAGE `{RelFileLocator locator; u32 block; FullTransactionId
//! snapshotConflictHorizon (@16); bool isCatalogRel (@24)}` (SizeOfBtreeReusePage 25).
//! 17's and 18's formats are 16's.

use super::reader::{Reader, Res};
use super::{block, record_type, BlockRef, ItemPointer, Out, PgVersion, RelFile, XLR_INFO_MASK};
use serde::Serialize;
use serde_json::Value;

pub const XLOG_BTREE_INSERT_LEAF: u8 = 0x00;
pub const XLOG_BTREE_INSERT_UPPER: u8 = 0x10;
pub const XLOG_BTREE_INSERT_META: u8 = 0x20;
pub const XLOG_BTREE_SPLIT_L: u8 = 0x30;
pub const XLOG_BTREE_SPLIT_R: u8 = 0x40;
pub const XLOG_BTREE_INSERT_POST: u8 = 0x50;
pub const XLOG_BTREE_DEDUP: u8 = 0x60;
pub const XLOG_BTREE_DELETE: u8 = 0x70;
pub const XLOG_BTREE_UNLINK_PAGE: u8 = 0x80;
pub const XLOG_BTREE_UNLINK_PAGE_META: u8 = 0x90;
pub const XLOG_BTREE_NEWROOT: u8 = 0xA0;
pub const XLOG_BTREE_MARK_PAGE_HALFDEAD: u8 = 0xB0;
pub const XLOG_BTREE_VACUUM: u8 = 0xC0;
pub const XLOG_BTREE_REUSE_PAGE: u8 = 0xD0;
pub const XLOG_BTREE_META_CLEANUP: u8 = 0xE0;

/// IndexTupleData.t_info bits (itup.h); nbtree calls the AM bit INDEX_ALT_TID_MASK.
const INDEX_SIZE_MASK: u16 = 0x1FFF;
const INDEX_INFO_FLAGS: &[(u64, &str)] = &[
    (0x2000, "INDEX_ALT_TID_MASK"),
    (0x4000, "INDEX_VAR_MASK"),
    (0x8000, "INDEX_NULL_MASK"),
];
/// sizeof(IndexTupleData).
const SIZEOF_INDEX_TUPLE: usize = 8;
const MAXALIGN: usize = glassheap_format::MAXALIGN;

/// `btree_identify`.
pub fn identify(info: u8) -> Option<&'static str> {
    Some(match info & !XLR_INFO_MASK {
        XLOG_BTREE_INSERT_LEAF => "INSERT_LEAF",
        XLOG_BTREE_INSERT_UPPER => "INSERT_UPPER",
        XLOG_BTREE_INSERT_META => "INSERT_META",
        XLOG_BTREE_SPLIT_L => "SPLIT_L",
        XLOG_BTREE_SPLIT_R => "SPLIT_R",
        XLOG_BTREE_INSERT_POST => "INSERT_POST",
        XLOG_BTREE_DEDUP => "DEDUP",
        XLOG_BTREE_VACUUM => "VACUUM",
        XLOG_BTREE_DELETE => "DELETE",
        XLOG_BTREE_MARK_PAGE_HALFDEAD => "MARK_PAGE_HALFDEAD",
        XLOG_BTREE_UNLINK_PAGE => "UNLINK_PAGE",
        XLOG_BTREE_UNLINK_PAGE_META => "UNLINK_PAGE_META",
        XLOG_BTREE_NEWROOT => "NEWROOT",
        XLOG_BTREE_REUSE_PAGE => "REUSE_PAGE",
        XLOG_BTREE_META_CLEANUP => "META_CLEANUP",
        _ => return None,
    })
}

pub(crate) fn decode(v: PgVersion, info: u8, main: &[u8], blocks: &[BlockRef<'_>]) -> Value {
    let mut out = Out::new(record_type(identify(info), info));
    let res = decode_into(v, info, main, blocks, &mut out);
    out.finish(res)
}

/// An index tuple's header (`IndexTupleData`) and the size its t_info gives.
#[derive(Debug, Serialize)]
struct IndexTuple {
    t_tid: ItemPointer,
    t_info: u16,
    size: u16,
    flags: Vec<String>,
}

/// One index tuple of exactly IndexTupleSize bytes.
fn read_index_tuple(r: &mut Reader<'_>) -> Res<IndexTuple> {
    let t_tid = ItemPointer::read(r, "t_tid")?;
    let t_info = r.get_u16("t_info")?;
    let size = t_info & INDEX_SIZE_MASK;
    let body = usize::from(size)
        .checked_sub(SIZEOF_INDEX_TUPLE)
        .ok_or_else(|| {
            r.err(format_args!(
                "index tuple size {size} < {SIZEOF_INDEX_TUPLE}"
            ))
        })?;
    r.skip(body, "index tuple (t_info size)")?;
    Ok(IndexTuple {
        t_tid,
        t_info,
        size,
        flags: super::flag_names((t_info & !INDEX_SIZE_MASK).into(), INDEX_INFO_FLAGS),
    })
}

/// Index tuples laid out back to back, each MAXALIGNed, the way `_bt_restore_page`
/// walks them (also fits the split record's left-page items). A partial list is kept
/// on error; the loop is bounded by the data since each tuple takes >= 8 bytes.
fn read_index_tuples(r: &mut Reader<'_>, o: &mut Out) -> Res<()> {
    let mut tuples = Vec::new();
    let mut res = Ok(());
    while r.remaining() > 0 {
        match read_index_tuple(r) {
            Ok(t) => {
                let pad = usize::from(t.size).next_multiple_of(MAXALIGN) - usize::from(t.size);
                r.skip_upto(pad);
                tuples.push(t);
            }
            Err(e) => {
                res = Err(e);
                break;
            }
        }
    }
    o.put("ntuples", tuples.len());
    o.put("tuples", tuples);
    res
}

/// `xl_btree_metadata` (25 bytes of fields; sizeof 28 is what nbtree logs).
fn read_metadata(r: &mut Reader<'_>, o: &mut Out) -> Res<()> {
    for f in [
        "version",
        "root",
        "level",
        "fastroot",
        "fastlevel",
        "last_cleanup_num_delpages",
    ] {
        o.set(f, r.get_u32(f)?);
    }
    o.set("allequalimage", r.get_bool("allequalimage")?);
    r.skip_upto(3);
    Ok(())
}

#[derive(Debug, Serialize)]
struct Update {
    offnum: u16,
    ndeletedtids: u16,
    ptids: Vec<u16>,
}

#[derive(Debug, Serialize)]
struct DedupInterval {
    baseoff: u16,
    nitems: u16,
}

/// Block 0 of VACUUM / DELETE: deleted offsets, updated offsets, xl_btree_update list.
fn read_delvacuum(r: &mut Reader<'_>, o: &mut Out, ndeleted: u16, nupdated: u16) -> Res<()> {
    o.put("deleted", r.get_u16_vec(ndeleted.into(), "ndeleted")?);
    let updated = r.get_u16_vec(nupdated.into(), "nupdated")?;
    // each xl_btree_update takes at least 2 bytes
    r.check_count(nupdated.into(), 2, "nupdated")?;
    let mut updates = Vec::with_capacity(updated.len());
    for off in updated {
        let n = r.get_u16("ndeletedtids")?;
        updates.push(Update {
            offnum: off,
            ndeletedtids: n,
            ptids: r.get_u16_vec(n.into(), "ndeletedtids")?,
        });
    }
    o.put("updated", updates);
    Ok(())
}

fn decode_into(
    v: PgVersion,
    info: u8,
    main: &[u8],
    blocks: &[BlockRef<'_>],
    out: &mut Out,
) -> Res<()> {
    let op = info & !XLR_INFO_MASK;
    let horizon = if v.locators() {
        "snapshotConflictHorizon"
    } else {
        "latestRemovedXid"
    };
    match op {
        XLOG_BTREE_INSERT_LEAF
        | XLOG_BTREE_INSERT_UPPER
        | XLOG_BTREE_INSERT_META
        | XLOG_BTREE_INSERT_POST => {
            let mut r = Reader::new(main, "xl_btree_insert");
            out.set("offnum", r.get_u16("offnum")?);
            out.trailing(&r);
            block(out, blocks, 0, "xl_btree_insert block 0", |r, o| {
                if op == XLOG_BTREE_INSERT_POST {
                    o.set("postingoff", r.get_u16("postingoff")?);
                }
                o.merge(read_index_tuple(r)?);
                Ok(())
            });
            if op == XLOG_BTREE_INSERT_META {
                block(out, blocks, 2, "xl_btree_metadata", read_metadata);
            }
        }
        XLOG_BTREE_SPLIT_L | XLOG_BTREE_SPLIT_R => {
            let mut r = Reader::new(main, "xl_btree_split");
            out.set("level", r.get_u32("level")?);
            out.set("firstrightoff", r.get_u16("firstrightoff")?);
            out.set("newitemoff", r.get_u16("newitemoff")?);
            out.set("postingoff", r.get_u16("postingoff")?);
            out.trailing(&r);
            block(out, blocks, 0, "xl_btree_split block 0", read_index_tuples);
            block(out, blocks, 1, "xl_btree_split block 1", read_index_tuples);
        }
        XLOG_BTREE_DEDUP => {
            let mut r = Reader::new(main, "xl_btree_dedup");
            let n = r.get_u16("nintervals")?;
            out.set("nintervals", n);
            out.trailing(&r);
            block(out, blocks, 0, "xl_btree_dedup block 0", |r, o| {
                let n = r.check_count(n.into(), 4, "nintervals")?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(DedupInterval {
                        baseoff: r.get_u16("baseoff")?,
                        nitems: r.get_u16("nitems")?,
                    });
                }
                o.put("intervals", v);
                Ok(())
            });
        }
        XLOG_BTREE_VACUUM | XLOG_BTREE_DELETE => {
            let (what, bwhat) = if op == XLOG_BTREE_DELETE {
                ("xl_btree_delete", "xl_btree_delete block 0")
            } else {
                ("xl_btree_vacuum", "xl_btree_vacuum block 0")
            };
            let mut r = Reader::new(main, what);
            if op == XLOG_BTREE_DELETE {
                out.set(horizon, r.get_u32(horizon)?);
            }
            let ndeleted = r.get_u16("ndeleted")?;
            out.set("ndeleted", ndeleted);
            let nupdated = r.get_u16("nupdated")?;
            out.set("nupdated", nupdated);
            if op == XLOG_BTREE_DELETE && v.locators() {
                out.set("isCatalogRel", r.get_bool("isCatalogRel")?);
            }
            out.trailing(&r);
            block(out, blocks, 0, bwhat, |r, o| {
                read_delvacuum(r, o, ndeleted, nupdated)
            });
        }
        XLOG_BTREE_MARK_PAGE_HALFDEAD => {
            let mut r = Reader::new(main, "xl_btree_mark_page_halfdead");
            out.set("poffset", r.get_u16("poffset")?);
            r.align(4, "leafblk")?;
            for f in ["leafblk", "leftblk", "rightblk", "topparent"] {
                out.set(f, r.get_u32(f)?);
            }
            out.trailing(&r);
        }
        XLOG_BTREE_UNLINK_PAGE | XLOG_BTREE_UNLINK_PAGE_META => {
            let mut r = Reader::new(main, "xl_btree_unlink_page");
            for f in ["leftsib", "rightsib", "level"] {
                out.set(f, r.get_u32(f)?);
            }
            r.align(8, "safexid")?;
            out.full_xid("safexid", r.get_u64("safexid")?);
            for f in ["leafleftsib", "leafrightsib", "leaftopparent"] {
                out.set(f, r.get_u32(f)?);
            }
            // sizeof is 40, SizeOfBtreeUnlinkPage 36
            r.skip_upto(4);
            out.trailing(&r);
            if op == XLOG_BTREE_UNLINK_PAGE_META {
                block(out, blocks, 4, "xl_btree_metadata", read_metadata);
            }
        }
        XLOG_BTREE_NEWROOT => {
            let mut r = Reader::new(main, "xl_btree_newroot");
            out.set("rootblk", r.get_u32("rootblk")?);
            out.set("level", r.get_u32("level")?);
            out.trailing(&r);
            block(
                out,
                blocks,
                0,
                "xl_btree_newroot block 0",
                read_index_tuples,
            );
            block(out, blocks, 2, "xl_btree_metadata", read_metadata);
        }
        XLOG_BTREE_REUSE_PAGE => {
            let mut r = Reader::new(main, "xl_btree_reuse_page");
            let node = if v.locators() { "locator" } else { "node" };
            out.set(node, RelFile::read(v, &mut r, node)?);
            out.set("block", r.get_u32("block")?);
            r.align(8, "snapshotConflictHorizon")?;
            if v.locators() {
                out.full_xid(
                    "snapshotConflictHorizon",
                    r.get_u64("snapshotConflictHorizon")?,
                );
                out.set("isCatalogRel", r.get_bool("isCatalogRel")?);
                // sizeof is 32, SizeOfBtreeReusePage 25
                r.skip_upto(7);
            } else {
                out.full_xid("latestRemovedFullXid", r.get_u64("latestRemovedFullXid")?);
            }
            out.trailing(&r);
        }
        XLOG_BTREE_META_CLEANUP => {
            out.trailing(&Reader::new(main, "XLOG_BTREE_META_CLEANUP"));
            block(out, blocks, 0, "xl_btree_metadata", read_metadata);
        }
        _ => out.put("undecoded", true),
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::testutil::{ok, Sample, W};
    use super::super::RM_BTREE_ID;
    use super::*;
    use serde_json::json;

    /// An index tuple of `size` bytes (header included), then MAXALIGN padding.
    fn itup(w: W, block: u32, off: u16, size: u16, flags: u16) -> W {
        let w = w.tid(block, off).u16(size | flags);
        w.bytes(&vec![0x5A; usize::from(size) - 8]).pad(8)
    }

    fn metadata() -> Vec<u8> {
        W::new()
            .u32(4)
            .u32(3)
            .u32(1)
            .u32(3)
            .u32(1)
            .u32(0)
            .u8(1)
            .pad(4)
            .build()
    }

    fn insert(op: u8) -> Sample {
        let mut w = W::new();
        if op == XLOG_BTREE_INSERT_POST {
            w = w.u16(3);
        }
        let blk = w.tid(7, 2).u16(16).bytes(&[1; 8]).build();
        let s = Sample::new(RM_BTREE_ID, op, W::new().u16(5).build()).data(0, blk);
        match op {
            XLOG_BTREE_INSERT_UPPER => s.nodata(1),
            XLOG_BTREE_INSERT_META => s.nodata(1).data(2, metadata()),
            _ => s,
        }
    }

    fn split(op: u8) -> Sample {
        let main = W::new().u32(0).u16(4).u16(6).u16(0).build();
        let left = itup(itup(W::new(), 1, 1, 16, 0), 0, 0, 12, 0x4000).build();
        let right = itup(
            itup(itup(W::new(), 2, 1, 16, 0), 3, 1, 16, 0),
            4,
            1,
            24,
            0x2000,
        )
        .build();
        Sample::new(RM_BTREE_ID, op, main)
            .data(0, left)
            .data(1, right)
            .nodata(2)
    }

    fn dedup() -> Sample {
        let main = W::new().u16(2).build();
        let blk = W::new().u16(1).u16(3).u16(5).u16(2).build();
        Sample::new(RM_BTREE_ID, XLOG_BTREE_DEDUP, main).data(0, blk)
    }

    fn delvac_block() -> Vec<u8> {
        W::new().u16(2).u16(3).u16(7).u16(2).u16(0).u16(4).build()
    }

    fn vacuum() -> Sample {
        let main = W::new().u16(2).u16(1).build();
        Sample::new(RM_BTREE_ID, XLOG_BTREE_VACUUM, main).data(0, delvac_block())
    }

    fn delete() -> Sample {
        let main = W::new().u32(733).u16(2).u16(1).build();
        Sample::new(RM_BTREE_ID, XLOG_BTREE_DELETE, main).data(0, delvac_block())
    }

    fn unlink(op: u8) -> Sample {
        let main = W::new()
            .u32(2)
            .u32(4)
            .u32(0)
            .pad(8)
            .u64((1u64 << 32) | 900)
            .u32(0)
            .u32(0)
            .u32(0)
            .pad(8)
            .build();
        let s = Sample::new(RM_BTREE_ID, op, main)
            .nodata(0)
            .nodata(1)
            .nodata(2);
        if op == XLOG_BTREE_UNLINK_PAGE_META {
            s.data(4, metadata())
        } else {
            s
        }
    }

    fn newroot() -> Sample {
        let main = W::new().u32(3).u32(1).build();
        let blk = itup(itup(W::new(), 1, 0, 8, 0x2000), 2, 0, 16, 0x2000).build();
        Sample::new(RM_BTREE_ID, XLOG_BTREE_NEWROOT, main)
            .data(0, blk)
            .nodata(1)
            .data(2, metadata())
    }

    fn halfdead() -> Sample {
        let main = W::new().u16(3).pad(4).u32(10).u32(9).u32(11).u32(1).build();
        Sample::new(RM_BTREE_ID, XLOG_BTREE_MARK_PAGE_HALFDEAD, main)
            .nodata(0)
            .nodata(1)
    }

    fn reuse() -> Sample {
        let main = W::new()
            .rnode(1663, 5, 16390)
            .u32(17)
            .u64((3u64 << 32) | 1000)
            .build();
        Sample::new(RM_BTREE_ID, XLOG_BTREE_REUSE_PAGE, main)
    }

    fn meta_cleanup() -> Sample {
        Sample::new(RM_BTREE_ID, XLOG_BTREE_META_CLEANUP, Vec::new()).data(0, metadata())
    }

    /// PostgreSQL 16's DELETE: the horizon renamed, isCatalogRel after nupdated.
    fn delete_16() -> Sample {
        let main = W::new().u32(733).u16(2).u16(1).u8(1).build();
        assert_eq!(main.len(), 9);
        Sample::new(RM_BTREE_ID, XLOG_BTREE_DELETE, main)
            .data(0, delvac_block())
            .at(PgVersion::V16)
    }

    /// PostgreSQL 16's REUSE_PAGE (SizeOfBtreeReusePage 25).
    fn reuse_16() -> Sample {
        let main = W::new()
            .rnode(1663, 5, 16390)
            .u32(17)
            .u64((3u64 << 32) | 1000)
            .u8(0)
            .build();
        assert_eq!(main.len(), 25);
        Sample::new(RM_BTREE_ID, XLOG_BTREE_REUSE_PAGE, main).at(PgVersion::V16)
    }

    pub(crate) fn samples() -> Vec<Sample> {
        let mut v = vec![delete_16(), reuse_16()];
        for later in [PgVersion::V17, PgVersion::V18] {
            v.extend([delete_16(), reuse_16()].map(|s| s.at(later)));
        }
        for later in [PgVersion::V16, PgVersion::V17, PgVersion::V18] {
            v.extend(
                [
                    insert(XLOG_BTREE_INSERT_LEAF),
                    split(XLOG_BTREE_SPLIT_L),
                    dedup(),
                    vacuum(),
                    unlink(XLOG_BTREE_UNLINK_PAGE_META),
                    newroot(),
                    meta_cleanup(),
                ]
                .map(|s| s.at(later)),
            );
        }
        v.extend([
            insert(XLOG_BTREE_INSERT_LEAF),
            insert(XLOG_BTREE_INSERT_UPPER),
            insert(XLOG_BTREE_INSERT_META),
            insert(XLOG_BTREE_INSERT_POST),
            split(XLOG_BTREE_SPLIT_L),
            split(XLOG_BTREE_SPLIT_R),
            dedup(),
            vacuum(),
            delete(),
            unlink(XLOG_BTREE_UNLINK_PAGE),
            unlink(XLOG_BTREE_UNLINK_PAGE_META),
            newroot(),
            halfdead(),
            reuse(),
            meta_cleanup(),
        ]);
        v
    }

    fn meta_json() -> Value {
        json!({"version": 4, "root": 3, "level": 1, "fastroot": 3, "fastlevel": 1,
               "last_cleanup_num_delpages": 0, "allequalimage": true})
    }

    #[test]
    fn delete_and_reuse_from_16() {
        let v = ok(delete_16().decode());
        assert_eq!(v["snapshot_conflict_horizon"], 733);
        assert!(v.get("latest_removed_xid").is_none());
        assert_eq!(v["ndeleted"], 2);
        assert_eq!(v["nupdated"], 1);
        assert_eq!(v["is_catalog_rel"], true);
        assert_eq!(v["block0"], ok(delete().decode())["block0"]);
        let v = ok(reuse_16().decode());
        assert_eq!(
            v["locator"],
            json!({"spc_oid": 1663, "db_oid": 5, "rel_number": 16390})
        );
        assert_eq!(v["block"], 17);
        assert_eq!(v["snapshot_conflict_horizon_text"], "3:1000");
        assert_eq!(v["is_catalog_rel"], false);
        // 15's reading of 16's DELETE has a byte left over
        let mut s = delete_16();
        s.version = PgVersion::V15;
        assert_eq!(s.decode()["trailing_bytes"], 1);
    }

    #[test]
    fn inserts() {
        for (op, name) in [
            (XLOG_BTREE_INSERT_LEAF, "INSERT_LEAF"),
            (XLOG_BTREE_INSERT_UPPER, "INSERT_UPPER"),
            (XLOG_BTREE_INSERT_META, "INSERT_META"),
            (XLOG_BTREE_INSERT_POST, "INSERT_POST"),
        ] {
            let v = ok(insert(op).decode());
            assert_eq!(v["record_type"], name);
            assert_eq!(v["offnum"], 5);
            let b = &v["block0"];
            assert_eq!(b["t_tid"], json!({"block": 7, "offset": 2}));
            assert_eq!(b["size"], 16);
            assert_eq!(b["flags"], json!([]));
            if op == XLOG_BTREE_INSERT_POST {
                assert_eq!(b["postingoff"], 3);
            } else {
                assert!(b.get("postingoff").is_none());
            }
            if op == XLOG_BTREE_INSERT_META {
                assert_eq!(v["block2"], meta_json());
            } else {
                assert!(v.get("block2").is_none());
            }
        }
    }

    #[test]
    fn splits() {
        for (op, name) in [
            (XLOG_BTREE_SPLIT_L, "SPLIT_L"),
            (XLOG_BTREE_SPLIT_R, "SPLIT_R"),
        ] {
            let v = ok(split(op).decode());
            assert_eq!(v["record_type"], name);
            assert_eq!(v["level"], 0);
            assert_eq!(v["firstrightoff"], 4);
            assert_eq!(v["newitemoff"], 6);
            assert_eq!(v["postingoff"], 0);
            assert_eq!(v["block0"]["ntuples"], 2);
            assert_eq!(v["block0"]["tuples"][1]["size"], 12);
            assert_eq!(v["block0"]["tuples"][1]["flags"], json!(["INDEX_VAR_MASK"]));
            assert_eq!(v["block1"]["ntuples"], 3);
            assert_eq!(v["block1"]["tuples"][2]["t_tid"]["block"], 4);
            assert_eq!(
                v["block1"]["tuples"][2]["flags"],
                json!(["INDEX_ALT_TID_MASK"])
            );
        }
        // a tuple whose size is below the header size
        let mut s = split(XLOG_BTREE_SPLIT_L);
        s.blocks[1].1.as_mut().unwrap()[22] = 4;
        let v = s.decode();
        assert_eq!(v["block1"]["ntuples"], 1);
        assert!(v["error"].as_str().unwrap().contains("size 4 < 8"), "{v}");
    }

    #[test]
    fn dedup_intervals() {
        let v = ok(dedup().decode());
        assert_eq!(v["record_type"], "DEDUP");
        assert_eq!(v["nintervals"], 2);
        assert_eq!(
            v["block0"]["intervals"],
            json!([{"baseoff": 1, "nitems": 3}, {"baseoff": 5, "nitems": 2}])
        );
    }

    #[test]
    fn vacuum_and_delete() {
        let v = ok(vacuum().decode());
        assert_eq!(v["record_type"], "VACUUM");
        assert_eq!(v["ndeleted"], 2);
        assert_eq!(v["nupdated"], 1);
        assert_eq!(v["block0"]["deleted"], json!([2, 3]));
        assert_eq!(
            v["block0"]["updated"],
            json!([{"offnum": 7, "ndeletedtids": 2, "ptids": [0, 4]}])
        );
        let v = ok(delete().decode());
        assert_eq!(v["record_type"], "DELETE");
        assert_eq!(v["latest_removed_xid"], 733);
        assert_eq!(v["block0"]["updated"][0]["ptids"], json!([0, 4]));
        // ndeletedtids larger than the block
        let mut s = delete();
        s.blocks[0].1.as_mut().unwrap()[6] = 0xFF;
        let v = s.decode();
        assert!(v["block0"]["error"]
            .as_str()
            .unwrap()
            .contains("ndeletedtids = 255"));
    }

    #[test]
    fn unlink_pages() {
        let v = ok(unlink(XLOG_BTREE_UNLINK_PAGE).decode());
        assert_eq!(v["record_type"], "UNLINK_PAGE");
        assert_eq!(v["leftsib"], 2);
        assert_eq!(v["rightsib"], 4);
        assert_eq!(v["level"], 0);
        assert_eq!(v["safexid"], (1u64 << 32) | 900);
        assert_eq!(v["safexid_text"], "1:900");
        assert_eq!(v["leaftopparent"], 0);
        assert!(v.get("block4").is_none());
        let v = ok(unlink(XLOG_BTREE_UNLINK_PAGE_META).decode());
        assert_eq!(v["record_type"], "UNLINK_PAGE_META");
        assert_eq!(v["block4"], meta_json());
    }

    #[test]
    fn newroot_and_halfdead() {
        let v = ok(newroot().decode());
        assert_eq!(v["record_type"], "NEWROOT");
        assert_eq!(v["rootblk"], 3);
        assert_eq!(v["level"], 1);
        assert_eq!(v["block0"]["ntuples"], 2);
        assert_eq!(v["block0"]["tuples"][0]["size"], 8);
        assert_eq!(v["block2"], meta_json());
        let v = ok(halfdead().decode());
        assert_eq!(v["record_type"], "MARK_PAGE_HALFDEAD");
        assert_eq!(v["poffset"], 3);
        assert_eq!(v["leafblk"], 10);
        assert_eq!(v["leftblk"], 9);
        assert_eq!(v["rightblk"], 11);
        assert_eq!(v["topparent"], 1);
    }

    #[test]
    fn reuse_and_meta_cleanup() {
        let v = ok(reuse().decode());
        assert_eq!(v["record_type"], "REUSE_PAGE");
        assert_eq!(
            v["node"],
            json!({"spc_node": 1663, "db_node": 5, "rel_node": 16390})
        );
        assert_eq!(v["block"], 17);
        assert_eq!(v["latest_removed_full_xid_text"], "3:1000");
        let v = ok(meta_cleanup().decode());
        assert_eq!(v["record_type"], "META_CLEANUP");
        assert_eq!(v["block0"], meta_json());
        let v = ok(
            Sample::new(RM_BTREE_ID, XLOG_BTREE_META_CLEANUP, Vec::new())
                .image(0)
                .decode(),
        );
        assert_eq!(v["block0"], json!({ "fpi": true }));
    }

    #[test]
    fn unknown_opcode() {
        let v = super::super::decode(PgVersion::V15, RM_BTREE_ID, 0xF0, 0, &[], &[]);
        assert_eq!(v["record_type"], "UNKNOWN (f0)");
        assert_eq!(v["undecoded"], true);
    }
}
