//! RM_HEAP2_ID (9) records. Mirrors PostgreSQL 15 `src/include/access/heapam_xlog.h`
//! (the `XLOG_HEAP2_*` part); names follow `heap2_identify` in
//! `src/backend/access/rmgrdesc/heapdesc.c`.
//!
//! PG15 layouts; PostgreSQL 16 renamed latestRemovedXid / cutoff_xid to
//! snapshotConflictHorizon, added isCatalogRel and replaced per-tuple freeze records
//! with freeze plans; PostgreSQL 17 merged PRUNE / VACUUM / FREEZE_PAGE into the
//! PRUNE_* records. None of that is decoded here.
//! * REWRITE `xl_heap_rewrite_mapping {u32 mapped_xid; Oid mapped_db; Oid mapped_rel;
//!   off_t offset (@16); u32 num_mappings; XLogRecPtr start_lsn (@32)}` (40 bytes),
//!   then `num_mappings` × `LogicalRewriteMappingData` (36 bytes).
//! * PRUNE `xl_heap_prune {u32 latestRemovedXid; u16 nredirected; u16 ndead}`; block 0:
//!   OffsetNumber redirected[2 × nredirected], nowdead[ndead], nowunused[rest].
//! * VACUUM `xl_heap_vacuum {u16 nunused}`; block 0: nowunused[nunused].
//! * FREEZE_PAGE `xl_heap_freeze_page {u32 cutoff_xid; u16 ntuples}`; block 0:
//!   ntuples × `xl_heap_freeze_tuple {u32 xmax; u16 offset; u16 t_infomask2;
//!   u16 t_infomask; u8 frzflags}` (sizeof 12).
//! * VISIBLE `xl_heap_visible {u32 cutoff_xid; u8 flags}`.
//! * MULTI_INSERT `xl_heap_multi_insert {u8 flags; u16 ntuples (@2); u16 offsets[]}`
//!   (offsets omitted with XLOG_HEAP_INIT_PAGE); block 0: per tuple, 2-byte aligned,
//!   `xl_multi_insert_tuple {u16 datalen; u16 t_infomask2; u16 t_infomask; u8 t_hoff}`
//!   and `datalen` bytes of data.
//! * LOCK_UPDATED `xl_heap_lock_updated {u32 xmax; u16 offnum; u8 infobits_set;
//!   u8 flags}`.
//! * NEW_CID `xl_heap_new_cid {u32 top_xid; u32 cmin; u32 cmax; u32 combocid;
//!   RelFileNode target_node; ItemPointerData target_tid}` (34 bytes).

use super::heap::{HeapHeader, XLHL_INFOBITS, XLH_INSERT_FLAGS, XLH_LOCK_FLAGS};
use super::reader::{Reader, Res};
use super::{block, record_type, BlockRef, ItemPointer, Out, RelFileNode, XLR_INFO_MASK};
use serde::Serialize;
use serde_json::Value;

pub const XLOG_HEAP2_REWRITE: u8 = 0x00;
pub const XLOG_HEAP2_PRUNE: u8 = 0x10;
pub const XLOG_HEAP2_VACUUM: u8 = 0x20;
pub const XLOG_HEAP2_FREEZE_PAGE: u8 = 0x30;
pub const XLOG_HEAP2_VISIBLE: u8 = 0x40;
pub const XLOG_HEAP2_MULTI_INSERT: u8 = 0x50;
pub const XLOG_HEAP2_LOCK_UPDATED: u8 = 0x60;
pub const XLOG_HEAP2_NEW_CID: u8 = 0x70;
pub use super::heap::{XLOG_HEAP_INIT_PAGE, XLOG_HEAP_OPMASK};

/// `frzflags` of xl_heap_freeze_tuple (0x01 was XLH_FREEZE_XMIN before 9.4).
const XLH_FREEZE_FLAGS: &[(u64, &str)] = &[(0x02, "XLH_FREEZE_XVAC"), (0x04, "XLH_INVALID_XVAC")];

/// xl_heap_visible flags (`src/include/access/visibilitymapdefs.h`, PG15; PG16 added
/// VISIBILITYMAP_XLOG_CATALOG_REL 0x04).
const VISIBILITYMAP_FLAGS: &[(u64, &str)] = &[
    (0x01, "VISIBILITYMAP_ALL_VISIBLE"),
    (0x02, "VISIBILITYMAP_ALL_FROZEN"),
];

