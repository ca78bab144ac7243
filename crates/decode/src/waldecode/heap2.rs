//! RM_HEAP2_ID (9) records. Mirrors PostgreSQL 15-18 `src/include/access/heapam_xlog.h`
//! (the `XLOG_HEAP2_*` part); names follow `heap2_identify` in
//! `src/backend/access/rmgrdesc/heapdesc.c`.
//!
//! PG15 layouts first; what 16 and 17 changed follows the list.
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
//!
//! PostgreSQL 16 (`target_node` / `old_node` / `new_node` became `*_locator`):
//! * PRUNE `{u32 snapshotConflictHorizon; u16 nredirected; u16 ndead; bool
//!   isCatalogRel}` (SizeOfHeapPrune 9); block 0 as in 15.
//! * FREEZE_PAGE `{u32 snapshotConflictHorizon; u16 nplans; bool isCatalogRel}`;
//!   block 0: nplans × `xl_heap_freeze_plan {u32 xmax; u16 t_infomask2; u16 t_infomask;
//!   u8 frzflags; u16 ntuples (@10)}` (sizeof 12), then each plan's ntuples offsets.
//! * VISIBLE `{u32 snapshotConflictHorizon; u8 flags}` (flag 0x04
//!   VISIBILITYMAP_XLOG_CATALOG_REL).
//!
//! PostgreSQL 17 (and 18) replace PRUNE / VACUUM / FREEZE_PAGE by one record under
//! three opcodes, PRUNE_ON_ACCESS (0x10), PRUNE_VACUUM_SCAN (0x20) and
//! PRUNE_VACUUM_CLEANUP (0x30): `xl_heap_prune {u8 reason; u8 flags}` then, with
//! XLHP_HAS_CONFLICT_HORIZON, an unaligned u32 horizon. Block 0 holds the sub-records
//! the XLHP_HAS_* flags announce, in this order: `xlhp_freeze_plans {u16 nplans;
//! [2 bytes padding]; xlhp_freeze_plan plans[nplans]}` (plans as in 16), then
//! `xlhp_prune_items {u16 ntargets; OffsetNumber data[]}` for the redirections
//! (2 × ntargets offsets), the dead and the unused items, then the freeze plans'
//! offsets (`heap_xlog_deserialize_prune_and_freeze`).

use super::heap::{HeapHeader, XLHL_INFOBITS, XLH_INSERT_FLAGS, XLH_LOCK_FLAGS};
use super::reader::{Reader, Res};
use super::{block, record_type, BlockRef, ItemPointer, Out, PgVersion, RelFile, XLR_INFO_MASK};
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
/// PostgreSQL 17+'s opcodes 0x10 - 0x30.
pub const XLOG_HEAP2_PRUNE_ON_ACCESS_17: u8 = 0x10;
pub const XLOG_HEAP2_PRUNE_VACUUM_SCAN_17: u8 = 0x20;
pub const XLOG_HEAP2_PRUNE_VACUUM_CLEANUP_17: u8 = 0x30;
pub use super::heap::{XLOG_HEAP_INIT_PAGE, XLOG_HEAP_OPMASK};

/// `frzflags` of xl_heap_freeze_tuple (0x01 was XLH_FREEZE_XMIN before 9.4).
pub const XLH_FREEZE_XVAC: u8 = 0x02;
pub const XLH_INVALID_XVAC: u8 = 0x04;
const XLH_FREEZE_FLAGS: &[(u64, &str)] = &[
    (XLH_FREEZE_XVAC as u64, "XLH_FREEZE_XVAC"),
    (XLH_INVALID_XVAC as u64, "XLH_INVALID_XVAC"),
];

/// xl_heap_visible flags (`src/include/access/visibilitymapdefs.h`, PG15; PG16 added
/// VISIBILITYMAP_XLOG_CATALOG_REL 0x04).
const VISIBILITYMAP_FLAGS: &[(u64, &str)] = &[
    (0x01, "VISIBILITYMAP_ALL_VISIBLE"),
    (0x02, "VISIBILITYMAP_ALL_FROZEN"),
];
const VISIBILITYMAP_FLAGS_16: &[(u64, &str)] = &[
    (0x01, "VISIBILITYMAP_ALL_VISIBLE"),
    (0x02, "VISIBILITYMAP_ALL_FROZEN"),
    (0x04, "VISIBILITYMAP_XLOG_CATALOG_REL"),
];