/// sizeof(xl_heap_freeze_tuple): 11 bytes of fields padded to 4-byte alignment.
const SIZEOF_FREEZE_TUPLE: usize = 12;
/// sizeof(LogicalRewriteMappingData) (`src/include/access/rewriteheap.h`): two
/// RelFileNodes and two ItemPointerData.
const SIZEOF_REWRITE_MAPPING: usize = 36;

/// `heap2_identify`.
pub fn identify(info: u8) -> Option<&'static str> {
    Some(match info & !XLR_INFO_MASK {
        0x00 => "REWRITE",
        0x10 => "PRUNE",
        0x20 => "VACUUM",
        0x30 => "FREEZE_PAGE",
        0x40 => "VISIBLE",
        0x50 => "MULTI_INSERT",
        0xD0 => "MULTI_INSERT+INIT",
        0x60 => "LOCK_UPDATED",
        0x70 => "NEW_CID",
        _ => return None,
    })
}

pub(crate) fn decode(info: u8, main: &[u8], blocks: &[BlockRef<'_>]) -> Value {
    let mut out = Out::new(record_type(identify(info), info));
    let res = decode_into(info, main, blocks, &mut out);
    out.finish(res)
}

#[derive(Debug, Serialize)]
struct RewriteMapping {
    old_node: RelFileNode,
    new_node: RelFileNode,
    old_tid: ItemPointer,
    new_tid: ItemPointer,
}

#[derive(Debug, Serialize)]
struct FreezeTuple {
    xmax: u32,
    offset: u16,
    t_infomask2: u16,
    t_infomask: u16,
    frzflags: u8,
    frzflag_names: Vec<String>,
    infomask_flags: Vec<String>,
    infomask2_flags: Vec<String>,
}

#[derive(Debug, Serialize)]
struct MultiInsertTuple {
    #[serde(skip_serializing_if = "Option::is_none")]
    offnum: Option<u16>,
    datalen: u16,
    #[serde(flatten)]
    header: HeapHeader,
}

fn decode_into(info: u8, main: &[u8], blocks: &[BlockRef<'_>], out: &mut Out) -> Res<()> {
    let init = info & XLOG_HEAP_INIT_PAGE != 0;
    if init {
        out.put("init_page", true);
    }
    match info & XLOG_HEAP_OPMASK {
        XLOG_HEAP2_REWRITE => {
            let mut r = Reader::new(main, "xl_heap_rewrite_mapping");
            out.set("mapped_xid", r.get_u32("mapped_xid")?);
            out.set("mapped_db", r.get_u32("mapped_db")?);
            out.set("mapped_rel", r.get_u32("mapped_rel")?);
            r.align(8, "offset")?;
            out.set("offset", r.get_i64("offset")?);
            let n = r.get_u32("num_mappings")?;
            out.set("num_mappings", n);
            r.align(8, "start_lsn")?;
            out.lsn("start_lsn", r.get_u64("start_lsn")?);
            let n = r.check_count(n.into(), SIZEOF_REWRITE_MAPPING, "num_mappings")?;
            let mut maps = Vec::with_capacity(n);
            for _ in 0..n {
                maps.push(RewriteMapping {
                    old_node: RelFileNode::read(&mut r, "old_node")?,
                    new_node: RelFileNode::read(&mut r, "new_node")?,
                    old_tid: ItemPointer::read(&mut r, "old_tid")?,
                    new_tid: ItemPointer::read(&mut r, "new_tid")?,
                });
            }
            out.put("mappings", maps);
            out.trailing(&r);
        }
        XLOG_HEAP2_PRUNE => {
            let mut r = Reader::new(main, "xl_heap_prune");
            out.set("latestRemovedXid", r.get_u32("latestRemovedXid")?);
            let nredirected = r.get_u16("nredirected")?;
            out.set("nredirected", nredirected);
            let ndead = r.get_u16("ndead")?;
            out.set("ndead", ndead);
            out.trailing(&r);
            block(out, blocks, 0, "xl_heap_prune block 0", |r, o| {
                let pairs = r.get_u16_vec(2 * u64::from(nredirected), "nredirected")?;
                let redirected: Vec<[u16; 2]> = pairs
                    .chunks_exact(2)
                    .filter_map(|c| match c {
                        [from, to] => Some([*from, *to]),
                        _ => None,
                    })
                    .collect();
                o.put("redirected", redirected);
                o.put("dead", r.get_u16_vec(ndead.into(), "ndead")?);
                if r.remaining() % 2 != 0 {
                    return Err(r.err(format_args!(
                        "odd length {} of the now-unused offsets",
                        r.remaining()
                    )));
                }
                let nunused = (r.remaining() / 2) as u64;
                o.put("nunused", nunused);
                o.put("unused", r.get_u16_vec(nunused, "nunused")?);
                Ok(())
            });
        }
        XLOG_HEAP2_VACUUM => {
            let mut r = Reader::new(main, "xl_heap_vacuum");
            let nunused = r.get_u16("nunused")?;
            out.set("nunused", nunused);
            out.trailing(&r);
            block(out, blocks, 0, "xl_heap_vacuum block 0", |r, o| {
                o.put("unused", r.get_u16_vec(nunused.into(), "nunused")?);
                Ok(())
            });
        }
        XLOG_HEAP2_FREEZE_PAGE => {
            let mut r = Reader::new(main, "xl_heap_freeze_page");
            out.set("cutoff_xid", r.get_u32("cutoff_xid")?);
            let ntuples = r.get_u16("ntuples")?;
            out.set("ntuples", ntuples);
            out.trailing(&r);
            block(out, blocks, 0, "xl_heap_freeze_page block 0", |r, o| {
                let n = r.check_count(ntuples.into(), SIZEOF_FREEZE_TUPLE, "ntuples")?;
                let mut tuples = Vec::with_capacity(n);
                for _ in 0..n {
                    let xmax = r.get_u32("xmax")?;
                    let offset = r.get_u16("offset")?;
                    let im2 = r.get_u16("t_infomask2")?;
                    let im = r.get_u16("t_infomask")?;
                    let frzflags = r.get_u8("frzflags")?;
                    r.skip(1, "xl_heap_freeze_tuple padding")?;
                    let h = HeapHeader::new(im2, im, 0, 0);
                    tuples.push(FreezeTuple {
                        xmax,
                        offset,
                        t_infomask2: im2,
                        t_infomask: im,
                        frzflags,
                        frzflag_names: super::flag_names(frzflags.into(), XLH_FREEZE_FLAGS),
                        infomask_flags: h.infomask_flags,
                        infomask2_flags: h.infomask2_flags,
                    });
                }
                o.put("tuples", tuples);
                Ok(())
            });
        }
        XLOG_HEAP2_VISIBLE => {
            let mut r = Reader::new(main, "xl_heap_visible");
            out.set("cutoff_xid", r.get_u32("cutoff_xid")?);
            let flags = r.get_u8("flags")?;
            out.set("flags", flags);
            out.flags("flag_names", flags, VISIBILITYMAP_FLAGS);
            out.trailing(&r);
        }
        XLOG_HEAP2_MULTI_INSERT => {
            let mut r = Reader::new(main, "xl_heap_multi_insert");
            let flags = r.get_u8("flags")?;
            out.set("flags", flags);
            out.flags("flag_names", flags, XLH_INSERT_FLAGS);
            r.align(2, "ntuples")?;
            let ntuples = r.get_u16("ntuples")?;
            out.set("ntuples", ntuples);
            let offsets = if init {
                None
            } else {
                let v = r.get_u16_vec(ntuples.into(), "ntuples")?;
                out.set("offsets", &v);
                Some(v)
            };
            out.trailing(&r);
            block(out, blocks, 0, "xl_heap_multi_insert block 0", |r, o| {
                // Bounded by the data: every tuple consumes at least
                // SizeOfMultiInsertTuple bytes or ends the loop with an error.
                let mut tuples = Vec::new();
                let mut res = Ok(());
                for i in 0..usize::from(ntuples) {
                    match read_multi_insert_tuple(r) {
                        Ok((datalen, header)) => tuples.push(MultiInsertTuple {
                            offnum: offsets.as_ref().and_then(|v| v.get(i).copied()),
                            datalen,
                            header,
                        }),
                        Err(e) => {
                            res = Err(e);
                            break;
                        }
                    }
                }
                o.put("tuples", tuples);
                res
            });
        }
        XLOG_HEAP2_LOCK_UPDATED => {
            let mut r = Reader::new(main, "xl_heap_lock_updated");
            out.set("xmax", r.get_u32("xmax")?);
            out.set("offnum", r.get_u16("offnum")?);
            let ib = r.get_u8("infobits_set")?;
            out.set("infobits_set", ib);
            out.flags("infobits_flags", ib, XLHL_INFOBITS);
            let flags = r.get_u8("flags")?;
            out.set("flags", flags);
            out.flags("flag_names", flags, XLH_LOCK_FLAGS);
            out.trailing(&r);
        }
        XLOG_HEAP2_NEW_CID => {
            let mut r = Reader::new(main, "xl_heap_new_cid");
            out.set("top_xid", r.get_u32("top_xid")?);
            out.set("cmin", r.get_u32("cmin")?);
            out.set("cmax", r.get_u32("cmax")?);
            out.set("combocid", r.get_u32("combocid")?);
            out.set("target_node", RelFileNode::read(&mut r, "target_node")?);
            out.set("target_tid", ItemPointer::read(&mut r, "target_tid")?);
            // sizeof(xl_heap_new_cid) is 36; SizeOfHeapNewCid is 34
            r.skip_upto(2);
            out.trailing(&r);
        }
        _ => out.put("undecoded", true),
    }
    Ok(())
}

/// One 2-byte aligned `xl_multi_insert_tuple` and its data.
fn read_multi_insert_tuple(r: &mut Reader<'_>) -> Res<(u16, HeapHeader)> {
    r.align(2, "xl_multi_insert_tuple")?;
    let datalen = r.get_u16("datalen")?;
    let im2 = r.get_u16("t_infomask2")?;
    let im = r.get_u16("t_infomask")?;
    let hoff = r.get_u8("t_hoff")?;
    let data = r.bytes(datalen.into(), "tuple data (datalen)")?;
    Ok((datalen, HeapHeader::new(im2, im, hoff, data.len())))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::testutil::{ok, Sample, W};
    use super::super::RM_HEAP2_ID;
    use super::*;
    use serde_json::json;

    fn rewrite() -> Sample {
        let main = W::new()
            .u32(800)
            .u32(5)
            .u32(16384)
            .pad(8)
            .i64(4096)
            .u32(2)
            .pad(8)
            .u64(0x1_0000_0028)
            .rnode(1663, 5, 16384)
            .rnode(1663, 5, 16500)
            .tid(0, 1)
            .tid(3, 7)
            .rnode(1663, 5, 16384)
            .rnode(1663, 5, 16500)
            .tid(70000, 2)
            .tid(1, 1)
            .build();
        assert_eq!(main.len(), 40 + 2 * 36);
        Sample::new(RM_HEAP2_ID, XLOG_HEAP2_REWRITE, main)
    }

    fn prune() -> Sample {
        let main = W::new().u32(731).u16(1).u16(2).build();
        let blk = W::new()
            .u16(1)
            .u16(3)
            .u16(4)
            .u16(5)
            .u16(8)
            .u16(9)
            .u16(10)
            .build();
        Sample::new(RM_HEAP2_ID, XLOG_HEAP2_PRUNE, main).data(0, blk)
    }

    fn vacuum() -> Sample {
        let main = W::new().u16(3).build();
        let blk = W::new().u16(2).u16(4).u16(6).build();
        Sample::new(RM_HEAP2_ID, XLOG_HEAP2_VACUUM, main).data(0, blk)
    }

    fn freeze_page() -> Sample {
        let main = W::new().u32(600).u16(2).build();
        let blk = W::new()
            .u32(0)
            .u16(1)
            .u16(3)
            .u16(0x0300 | 0x0800)
            .u8(0)
            .pad(4)
            .u32(0)
            .u16(2)
            .u16(3)
            .u16(0x0800)
            .u8(0x04)
            .pad(4)
            .build();
        assert_eq!(blk.len(), 24);
        Sample::new(RM_HEAP2_ID, XLOG_HEAP2_FREEZE_PAGE, main).data(0, blk)
    }

    fn visible() -> Sample {
        let main = W::new().u32(700).u8(0x03).build();
        Sample::new(RM_HEAP2_ID, XLOG_HEAP2_VISIBLE, main)
            .nodata(0)
            .nodata(1)
    }

    fn multi_tuples() -> Vec<u8> {
        let w = W::new().u16(3).u16(2).u16(0x0800).u8(24).bytes(&[1, 2, 3]);
        // the next xl_multi_insert_tuple is 2-byte aligned
        w.pad(2)
            .u16(4)
            .u16(2)
            .u16(0x0801)
            .u8(24)
            .bytes(&[4, 5, 6, 7])
            .build()
    }

    fn multi_insert() -> Sample {
        let main = W::new()
            .u8(super::super::heap::XLH_INSERT_CONTAINS_NEW_TUPLE | 0x01)
            .pad(2)
            .u16(2)
            .u16(5)
            .u16(6)
            .build();
        Sample::new(RM_HEAP2_ID, XLOG_HEAP2_MULTI_INSERT, main).data(0, multi_tuples())
    }

    fn multi_insert_init() -> Sample {
        let main = W::new().u8(0x20).pad(2).u16(2).build();
        Sample::new(
            RM_HEAP2_ID,
            XLOG_HEAP2_MULTI_INSERT | XLOG_HEAP_INIT_PAGE,
            main,
        )
        .data(0, multi_tuples())
    }

    fn lock_updated() -> Sample {
        let main = W::new().u32(1234).u16(8).u8(0x04).u8(0x01).build();
        Sample::new(RM_HEAP2_ID, XLOG_HEAP2_LOCK_UPDATED, main).nodata(0)
    }

    fn new_cid() -> Sample {
        let main = W::new()
            .u32(900)
            .u32(0)
            .u32(u32::MAX)
            .u32(u32::MAX)
            .rnode(1663, 5, 1259)
            .tid(12, 34)
            .pad(4)
            .build();
        Sample::new(RM_HEAP2_ID, XLOG_HEAP2_NEW_CID, main)
    }

    pub(crate) fn samples() -> Vec<Sample> {
        vec![
            rewrite(),
            prune(),
            vacuum(),
            freeze_page(),
            visible(),
            multi_insert(),
            multi_insert_init(),
            lock_updated(),
            new_cid(),
        ]
    }

    #[test]
    fn rewrite_mappings() {
        let v = ok(rewrite().decode());
        assert_eq!(v["record_type"], "REWRITE");
        assert_eq!(v["mapped_xid"], 800);
        assert_eq!(v["mapped_db"], 5);
        assert_eq!(v["mapped_rel"], 16384);
        assert_eq!(v["offset"], 4096);
        assert_eq!(v["num_mappings"], 2);
        assert_eq!(v["start_lsn"], "1/28");
        assert_eq!(
            v["mappings"][1],
            json!({
                "old_node": {"spc_node": 1663, "db_node": 5, "rel_node": 16384},
                "new_node": {"spc_node": 1663, "db_node": 5, "rel_node": 16500},
                "old_tid": {"block": 70000, "offset": 2},
                "new_tid": {"block": 1, "offset": 1}
            })
        );
    }

    #[test]
    fn prune_offsets() {
        let v = ok(prune().decode());
        assert_eq!(v["record_type"], "PRUNE");
        assert_eq!(v["latest_removed_xid"], 731);
        assert_eq!(v["nredirected"], 1);
        assert_eq!(v["ndead"], 2);
        assert_eq!(v["block0"]["redirected"], json!([[1, 3]]));
        assert_eq!(v["block0"]["dead"], json!([4, 5]));
        assert_eq!(v["block0"]["nunused"], 3);
        assert_eq!(v["block0"]["unused"], json!([8, 9, 10]));
        // counts larger than the block
        let s = Sample::new(
            RM_HEAP2_ID,
            XLOG_HEAP2_PRUNE,
            W::new().u32(1).u16(60000).u16(0).build(),
        )
        .data(0, vec![0; 8]);
        let v = s.decode();
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .contains("nredirected = 120000"),
            "{v}"
        );
        // image instead of data
        let v = ok(Sample::new(RM_HEAP2_ID, XLOG_HEAP2_PRUNE, prune().main)
            .image(0)
            .decode());
        assert_eq!(v["block0"], json!({ "fpi": true }));
    }

    #[test]
    fn vacuum_offsets() {
        let v = ok(vacuum().decode());
        assert_eq!(v["record_type"], "VACUUM");
        assert_eq!(v["nunused"], 3);
        assert_eq!(v["block0"]["unused"], json!([2, 4, 6]));
    }

    #[test]
    fn freeze_page_tuples() {
        let v = ok(freeze_page().decode());
        assert_eq!(v["record_type"], "FREEZE_PAGE");
        assert_eq!(v["cutoff_xid"], 600);
        assert_eq!(v["ntuples"], 2);
        let t = &v["block0"]["tuples"];
        assert_eq!(t[0]["offset"], 1);
        assert_eq!(
            t[0]["infomask_flags"],
            json!([
                "HEAP_XMIN_COMMITTED",
                "HEAP_XMIN_INVALID",
                "HEAP_XMAX_INVALID"
            ])
        );
        assert_eq!(t[1]["offset"], 2);
        assert_eq!(t[1]["frzflag_names"], json!(["XLH_INVALID_XVAC"]));
    }

    #[test]
    fn visible_flags() {
        let v = ok(visible().decode());
        assert_eq!(v["record_type"], "VISIBLE");
        assert_eq!(v["cutoff_xid"], 700);
        assert_eq!(
            v["flag_names"],
            json!(["VISIBILITYMAP_ALL_VISIBLE", "VISIBILITYMAP_ALL_FROZEN"])
        );
    }

    #[test]
    fn multi_insert_with_offsets() {
        let v = ok(multi_insert().decode());
        assert_eq!(v["record_type"], "MULTI_INSERT");
        assert_eq!(v["ntuples"], 2);
        assert_eq!(v["offsets"], json!([5, 6]));
        assert_eq!(
            v["flag_names"],
            json!([
                "XLH_INSERT_ALL_VISIBLE_CLEARED",
                "XLH_INSERT_CONTAINS_NEW_TUPLE"
            ])
        );
        let t = &v["block0"]["tuples"];
        assert_eq!(t[0]["offnum"], 5);
        assert_eq!(t[0]["datalen"], 3);
        assert_eq!(t[0]["natts"], 2);
        assert_eq!(t[1]["offnum"], 6);
        assert_eq!(t[1]["data_length"], 4);
        assert_eq!(
            t[1]["infomask_flags"],
            json!(["HEAP_HASNULL", "HEAP_XMAX_INVALID"])
        );
    }

    #[test]
    fn multi_insert_init_has_no_offsets() {
        let v = ok(multi_insert_init().decode());
        assert_eq!(v["record_type"], "MULTI_INSERT+INIT");
        assert_eq!(v["init_page"], true);
        assert!(v.get("offsets").is_none());
        assert_eq!(v["flag_names"], json!(["XLH_INSERT_ALL_FROZEN_SET"]));
        assert_eq!(v["block0"]["tuples"].as_array().unwrap().len(), 2);
        assert!(v["block0"]["tuples"][0].get("offnum").is_none());
        // a tuple claiming more data than there is: partial list and an error
        let mut s = multi_insert_init();
        s.blocks[0].1.as_mut().unwrap()[10] = 0xFF;
        let v = s.decode();
        assert_eq!(v["block0"]["tuples"].as_array().unwrap().len(), 1);
        assert!(
            v["block0"]["error"].as_str().unwrap().contains("datalen"),
            "{v}"
        );
    }

    #[test]
    fn lock_updated_fields() {
        let v = ok(lock_updated().decode());
        assert_eq!(v["record_type"], "LOCK_UPDATED");
        assert_eq!(v["xmax"], 1234);
        assert_eq!(v["offnum"], 8);
        assert_eq!(v["infobits_flags"], json!(["XLHL_XMAX_EXCL_LOCK"]));
        assert_eq!(v["flag_names"], json!(["XLH_LOCK_ALL_FROZEN_CLEARED"]));
    }

    #[test]
    fn new_cid_fields() {
        let v = ok(new_cid().decode());
        assert_eq!(v["record_type"], "NEW_CID");
        assert_eq!(v["top_xid"], 900);
        assert_eq!(v["cmin"], 0);
        assert_eq!(v["cmax"], u32::MAX);
        assert_eq!(
            v["target_node"],
            json!({"spc_node": 1663, "db_node": 5, "rel_node": 1259})
        );
        assert_eq!(v["target_tid"], json!({"block": 12, "offset": 34}));
        assert!(v.get("trailing_bytes").is_none());
        let v = new_cid().decode_cut(33, 0);
        assert!(v["error"]
            .as_str()
            .unwrap()
            .starts_with("xl_heap_new_cid: truncated reading target_tid"));
        assert_eq!(v["combocid"], u32::MAX);
    }
}