/// xl_heap_prune flags (PG17+).
pub const XLHP_IS_CATALOG_REL: u8 = 1 << 1;
pub const XLHP_CLEANUP_LOCK: u8 = 1 << 2;
pub const XLHP_HAS_CONFLICT_HORIZON: u8 = 1 << 3;
pub const XLHP_HAS_FREEZE_PLANS: u8 = 1 << 4;
pub const XLHP_HAS_REDIRECTIONS: u8 = 1 << 5;
pub const XLHP_HAS_DEAD_ITEMS: u8 = 1 << 6;
pub const XLHP_HAS_NOW_UNUSED_ITEMS: u8 = 1 << 7;
const XLHP_FLAGS: &[(u64, &str)] = &[
    (1 << 1, "XLHP_IS_CATALOG_REL"),
    (1 << 2, "XLHP_CLEANUP_LOCK"),
    (1 << 3, "XLHP_HAS_CONFLICT_HORIZON"),
    (1 << 4, "XLHP_HAS_FREEZE_PLANS"),
    (1 << 5, "XLHP_HAS_REDIRECTIONS"),
    (1 << 6, "XLHP_HAS_DEAD_ITEMS"),
    (1 << 7, "XLHP_HAS_NOW_UNUSED_ITEMS"),
];

/// `PruneReason` (`src/include/access/heapam.h`, PG17+).
fn prune_reason_name(reason: u8) -> &'static str {
    match reason {
        0 => "PRUNE_ON_ACCESS",
        1 => "PRUNE_VACUUM_SCAN",
        2 => "PRUNE_VACUUM_CLEANUP",
        _ => "UNKNOWN",
    }
}

/// sizeof(xl_heap_freeze_plan) (16) / sizeof(xlhp_freeze_plan) (17+).
const SIZEOF_FREEZE_PLAN: usize = 12;

/// sizeof(xl_heap_freeze_tuple): 11 bytes of fields padded to 4-byte alignment.
const SIZEOF_FREEZE_TUPLE: usize = 12;
/// sizeof(LogicalRewriteMappingData) (`src/include/access/rewriteheap.h`): two
/// RelFileNodes and two ItemPointerData.
const SIZEOF_REWRITE_MAPPING: usize = 36;

/// `heap2_identify` of version `v`.
pub fn identify(v: PgVersion, info: u8) -> Option<&'static str> {
    let merged = v >= PgVersion::V17;
    Some(match info & !XLR_INFO_MASK {
        0x00 => "REWRITE",
        0x10 if merged => "PRUNE_ON_ACCESS",
        0x20 if merged => "PRUNE_VACUUM_SCAN",
        0x30 if merged => "PRUNE_VACUUM_CLEANUP",
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

pub(crate) fn decode(v: PgVersion, info: u8, main: &[u8], blocks: &[BlockRef<'_>]) -> Value {
    let mut out = Out::new(record_type(identify(v, info), info));
    let res = decode_into(v, info, main, blocks, &mut out);
    out.finish(res)
}

#[derive(Debug, Serialize)]
struct RewriteMapping {
    old_node: RelFile,
    new_node: RelFile,
    old_tid: ItemPointer,
    new_tid: ItemPointer,
}

/// LogicalRewriteMappingData as 16+ names it.
#[derive(Debug, Serialize)]
struct RewriteMapping16 {
    old_locator: RelFile,
    new_locator: RelFile,
    old_tid: ItemPointer,
    new_tid: ItemPointer,
}

/// A freeze plan (16's xl_heap_freeze_plan, 17's xlhp_freeze_plan) and the offsets it
/// freezes.
#[derive(Debug, Serialize)]
struct FreezePlan {
    xmax: u32,
    t_infomask2: u16,
    t_infomask: u16,
    frzflags: u8,
    ntuples: u16,
    frzflag_names: Vec<String>,
    infomask_flags: Vec<String>,
    infomask2_flags: Vec<String>,
    offsets: Vec<u16>,
}

/// `n` freeze plans (12 bytes each), their offsets still empty.
fn read_freeze_plans(r: &mut Reader<'_>, n: u16) -> Res<Vec<FreezePlan>> {
    let n = r.check_count(n.into(), SIZEOF_FREEZE_PLAN, "nplans")?;
    let mut plans = Vec::with_capacity(n);
    for _ in 0..n {
        let xmax = r.get_u32("xmax")?;
        let im2 = r.get_u16("t_infomask2")?;
        let im = r.get_u16("t_infomask")?;
        let frzflags = r.get_u8("frzflags")?;
        r.skip(1, "freeze plan padding")?;
        let ntuples = r.get_u16("ntuples")?;
        let h = HeapHeader::new(im2, im, 0, 0);
        plans.push(FreezePlan {
            xmax,
            t_infomask2: im2,
            t_infomask: im,
            frzflags,
            ntuples,
            frzflag_names: super::flag_names(frzflags.into(), XLH_FREEZE_FLAGS),
            infomask_flags: h.infomask_flags,
            infomask2_flags: h.infomask2_flags,
            offsets: Vec::new(),
        });
    }
    Ok(plans)
}

/// Each plan's `ntuples` offsets, in plan order.
fn read_plan_offsets(r: &mut Reader<'_>, plans: &mut [FreezePlan]) -> Res<()> {
    for p in plans {
        p.offsets = r.get_u16_vec(p.ntuples.into(), "freeze plan ntuples")?;
    }
    Ok(())
}

/// Pairs of (from, to) offsets.
fn pairs(v: Vec<u16>) -> Vec<[u16; 2]> {
    v.chunks_exact(2)
        .filter_map(|c| match c {
            [from, to] => Some([*from, *to]),
            _ => None,
        })
        .collect()
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

fn decode_into(
    v: PgVersion,
    info: u8,
    main: &[u8],
    blocks: &[BlockRef<'_>],
    out: &mut Out,
) -> Res<()> {
    let init = info & XLOG_HEAP_INIT_PAGE != 0;
    if init {
        out.put("init_page", true);
    }
    let op = info & XLOG_HEAP_OPMASK;
    if v >= PgVersion::V17
        && matches!(
            op,
            XLOG_HEAP2_PRUNE | XLOG_HEAP2_VACUUM | XLOG_HEAP2_FREEZE_PAGE
        )
    {
        return prune_and_freeze(main, blocks, out);
    }
    match op {
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
                let old = RelFile::read(v, &mut r, "old_node")?;
                let new = RelFile::read(v, &mut r, "new_node")?;
                let old_tid = ItemPointer::read(&mut r, "old_tid")?;
                let new_tid = ItemPointer::read(&mut r, "new_tid")?;
                maps.push(if v.locators() {
                    super::to_json(RewriteMapping16 {
                        old_locator: old,
                        new_locator: new,
                        old_tid,
                        new_tid,
                    })
                } else {
                    super::to_json(RewriteMapping {
                        old_node: old,
                        new_node: new,
                        old_tid,
                        new_tid,
                    })
                });
            }
            out.put("mappings", maps);
            out.trailing(&r);
        }
        XLOG_HEAP2_PRUNE => {
            let mut r = Reader::new(main, "xl_heap_prune");
            let horizon = if v.locators() {
                "snapshotConflictHorizon"
            } else {
                "latestRemovedXid"
            };
            out.set(horizon, r.get_u32(horizon)?);
            let nredirected = r.get_u16("nredirected")?;
            out.set("nredirected", nredirected);
            let ndead = r.get_u16("ndead")?;
            out.set("ndead", ndead);
            if v.locators() {
                out.set("isCatalogRel", r.get_bool("isCatalogRel")?);
            }
            out.trailing(&r);
            block(out, blocks, 0, "xl_heap_prune block 0", |r, o| {
                let redirected = pairs(r.get_u16_vec(2 * u64::from(nredirected), "nredirected")?);
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
        XLOG_HEAP2_FREEZE_PAGE if v.locators() => {
            let mut r = Reader::new(main, "xl_heap_freeze_page");
            out.set(
                "snapshotConflictHorizon",
                r.get_u32("snapshotConflictHorizon")?,
            );
            let nplans = r.get_u16("nplans")?;
            out.set("nplans", nplans);
            out.set("isCatalogRel", r.get_bool("isCatalogRel")?);
            out.trailing(&r);
            block(out, blocks, 0, "xl_heap_freeze_page block 0", |r, o| {
                let mut plans = read_freeze_plans(r, nplans)?;
                let res = read_plan_offsets(r, &mut plans);
                o.put("plans", plans);
                res
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
            let horizon = if v.locators() {
                "snapshotConflictHorizon"
            } else {
                "cutoff_xid"
            };
            out.set(horizon, r.get_u32(horizon)?);
            let flags = r.get_u8("flags")?;
            out.set("flags", flags);
            let table = if v.locators() {
                VISIBILITYMAP_FLAGS_16
            } else {
                VISIBILITYMAP_FLAGS
            };
            out.flags("flag_names", flags, table);
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
            let target = if v.locators() {
                "target_locator"
            } else {
                "target_node"
            };
            out.set(target, RelFile::read(v, &mut r, target)?);
            out.set("target_tid", ItemPointer::read(&mut r, "target_tid")?);
            // sizeof(xl_heap_new_cid) is 36; SizeOfHeapNewCid is 34
            r.skip_upto(2);
            out.trailing(&r);
        }
        _ => out.put("undecoded", true),
    }
    Ok(())
}

/// PostgreSQL 17+'s PRUNE_ON_ACCESS / PRUNE_VACUUM_SCAN / PRUNE_VACUUM_CLEANUP
/// (`heap2_desc` and `heap_xlog_deserialize_prune_and_freeze`).
fn prune_and_freeze(main: &[u8], blocks: &[BlockRef<'_>], out: &mut Out) -> Res<()> {
    let mut r = Reader::new(main, "xl_heap_prune");
    let reason = r.get_u8("reason")?;
    out.set("reason", reason);
    out.put("reason_name", prune_reason_name(reason));
    let flags = r.get_u8("flags")?;
    out.set("flags", flags);
    out.flags("flag_names", flags, XLHP_FLAGS);
    if flags & XLHP_HAS_CONFLICT_HORIZON != 0 {
        out.set(
            "snapshotConflictHorizon",
            r.get_u32("snapshotConflictHorizon")?,
        );
    }
    out.trailing(&r);
    block(out, blocks, 0, "xl_heap_prune block 0", |r, o| {
        let mut plans = Vec::new();
        if flags & XLHP_HAS_FREEZE_PLANS != 0 {
            let n = r.get_u16("nplans")?;
            r.skip(2, "xlhp_freeze_plans padding")?;
            plans = read_freeze_plans(r, n)?;
        }
        o.put("nplans", plans.len());
        let mut items = |has: u8, what: &'static str, width: u64| -> Res<Vec<u16>> {
            if flags & has == 0 {
                return Ok(Vec::new());
            }
            let n = r.get_u16(what)?;
            r.get_u16_vec(width * u64::from(n), what)
        };
        let redirected = pairs(items(XLHP_HAS_REDIRECTIONS, "nredirected", 2)?);
        let dead = items(XLHP_HAS_DEAD_ITEMS, "ndead", 1)?;
        let unused = items(XLHP_HAS_NOW_UNUSED_ITEMS, "nunused", 1)?;
        o.put("nredirected", redirected.len());
        o.put("ndead", dead.len());
        o.put("nunused", unused.len());
        let res = read_plan_offsets(r, &mut plans);
        o.put("plans", plans);
        o.put("redirected", redirected);
        o.put("dead", dead);
        o.put("unused", unused);
        res
    });
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

    /// PostgreSQL 16's PRUNE: the horizon renamed, isCatalogRel after ndead.
    fn prune_16() -> Sample {
        let main = W::new().u32(731).u16(1).u16(2).u8(1).build();
        assert_eq!(main.len(), 9);
        let blk = W::new().u16(1).u16(3).u16(4).u16(5).u16(8).build();
        Sample::new(RM_HEAP2_ID, XLOG_HEAP2_PRUNE, main)
            .data(0, blk)
            .at(PgVersion::V16)
    }

    /// PostgreSQL 16's FREEZE_PAGE: two freeze plans, then their offsets.
    fn freeze_page_16() -> Sample {
        let main = W::new().u32(600).u16(2).u8(0).build();
        let blk = W::new()
            .u32(0)
            .u16(3)
            .u16(0x0300 | 0x0800)
            .u8(0)
            .pad(2)
            .u16(2)
            .u32(77)
            .u16(2)
            .u16(0x0800)
            .u8(0x04)
            .pad(2)
            .u16(1)
            .u16(1)
            .u16(4)
            .u16(9)
            .build();
        assert_eq!(blk.len(), 2 * 12 + 3 * 2);
        Sample::new(RM_HEAP2_ID, XLOG_HEAP2_FREEZE_PAGE, main)
            .data(0, blk)
            .at(PgVersion::V16)
    }

    /// PostgreSQL 17's PRUNE_VACUUM_SCAN with every sub-record: reason, flags, the
    /// unaligned horizon; block 0: 2 freeze plans, 1 redirection, 2 dead, 1 unused,
    /// then the 3 frozen offsets.
    fn prune_freeze_17() -> Sample {
        let flags = XLHP_IS_CATALOG_REL
            | XLHP_CLEANUP_LOCK
            | XLHP_HAS_CONFLICT_HORIZON
            | XLHP_HAS_FREEZE_PLANS
            | XLHP_HAS_REDIRECTIONS
            | XLHP_HAS_DEAD_ITEMS
            | XLHP_HAS_NOW_UNUSED_ITEMS;
        let main = W::new().u8(1).u8(flags).u32(614).build();
        assert_eq!(main.len(), 6);
        let blk = W::new()
            .u16(2)
            .pad(4)
            .u32(0)
            .u16(25)
            .u16(2817)
            .u8(0)
            .pad(2)
            .u16(2)
            .u32(900)
            .u16(3)
            .u16(0x0800)
            .u8(0x02)
            .pad(2)
            .u16(1)
            .u16(1) // nredirected
            .u16(15)
            .u16(40)
            .u16(2) // ndead
            .u16(43)
            .u16(44)
            .u16(1) // nunused
            .u16(7)
            .u16(1) // frozen offsets: plan 1 (2), plan 2 (1)
            .u16(2)
            .u16(3)
            .build();
        Sample::new(RM_HEAP2_ID, XLOG_HEAP2_PRUNE_VACUUM_SCAN_17, main)
            .data(0, blk)
            .at(PgVersion::V17)
    }

    /// PostgreSQL 18's PRUNE_VACUUM_CLEANUP: no horizon, only unused items.
    fn prune_cleanup_18() -> Sample {
        let main = W::new().u8(2).u8(XLHP_HAS_NOW_UNUSED_ITEMS).build();
        let blk = W::new().u16(3).u16(18).u16(19).u16(20).build();
        Sample::new(RM_HEAP2_ID, XLOG_HEAP2_PRUNE_VACUUM_CLEANUP_17, main)
            .data(0, blk)
            .at(PgVersion::V18)
    }

    pub(crate) fn samples() -> Vec<Sample> {
        let mut v = vec![
            rewrite(),
            prune(),
            vacuum(),
            freeze_page(),
            visible(),
            multi_insert(),
            multi_insert_init(),
            lock_updated(),
            new_cid(),
            prune_16(),
            freeze_page_16(),
            prune_freeze_17(),
            prune_cleanup_18(),
        ];
        // the records whose layout did not change, as 16, 17 and 18 write them
        for later in [PgVersion::V16, PgVersion::V17, PgVersion::V18] {
            v.extend(
                [
                    rewrite(),
                    visible(),
                    multi_insert(),
                    multi_insert_init(),
                    lock_updated(),
                    new_cid(),
                ]
                .map(|s| s.at(later)),
            );
        }
        v.push(vacuum().at(PgVersion::V16));
        v
    }

    #[test]
    fn names_by_version() {
        for (v, names) in [
            (PgVersion::V15, ["PRUNE", "VACUUM", "FREEZE_PAGE"]),
            (PgVersion::V16, ["PRUNE", "VACUUM", "FREEZE_PAGE"]),
            (
                PgVersion::V17,
                [
                    "PRUNE_ON_ACCESS",
                    "PRUNE_VACUUM_SCAN",
                    "PRUNE_VACUUM_CLEANUP",
                ],
            ),
            (
                PgVersion::V18,
                [
                    "PRUNE_ON_ACCESS",
                    "PRUNE_VACUUM_SCAN",
                    "PRUNE_VACUUM_CLEANUP",
                ],
            ),
        ] {
            assert_eq!(identify(v, 0x10), Some(names[0]), "{v:?}");
            assert_eq!(identify(v, 0x20), Some(names[1]), "{v:?}");
            assert_eq!(identify(v, 0x30), Some(names[2]), "{v:?}");
            assert_eq!(identify(v, 0xD0), Some("MULTI_INSERT+INIT"));
        }
    }

    #[test]
    fn prune_16_layout() {
        let v = ok(prune_16().decode());
        assert_eq!(v["record_type"], "PRUNE");
        assert_eq!(v["snapshot_conflict_horizon"], 731);
        assert!(v.get("latest_removed_xid").is_none());
        assert_eq!(v["nredirected"], 1);
        assert_eq!(v["ndead"], 2);
        assert_eq!(v["is_catalog_rel"], true);
        assert_eq!(v["block0"]["redirected"], json!([[1, 3]]));
        assert_eq!(v["block0"]["dead"], json!([4, 5]));
        assert_eq!(v["block0"]["unused"], json!([8]));
        // the 15 reading of these bytes sees a trailing byte: the layouts differ
        let mut as15 = prune_16();
        as15.version = PgVersion::V15;
        assert_eq!(as15.decode()["trailing_bytes"], 1);
    }

    #[test]
    fn freeze_page_16_plans() {
        let v = ok(freeze_page_16().decode());
        assert_eq!(v["record_type"], "FREEZE_PAGE");
        assert_eq!(v["snapshot_conflict_horizon"], 600);
        assert_eq!(v["nplans"], 2);
        assert_eq!(v["is_catalog_rel"], false);
        let plans = &v["block0"]["plans"];
        assert_eq!(plans[0]["ntuples"], 2);
        assert_eq!(plans[0]["offsets"], json!([1, 4]));
        assert_eq!(
            plans[0]["infomask_flags"],
            json!([
                "HEAP_XMIN_COMMITTED",
                "HEAP_XMIN_INVALID",
                "HEAP_XMAX_INVALID"
            ])
        );
        assert_eq!(plans[1]["xmax"], 77);
        assert_eq!(plans[1]["frzflag_names"], json!(["XLH_INVALID_XVAC"]));
        assert_eq!(plans[1]["offsets"], json!([9]));
        // a plan count the data cannot hold is refused before allocating
        let mut s = freeze_page_16();
        s.main = W::new().u32(600).u16(u16::MAX).u8(0).build();
        let v = s.decode();
        assert!(
            v["block0"]["error"].as_str().unwrap().contains("nplans"),
            "{v}"
        );
    }

    #[test]
    fn prune_and_freeze_17_every_sub_record() {
        let v = ok(prune_freeze_17().decode());
        assert_eq!(v["record_type"], "PRUNE_VACUUM_SCAN");
        assert_eq!(v["reason"], 1);
        assert_eq!(v["reason_name"], "PRUNE_VACUUM_SCAN");
        assert_eq!(
            v["flag_names"],
            json!([
                "XLHP_IS_CATALOG_REL",
                "XLHP_CLEANUP_LOCK",
                "XLHP_HAS_CONFLICT_HORIZON",
                "XLHP_HAS_FREEZE_PLANS",
                "XLHP_HAS_REDIRECTIONS",
                "XLHP_HAS_DEAD_ITEMS",
                "XLHP_HAS_NOW_UNUSED_ITEMS"
            ])
        );
        assert_eq!(v["snapshot_conflict_horizon"], 614);
        let b = &v["block0"];
        assert_eq!(b["nplans"], 2);
        assert_eq!(b["plans"][0]["t_infomask2"], 25);
        assert_eq!(b["plans"][0]["t_infomask"], 2817);
        assert_eq!(b["plans"][0]["offsets"], json!([1, 2]));
        assert_eq!(b["plans"][1]["xmax"], 900);
        assert_eq!(b["plans"][1]["frzflag_names"], json!(["XLH_FREEZE_XVAC"]));
        assert_eq!(b["plans"][1]["offsets"], json!([3]));
        assert_eq!(b["nredirected"], 1);
        assert_eq!(b["redirected"], json!([[15, 40]]));
        assert_eq!(b["ndead"], 2);
        assert_eq!(b["dead"], json!([43, 44]));
        assert_eq!(b["nunused"], 1);
        assert_eq!(b["unused"], json!([7]));
        assert!(b.get("trailing_bytes").is_none(), "{b}");
        // 18 writes the same record
        let mut s = prune_freeze_17();
        s.version = PgVersion::V18;
        assert_eq!(ok(s.decode()), v);
    }

    #[test]
    fn prune_18_without_horizon_or_block_data() {
        let v = ok(prune_cleanup_18().decode());
        assert_eq!(v["record_type"], "PRUNE_VACUUM_CLEANUP");
        assert_eq!(v["reason_name"], "PRUNE_VACUUM_CLEANUP");
        assert!(v.get("snapshot_conflict_horizon").is_none());
        assert_eq!(v["block0"]["nplans"], 0);
        assert_eq!(v["block0"]["nunused"], 3);
        assert_eq!(v["block0"]["unused"], json!([18, 19, 20]));
        assert_eq!(v["block0"]["redirected"], json!([]));
        // with a full-page image instead of data (heap2_desc then prints no counts)
        let s = Sample::new(RM_HEAP2_ID, 0x10, W::new().u8(0).u8(0x0C).u32(5).build())
            .image(0)
            .at(PgVersion::V18);
        let v = ok(s.decode());
        assert_eq!(v["record_type"], "PRUNE_ON_ACCESS");
        assert_eq!(v["snapshot_conflict_horizon"], 5);
        assert_eq!(v["block0"], json!({ "fpi": true }));
        // a sub-record count larger than the data is an error, not a panic
        let s = Sample::new(
            RM_HEAP2_ID,
            0x10,
            W::new().u8(0).u8(XLHP_HAS_DEAD_ITEMS).build(),
        )
        .data(0, W::new().u16(500).u16(1).build())
        .at(PgVersion::V17);
        let v = s.decode();
        assert!(v["error"].as_str().unwrap().contains("ndead"), "{v}");
    }

    #[test]
    fn renamed_fields_from_16() {
        let mut s = visible();
        s.main = W::new().u32(700).u8(0x07).build();
        let v = ok(s.clone().at(PgVersion::V16).decode());
        assert_eq!(v["snapshot_conflict_horizon"], 700);
        assert_eq!(
            v["flag_names"],
            json!([
                "VISIBILITYMAP_ALL_VISIBLE",
                "VISIBILITYMAP_ALL_FROZEN",
                "VISIBILITYMAP_XLOG_CATALOG_REL"
            ])
        );
        let v15 = ok(s.decode());
        assert_eq!(v15["cutoff_xid"], 700);
        assert_eq!(
            v15["flag_names"],
            json!([
                "VISIBILITYMAP_ALL_VISIBLE",
                "VISIBILITYMAP_ALL_FROZEN",
                "UNKNOWN(0x4)"
            ])
        );
        let v = ok(new_cid().at(PgVersion::V18).decode());
        assert_eq!(
            v["target_locator"],
            json!({"spc_oid": 1663, "db_oid": 5, "rel_number": 1259})
        );
        assert!(v.get("target_node").is_none());
        let v = ok(rewrite().at(PgVersion::V16).decode());
        assert_eq!(v["mappings"][1]["new_locator"]["rel_number"], 16500);
        assert_eq!(
            v["mappings"][1]["old_tid"],
            json!({"block": 70000, "offset": 2})
        );
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
