//! RM_XACT_ID (1) "Transaction" records. Mirrors PostgreSQL 15-18
//! `src/include/access/xact.h`; commit/abort parts are read in the order of
//! `ParseCommitRecord` / `ParseAbortRecord` and the prepare record like
//! `ParsePrepareRecord` (`src/backend/access/rmgrdesc/xactdesc.c`); invalidation
//! messages per `src/include/storage/sinval.h`; names from `xact_identify`.
//!
//! PG15 commit / abort main data: `xl_xact_commit {TimestampTz xact_time}`, then only
//! with XLOG_XACT_HAS_INFO `xl_xact_xinfo {u32 xinfo}` and, per xinfo bit in this order:
//! `xl_xact_dbinfo {Oid dbId; Oid tsId}`, `xl_xact_subxacts {int nsubxacts; xid[]}`,
//! `xl_xact_relfilenodes {int nrels; RelFileNode[]}`, `xl_xact_stats_items {int nitems;
//! xl_xact_stats_item {int kind; Oid dboid; Oid objoid}[]}` (PG15 dropped stats; PG18
//! made objoid 64-bit), `xl_xact_invals {int nmsgs; SharedInvalidationMessage[16 bytes]}`
//! (commit only), `xl_xact_twophase {xid}` (+ NUL-terminated gid with HAS_GID), and
//! unaligned `xl_xact_origin {XLogRecPtr origin_lsn; TimestampTz origin_timestamp}`.
//! PG16 renamed the relfilenode parts to relfilelocators (same layout; the xinfo bit is
//! XACT_XINFO_HAS_RELFILELOCATORS) and numbered the stats kinds anew (IO); PG18 made
//! `xl_xact_stats_item` 16 bytes (`{int kind; Oid dboid; uint32 objid_lo; uint32
//! objid_hi}`: 64-bit object ids), added the relsync invalidation message (id -6) and
//! the backend stats kind. 17's formats are 16's.

use super::reader::{Reader, Res};
use super::{record_type, BlockRef, Out, PgVersion, RelFile};
use serde_json::{json, Value};

pub const XLOG_XACT_COMMIT: u8 = 0x00;
pub const XLOG_XACT_PREPARE: u8 = 0x10;
pub const XLOG_XACT_ABORT: u8 = 0x20;
pub const XLOG_XACT_COMMIT_PREPARED: u8 = 0x30;
pub const XLOG_XACT_ABORT_PREPARED: u8 = 0x40;
pub const XLOG_XACT_ASSIGNMENT: u8 = 0x50;
pub const XLOG_XACT_INVALIDATIONS: u8 = 0x60;
pub const XLOG_XACT_OPMASK: u8 = 0x70;
/// The record carries an `xl_xact_xinfo`.
pub const XLOG_XACT_HAS_INFO: u8 = 0x80;

pub const XACT_XINFO_HAS_DBINFO: u32 = 1 << 0;
pub const XACT_XINFO_HAS_SUBXACTS: u32 = 1 << 1;
pub const XACT_XINFO_HAS_RELFILENODES: u32 = 1 << 2;
pub const XACT_XINFO_HAS_INVALS: u32 = 1 << 3;
pub const XACT_XINFO_HAS_TWOPHASE: u32 = 1 << 4;
pub const XACT_XINFO_HAS_ORIGIN: u32 = 1 << 5;
pub const XACT_XINFO_HAS_AE_LOCKS: u32 = 1 << 6;
pub const XACT_XINFO_HAS_GID: u32 = 1 << 7;
pub const XACT_XINFO_HAS_DROPPED_STATS: u32 = 1 << 8;

/// The xinfo bits' names in `v` (16 renamed bit 2).
fn xinfo_flags(v: PgVersion) -> &'static [(u64, &'static str)] {
    if v.locators() {
        XINFO_FLAGS_16
    } else {
        XINFO_FLAGS
    }
}

const XINFO_FLAGS_16: &[(u64, &str)] = &[
    (1 << 0, "XACT_XINFO_HAS_DBINFO"),
    (1 << 1, "XACT_XINFO_HAS_SUBXACTS"),
    (1 << 2, "XACT_XINFO_HAS_RELFILELOCATORS"),
    (1 << 3, "XACT_XINFO_HAS_INVALS"),
    (1 << 4, "XACT_XINFO_HAS_TWOPHASE"),
    (1 << 5, "XACT_XINFO_HAS_ORIGIN"),
    (1 << 6, "XACT_XINFO_HAS_AE_LOCKS"),
    (1 << 7, "XACT_XINFO_HAS_GID"),
    (1 << 8, "XACT_XINFO_HAS_DROPPED_STATS"),
    (1 << 29, "XACT_COMPLETION_APPLY_FEEDBACK"),
    (1 << 30, "XACT_COMPLETION_UPDATE_RELCACHE_FILE"),
    (1 << 31, "XACT_COMPLETION_FORCE_SYNC_COMMIT"),
];

const XINFO_FLAGS: &[(u64, &str)] = &[
    (1 << 0, "XACT_XINFO_HAS_DBINFO"),
    (1 << 1, "XACT_XINFO_HAS_SUBXACTS"),
    (1 << 2, "XACT_XINFO_HAS_RELFILENODES"),
    (1 << 3, "XACT_XINFO_HAS_INVALS"),
    (1 << 4, "XACT_XINFO_HAS_TWOPHASE"),
    (1 << 5, "XACT_XINFO_HAS_ORIGIN"),
    (1 << 6, "XACT_XINFO_HAS_AE_LOCKS"),
    (1 << 7, "XACT_XINFO_HAS_GID"),
    (1 << 8, "XACT_XINFO_HAS_DROPPED_STATS"),
    (1 << 29, "XACT_COMPLETION_APPLY_FEEDBACK"),
    (1 << 30, "XACT_COMPLETION_UPDATE_RELCACHE_FILE"),
    (1 << 31, "XACT_COMPLETION_FORCE_SYNC_COMMIT"),
];

const SIZEOF_RELFILENODE: usize = 12;
/// sizeof(xl_xact_stats_item): 12 bytes, 16 from PostgreSQL 18 (64-bit objid).
fn sizeof_stats_item(v: PgVersion) -> usize {
    if v >= PgVersion::V18 {
        16
    } else {
        12
    }
}
/// sizeof(SharedInvalidationMessage).
pub(crate) const SIZEOF_INVAL_MSG: usize = 16;
/// MAXALIGN(sizeof(xl_xact_prepare)).
const SIZEOF_XACT_PREPARE: usize = 72;

/// `xact_identify` (ignores XLOG_XACT_HAS_INFO).
pub fn identify(info: u8) -> Option<&'static str> {
    Some(match info & XLOG_XACT_OPMASK {
        XLOG_XACT_COMMIT => "COMMIT",
        XLOG_XACT_PREPARE => "PREPARE",
        XLOG_XACT_ABORT => "ABORT",
        XLOG_XACT_COMMIT_PREPARED => "COMMIT_PREPARED",
        XLOG_XACT_ABORT_PREPARED => "ABORT_PREPARED",
        XLOG_XACT_ASSIGNMENT => "ASSIGNMENT",
        XLOG_XACT_INVALIDATIONS => "INVALIDATION",
        _ => return None,
    })
}

pub(crate) fn decode(v: PgVersion, info: u8, main: &[u8], _blocks: &[BlockRef<'_>]) -> Value {
    let mut out = Out::new(record_type(identify(info), info));
    let res = match info & XLOG_XACT_OPMASK {
        XLOG_XACT_COMMIT | XLOG_XACT_COMMIT_PREPARED => {
            commit_or_abort(v, info, main, &mut out, true)
        }
        XLOG_XACT_ABORT | XLOG_XACT_ABORT_PREPARED => {
            commit_or_abort(v, info, main, &mut out, false)
        }
        XLOG_XACT_PREPARE => prepare(v, main, &mut out),
        XLOG_XACT_ASSIGNMENT => assignment(main, &mut out),
        XLOG_XACT_INVALIDATIONS => invalidations(v, main, &mut out),
        _ => {
            out.put("undecoded", true);
            Ok(())
        }
    };
    out.finish(res)
}

/// PgStat_Kind names (`src/include/pgstat.h`; 18: `utils/pgstat_kind.h`). 16 put IO
/// before SLRU, 18 BACKEND before ARCHIVER; 15 has neither.
fn stats_kind_name(v: PgVersion, kind: i32) -> &'static str {
    let names: &[&str] = match v {
        PgVersion::V15 => &[
            "database",
            "relation",
            "function",
            "replslot",
            "subscription",
            "archiver",
            "bgwriter",
            "checkpointer",
            "slru",
            "wal",
        ],
        PgVersion::V16 | PgVersion::V17 => &[
            "database",
            "relation",
            "function",
            "replslot",
            "subscription",
            "archiver",
            "bgwriter",
            "checkpointer",
            "io",
            "slru",
            "wal",
        ],
        PgVersion::V18 => &[
            "database",
            "relation",
            "function",
            "replslot",
            "subscription",
            "backend",
            "archiver",
            "bgwriter",
            "checkpointer",
            "io",
            "slru",
            "wal",
        ],
    };
    usize::try_from(kind)
        .ok()
        .and_then(|k| k.checked_sub(1))
        .and_then(|k| names.get(k).copied())
        .unwrap_or("invalid")
}

fn read_relfilenodes(v: PgVersion, r: &mut Reader<'_>, n: usize, field: &str) -> Res<Vec<RelFile>> {
    let n = r.check_count(n as u64, SIZEOF_RELFILENODE, field)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(RelFile::read(v, r, field)?);
    }
    Ok(out)
}

/// `xl_xact_stats_item`: `objoid` up to 17, `objid_lo` / `objid_hi` (and the 64-bit
/// `objid` they make) from 18.
fn read_stats_items(v: PgVersion, r: &mut Reader<'_>, n: usize, field: &str) -> Res<Vec<Value>> {
    let n = r.check_count(n as u64, sizeof_stats_item(v), field)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = r.get_i32("kind")?;
        let dboid = r.get_u32("dboid")?;
        let kind_name = stats_kind_name(v, kind);
        out.push(if v >= PgVersion::V18 {
            let lo = r.get_u32("objid_lo")?;
            let hi = r.get_u32("objid_hi")?;
            json!({ "kind": kind, "kind_name": kind_name, "dboid": dboid,
                    "objid_lo": lo, "objid_hi": hi,
                    "objid": (u64::from(hi) << 32) | u64::from(lo) })
        } else {
            json!({ "kind": kind, "kind_name": kind_name, "dboid": dboid,
                    "objoid": r.get_u32("objoid")? })
        });
    }
    Ok(out)
}

/// `n` SharedInvalidationMessages (`src/include/storage/sinval.h`), each 16 bytes
/// starting with `int8 id`: >= 0 catcache, -1 catalog, -2 relcache, -3 smgr (its
/// RelFileNode `rnode`, from 16 RelFileLocator `rlocator`), -4 relmap, -5 snapshot,
/// and from 18 -6 relsync.
pub(crate) fn read_inval_msgs(
    v: PgVersion,
    r: &mut Reader<'_>,
    n: usize,
    field: &str,
) -> Res<Vec<Value>> {
    let n = r.check_count(n as u64, SIZEOF_INVAL_MSG, field)?;
    let mut msgs = Vec::with_capacity(n);
    for _ in 0..n {
        let b = r.bytes(SIZEOF_INVAL_MSG, "SharedInvalidationMessage")?;
        let mut m = Reader::new(b, "SharedInvalidationMessage");
        let id = m.get_i8("id")?;
        let msg = match id {
            0.. => {
                m.align(4, "dbId")?;
                json!({ "id": id, "kind": "catcache", "db_id": m.get_u32("dbId")?,
                        "hash_value": m.get_u32("hashValue")? })
            }
            -1 => {
                m.align(4, "dbId")?;
                json!({ "id": id, "kind": "catalog", "db_id": m.get_u32("dbId")?,
                        "cat_id": m.get_u32("catId")? })
            }
            -2 => {
                m.align(4, "dbId")?;
                json!({ "id": id, "kind": "relcache", "db_id": m.get_u32("dbId")?,
                        "rel_id": m.get_u32("relId")? })
            }
            -3 => {
                let hi = m.get_i8("backend_hi")?;
                let lo = m.get_u16("backend_lo")?;
                let backend = (i32::from(hi) << 16) | i32::from(lo);
                let mut o = json!({ "id": id, "kind": "smgr", "backend": backend });
                let key = if v.locators() { "rlocator" } else { "rnode" };
                o[key] = super::to_json(RelFile::read(v, &mut m, key)?);
                o
            }
            -4 => {
                m.align(4, "dbId")?;
                json!({ "id": id, "kind": "relmap", "db_id": m.get_u32("dbId")? })
            }
            -5 => {
                m.align(4, "dbId")?;
                json!({ "id": id, "kind": "snapshot", "db_id": m.get_u32("dbId")?,
                        "rel_id": m.get_u32("relId")? })
            }
            -6 if v >= PgVersion::V18 => {
                m.align(4, "dbId")?;
                json!({ "id": id, "kind": "relsync", "db_id": m.get_u32("dbId")?,
                        "relid": m.get_u32("relid")? })
            }
            _ => json!({ "id": id, "kind": "unknown" }),
        };
        msgs.push(msg);
    }
    Ok(msgs)
}

/// A C `int` count, validated against what is left for `elem_size`-byte elements.
fn count(r: &mut Reader<'_>, out: &mut Out, field: &str, elem_size: usize) -> Res<usize> {
    let n = r.get_i32(field)?;
    out.set(field, n);
    r.check_count_i32(n, elem_size, field)
}

/// ParseCommitRecord / ParseAbortRecord. Abort records have no invalidation
/// messages: ParseAbortRecord ignores XACT_XINFO_HAS_INVALS, and so do we.
fn commit_or_abort(v: PgVersion, info: u8, main: &[u8], out: &mut Out, commit: bool) -> Res<()> {
    let what = if commit {
        "xl_xact_commit"
    } else {
        "xl_xact_abort"
    };
    let mut r = Reader::new(main, what);
    out.timestamptz("xact_time", r.get_i64("xact_time")?);
    let mut xinfo = 0;
    if info & XLOG_XACT_HAS_INFO != 0 {
        xinfo = r.get_u32("xinfo")?;
        out.set("xinfo", xinfo);
        out.flags("xinfo_flags", xinfo, xinfo_flags(v));
    }
    if xinfo & XACT_XINFO_HAS_DBINFO != 0 {
        out.set("dbId", r.get_u32("dbId")?);
        out.set("tsId", r.get_u32("tsId")?);
    }
    if xinfo & XACT_XINFO_HAS_SUBXACTS != 0 {
        let n = count(&mut r, out, "nsubxacts", 4)?;
        out.set("subxacts", r.get_u32_vec(n as u64, "nsubxacts")?);
    }
    if xinfo & XACT_XINFO_HAS_RELFILENODES != 0 {
        let n = count(&mut r, out, "nrels", SIZEOF_RELFILENODE)?;
        out.set("rels", read_relfilenodes(v, &mut r, n, "nrels")?);
    }
    if xinfo & XACT_XINFO_HAS_DROPPED_STATS != 0 {
        let n = count(&mut r, out, "nstats", sizeof_stats_item(v))?;
        out.set("dropped_stats", read_stats_items(v, &mut r, n, "nstats")?);
    }
    if commit && xinfo & XACT_XINFO_HAS_INVALS != 0 {
        let n = count(&mut r, out, "nmsgs", SIZEOF_INVAL_MSG)?;
        out.set(
            "invalidation_messages",
            read_inval_msgs(v, &mut r, n, "nmsgs")?,
        );
    }
    if xinfo & XACT_XINFO_HAS_TWOPHASE != 0 {
        out.set("twophase_xid", r.get_u32("twophase_xid")?);
        if xinfo & XACT_XINFO_HAS_GID != 0 {
            out.set("twophase_gid", r.cstring("twophase_gid")?);
        }
    }
    // no alignment is guaranteed from here on
    if xinfo & XACT_XINFO_HAS_ORIGIN != 0 {
        out.lsn("origin_lsn", r.get_u64("origin_lsn")?);
        out.timestamptz("origin_timestamp", r.get_i64("origin_timestamp")?);
    }
    out.trailing(&r);
    Ok(())
}

/// ParsePrepareRecord: the whole two-phase state file header `xl_xact_prepare`
/// (72 bytes, the same 15-18) and its MAXALIGNed arrays.
fn prepare(v: PgVersion, main: &[u8], out: &mut Out) -> Res<()> {
    let mut r = Reader::new(main, "xl_xact_prepare");
    out.set("magic", format!("0x{:08X}", r.get_u32("magic")?));
    out.set("total_len", r.get_u32("total_len")?);
    out.set("xid", r.get_u32("xid")?);
    out.set("database", r.get_u32("database")?);
    out.timestamptz("prepared_at", r.get_i64("prepared_at")?);
    out.set("owner", r.get_u32("owner")?);
    let mut counts = [0i32; 6];
    let names = [
        "nsubxacts",
        "ncommitrels",
        "nabortrels",
        "ncommitstats",
        "nabortstats",
        "ninvalmsgs",
    ];
    for (c, name) in counts.iter_mut().zip(names) {
        *c = r.get_i32(name)?;
        out.set(name, *c);
    }
    out.set("initfileinval", r.get_bool("initfileinval")?);
    r.align(2, "gidlen")?;
    let gidlen = r.get_u16("gidlen")?;
    out.set("gidlen", gidlen);
    r.align(8, "origin_lsn")?;
    out.lsn("origin_lsn", r.get_u64("origin_lsn")?);
    out.timestamptz("origin_timestamp", r.get_i64("origin_timestamp")?);
    // the arrays start at MAXALIGN(sizeof(xl_xact_prepare))
    let pad = SIZEOF_XACT_PREPARE.saturating_sub(r.pos());
    r.skip(pad, "xl_xact_prepare padding")?;

    let gid = r.bytes(gidlen.into(), "gid (gidlen)")?;
    let gid = gid.split(|&b| b == 0).next().unwrap_or(&[]);
    out.set("gid", String::from_utf8_lossy(gid));

    // Each array starts MAXALIGNed; padding only follows a non-empty array.
    let [nsub, ncrels, narels, ncstats, nastats, nmsgs] = counts;
    let n = next(&mut r, nsub, 4, "nsubxacts")?;
    out.set("subxacts", r.get_u32_vec(n as u64, "nsubxacts")?);
    let n = next(&mut r, ncrels, SIZEOF_RELFILENODE, "ncommitrels")?;
    out.set(
        "commit_rels",
        read_relfilenodes(v, &mut r, n, "ncommitrels")?,
    );
    let n = next(&mut r, narels, SIZEOF_RELFILENODE, "nabortrels")?;
    out.set("abort_rels", read_relfilenodes(v, &mut r, n, "nabortrels")?);
    let n = next(&mut r, ncstats, sizeof_stats_item(v), "ncommitstats")?;
    out.set(
        "commit_stats",
        read_stats_items(v, &mut r, n, "ncommitstats")?,
    );
    let n = next(&mut r, nastats, sizeof_stats_item(v), "nabortstats")?;
    out.set(
        "abort_stats",
        read_stats_items(v, &mut r, n, "nabortstats")?,
    );
    let n = next(&mut r, nmsgs, SIZEOF_INVAL_MSG, "ninvalmsgs")?;
    out.set(
        "invalidation_messages",
        read_inval_msgs(v, &mut r, n, "ninvalmsgs")?,
    );
    // the state data is padded to MAXALIGN
    r.skip_upto(7);
    out.trailing(&r);
    Ok(())
}

/// Validates a prepare-record array count, skipping the MAXALIGN padding before a
/// non-empty array.
fn next(r: &mut Reader<'_>, n: i32, elem: usize, field: &str) -> Res<usize> {
    if n > 0 {
        r.align(8, field)?;
    }
    r.check_count_i32(n, elem, field)
}

/// `xl_xact_assignment {TransactionId xtop; int nsubxacts; TransactionId xsub[]}`.
fn assignment(main: &[u8], out: &mut Out) -> Res<()> {
    let mut r = Reader::new(main, "xl_xact_assignment");
    out.set("xtop", r.get_u32("xtop")?);
    let n = count(&mut r, out, "nsubxacts", 4)?;
    out.set("xsub", r.get_u32_vec(n as u64, "nsubxacts")?);
    out.trailing(&r);
    Ok(())
}

/// `xl_xact_invals {int nmsgs; SharedInvalidationMessage msgs[]}`.
fn invalidations(v: PgVersion, main: &[u8], out: &mut Out) -> Res<()> {
    let mut r = Reader::new(main, "xl_xact_invals");
    let n = count(&mut r, out, "nmsgs", SIZEOF_INVAL_MSG)?;
    out.set(
        "invalidation_messages",
        read_inval_msgs(v, &mut r, n, "nmsgs")?,
    );
    out.trailing(&r);
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::testutil::{ok, Sample, W};
    use super::super::RM_XACT_ID;
    use super::*;

    const T: i64 = 771_577_445_123_450;

    fn inval_msgs() -> W {
        W::new()
            // relcache: id -2, dbId 5, relId 16384
            .u8(0xFE)
            .pad(4)
            .u32(5)
            .u32(16384)
            .u32(0)
            // catcache 7: dbId 5, hashValue
            .u8(7)
            .pad(4)
            .u32(5)
            .u32(0xDEAD_BEEF)
            .u32(0)
            // smgr: id -3, backend -1 (hi -1, lo 0xFFFF), rnode
            .u8(0xFD)
            .u8(0xFF)
            .u16(0xFFFF)
            .rnode(1663, 5, 16390)
            // snapshot: dbId 0, relId 2964
            .u8(0xFB)
            .pad(4)
            .u32(0)
            .u32(2964)
            .u32(0)
    }

    fn commit_full() -> Sample {
        let xinfo = XACT_XINFO_HAS_DBINFO
            | XACT_XINFO_HAS_SUBXACTS
            | XACT_XINFO_HAS_RELFILENODES
            | XACT_XINFO_HAS_DROPPED_STATS
            | XACT_XINFO_HAS_INVALS
            | XACT_XINFO_HAS_ORIGIN
            | (1 << 30);
        let main = W::new()
            .i64(T)
            .u32(xinfo)
            .u32(5)
            .u32(1663)
            .i32(2)
            .u32(741)
            .u32(742)
            .i32(1)
            .rnode(1663, 5, 16384)
            .i32(1)
            .i32(2)
            .u32(5)
            .u32(16384)
            .i32(4)
            .bytes(&inval_msgs().build())
            .u64(0x2_0000_0100)
            .i64(0)
            .build();
        Sample::new(RM_XACT_ID, XLOG_XACT_COMMIT | XLOG_XACT_HAS_INFO, main)
    }

    fn commit_plain() -> Sample {
        Sample::new(RM_XACT_ID, XLOG_XACT_COMMIT, W::new().i64(0).build())
    }

    fn commit_prepared() -> Sample {
        let main = W::new()
            .i64(T)
            .u32(XACT_XINFO_HAS_TWOPHASE | XACT_XINFO_HAS_GID)
            .u32(900)
            .bytes(b"tx-1\0")
            .build();
        Sample::new(
            RM_XACT_ID,
            XLOG_XACT_COMMIT_PREPARED | XLOG_XACT_HAS_INFO,
            main,
        )
    }

    fn abort() -> Sample {
        let main = W::new()
            .i64(T)
            .u32(XACT_XINFO_HAS_SUBXACTS | XACT_XINFO_HAS_RELFILENODES)
            .i32(1)
            .u32(777)
            .i32(2)
            .rnode(1663, 5, 16500)
            .rnode(1663, 5, 16501)
            .build();
        Sample::new(RM_XACT_ID, XLOG_XACT_ABORT | XLOG_XACT_HAS_INFO, main)
    }

    fn abort_prepared() -> Sample {
        let main = W::new()
            .i64(T)
            .u32(XACT_XINFO_HAS_TWOPHASE | XACT_XINFO_HAS_GID | XACT_XINFO_HAS_ORIGIN)
            .u32(901)
            .bytes(b"g\0")
            .u64(0x28)
            .i64(T)
            .build();
        Sample::new(
            RM_XACT_ID,
            XLOG_XACT_ABORT_PREPARED | XLOG_XACT_HAS_INFO,
            main,
        )
    }

    fn prepare() -> Sample {
        let w = W::new()
            .u32(0x57F9_4534)
            .u32(200)
            .u32(950)
            .u32(5)
            .i64(T)
            .u32(10)
            .i32(1) // nsubxacts
            .i32(1) // ncommitrels
            .i32(0) // nabortrels
            .i32(0) // ncommitstats
            .i32(1) // nabortstats
            .i32(1) // ninvalmsgs
            .u8(1)
            .pad(2)
            .u16(5)
            .pad(8)
            .u64(0)
            .i64(0);
        assert_eq!(w.len(), SIZEOF_XACT_PREPARE);
        let main = w
            .bytes(b"gid1\0")
            .pad(8)
            .u32(951)
            .pad(8)
            .rnode(1663, 5, 17000)
            .pad(8)
            .i32(2)
            .u32(5)
            .u32(17000)
            .pad(8)
            .bytes(&inval_msgs().build()[..16])
            .build();
        Sample::new(RM_XACT_ID, XLOG_XACT_PREPARE, main)
    }

    fn assignment() -> Sample {
        let main = W::new().u32(800).i32(3).u32(801).u32(802).u32(803).build();
        Sample::new(RM_XACT_ID, XLOG_XACT_ASSIGNMENT, main)
    }

    fn invalidations() -> Sample {
        let main = W::new().i32(4).bytes(&inval_msgs().build()).build();
        Sample::new(RM_XACT_ID, XLOG_XACT_INVALIDATIONS, main)
    }

    /// PostgreSQL 18's commit: 16-byte stats items (64-bit objid) and a relsync
    /// invalidation message.
    fn commit_18() -> Sample {
        let xinfo =
            XACT_XINFO_HAS_RELFILENODES | XACT_XINFO_HAS_DROPPED_STATS | XACT_XINFO_HAS_INVALS;
        let main = W::new()
            .i64(T)
            .u32(xinfo)
            .i32(1)
            .rnode(1663, 5, 16384)
            .i32(2)
            .i32(2)
            .u32(5)
            .u32(16384)
            .u32(0)
            .i32(6)
            .u32(0)
            .u32(0x0000_0002)
            .u32(0x0000_0001)
            .i32(1)
            // relsync: id -6, dbId 5, relid 16384
            .bytes(&W::new().u8(0xFA).pad(4).u32(5).u32(16384).pad(16).build())
            .build();
        Sample::new(RM_XACT_ID, XLOG_XACT_COMMIT | XLOG_XACT_HAS_INFO, main).at(PgVersion::V18)
    }

    pub(crate) fn samples() -> Vec<Sample> {
        let mut v = vec![commit_18()];
        // 16 and 17 write 15's layouts (names aside)
        for later in [PgVersion::V16, PgVersion::V17] {
            v.extend(
                [
                    commit_full(),
                    abort(),
                    commit_prepared(),
                    prepare(),
                    invalidations(),
                ]
                .map(|s| s.at(later)),
            );
        }
        v.extend([
            commit_full(),
            commit_plain(),
            commit_prepared(),
            abort(),
            abort_prepared(),
            prepare(),
            assignment(),
            invalidations(),
        ]);
        v.extend([commit_plain(), abort_prepared(), assignment()].map(|s| s.at(PgVersion::V18)));
        v
    }

    #[test]
    fn version_18_stats_items_and_relsync() {
        let v = ok(commit_18().decode());
        assert_eq!(v["record_type"], "COMMIT");
        assert_eq!(
            v["xinfo_flags"],
            json!([
                "XACT_XINFO_HAS_RELFILELOCATORS",
                "XACT_XINFO_HAS_INVALS",
                "XACT_XINFO_HAS_DROPPED_STATS"
            ])
        );
        assert_eq!(
            v["rels"],
            json!([{"spc_oid": 1663, "db_oid": 5, "rel_number": 16384}])
        );
        assert_eq!(
            v["dropped_stats"],
            json!([
                {"kind": 2, "kind_name": "relation", "dboid": 5, "objid_lo": 16384,
                 "objid_hi": 0, "objid": 16384},
                {"kind": 6, "kind_name": "backend", "dboid": 0, "objid_lo": 2,
                 "objid_hi": 1, "objid": (1u64 << 32) | 2}
            ])
        );
        assert_eq!(
            v["invalidation_messages"],
            json!([{"id": -6, "kind": "relsync", "db_id": 5, "relid": 16384}])
        );
        // read as 17 (12-byte items), the same bytes do not line up
        let mut s = commit_18();
        s.version = PgVersion::V17;
        assert_ne!(s.decode()["dropped_stats"], v["dropped_stats"]);
    }

    #[test]
    fn version_16_names() {
        let v = ok(commit_full().at(PgVersion::V16).decode());
        assert!(v["xinfo_flags"]
            .as_array()
            .unwrap()
            .contains(&json!("XACT_XINFO_HAS_RELFILELOCATORS")));
        assert_eq!(v["rels"][0]["rel_number"], 16384);
        let smgr = &v["invalidation_messages"][2];
        assert_eq!(smgr["kind"], "smgr");
        assert_eq!(smgr["rlocator"]["db_oid"], 5);
        assert!(smgr.get("rnode").is_none());
        // stats kinds: 16 added IO before SLRU, 18 BACKEND before ARCHIVER
        assert_eq!(stats_kind_name(PgVersion::V15, 9), "slru");
        assert_eq!(stats_kind_name(PgVersion::V16, 9), "io");
        assert_eq!(stats_kind_name(PgVersion::V17, 11), "wal");
        assert_eq!(stats_kind_name(PgVersion::V18, 6), "backend");
        assert_eq!(stats_kind_name(PgVersion::V18, 12), "wal");
        assert_eq!(stats_kind_name(PgVersion::V18, 0), "invalid");
        assert_eq!(stats_kind_name(PgVersion::V18, -1), "invalid");
        // 15 has no relsync message
        let main = W::new()
            .i32(1)
            .bytes(&W::new().u8(0xFA).pad(4).u32(5).u32(1).pad(16).build())
            .build();
        let s = Sample::new(RM_XACT_ID, XLOG_XACT_INVALIDATIONS, main.clone());
        assert_eq!(
            ok(s.decode())["invalidation_messages"][0]["kind"],
            "unknown"
        );
        let s = Sample::new(RM_XACT_ID, XLOG_XACT_INVALIDATIONS, main).at(PgVersion::V18);
        assert_eq!(
            ok(s.decode())["invalidation_messages"][0]["kind"],
            "relsync"
        );
    }

    #[test]
    fn commit_with_every_part() {
        let v = ok(commit_full().decode());
        assert_eq!(v["record_type"], "COMMIT");
        assert_eq!(v["xact_time"], "2024-06-13 07:04:05.12345+00");
        assert_eq!(v["xact_time_raw"], T);
        assert_eq!(
            v["xinfo_flags"],
            json!([
                "XACT_XINFO_HAS_DBINFO",
                "XACT_XINFO_HAS_SUBXACTS",
                "XACT_XINFO_HAS_RELFILENODES",
                "XACT_XINFO_HAS_INVALS",
                "XACT_XINFO_HAS_ORIGIN",
                "XACT_XINFO_HAS_DROPPED_STATS",
                "XACT_COMPLETION_UPDATE_RELCACHE_FILE"
            ])
        );
        assert_eq!(v["db_id"], 5);
        assert_eq!(v["ts_id"], 1663);
        assert_eq!(v["nsubxacts"], 2);
        assert_eq!(v["subxacts"], json!([741, 742]));
        assert_eq!(
            v["rels"],
            json!([{"spc_node": 1663, "db_node": 5, "rel_node": 16384}])
        );
        assert_eq!(
            v["dropped_stats"],
            json!([{"kind": 2, "kind_name": "relation", "dboid": 5, "objoid": 16384}])
        );
        assert_eq!(v["nmsgs"], 4);
        let m = &v["invalidation_messages"];
        assert_eq!(
            m[0],
            json!({"id": -2, "kind": "relcache", "db_id": 5, "rel_id": 16384})
        );
        assert_eq!(m[1]["kind"], "catcache");
        assert_eq!(m[1]["id"], 7);
        assert_eq!(m[1]["hash_value"], 0xDEAD_BEEFu32);
        assert_eq!(m[2]["kind"], "smgr");
        assert_eq!(m[2]["backend"], -1);
        assert_eq!(m[2]["rnode"]["rel_node"], 16390);
        assert_eq!(m[3]["kind"], "snapshot");
        assert_eq!(v["origin_lsn"], "2/100");
        assert_eq!(v["origin_timestamp"], "2000-01-01 00:00:00+00");
        assert!(v.get("trailing_bytes").is_none());
    }

    #[test]
    fn commit_without_info() {
        let v = ok(commit_plain().decode());
        assert_eq!(v["record_type"], "COMMIT");
        assert_eq!(v["xact_time"], "2000-01-01 00:00:00+00");
        assert!(v.get("xinfo").is_none());
    }

    #[test]
    fn commit_prepared_gid() {
        let v = ok(commit_prepared().decode());
        assert_eq!(v["record_type"], "COMMIT_PREPARED");
        assert_eq!(v["twophase_xid"], 900);
        assert_eq!(v["twophase_gid"], "tx-1");
        // gid without its terminator
        let v = commit_prepared().decode_cut(20, 0);
        assert!(v["error"].as_str().unwrap().contains("no NUL"), "{v}");
        assert_eq!(v["twophase_xid"], 900);
    }

    #[test]
    fn abort_and_abort_prepared() {
        let v = ok(abort().decode());
        assert_eq!(v["record_type"], "ABORT");
        assert_eq!(v["subxacts"], json!([777]));
        assert_eq!(v["nrels"], 2);
        assert_eq!(v["rels"][1]["rel_node"], 16501);
        let v = ok(abort_prepared().decode());
        assert_eq!(v["record_type"], "ABORT_PREPARED");
        assert_eq!(v["twophase_xid"], 901);
        assert_eq!(v["twophase_gid"], "g");
        assert_eq!(v["origin_lsn"], "0/28");
        assert_eq!(v["origin_timestamp_raw"], T);
    }

    #[test]
    fn hostile_counts_are_refused() {
        for (n, needle) in [(-5, "negative"), (i32::MAX, "truncated: nsubxacts")] {
            let main = W::new()
                .i64(0)
                .u32(XACT_XINFO_HAS_SUBXACTS)
                .i32(n)
                .u32(1)
                .build();
            let v = super::super::decode(PgVersion::V15, RM_XACT_ID, 0x80, 0, &main, &[]);
            assert!(v["error"].as_str().unwrap().contains(needle), "{v}");
            assert_eq!(v["nsubxacts"], n);
        }
        let main = W::new().i32(1 << 28).build();
        let v = super::super::decode(
            PgVersion::V15,
            RM_XACT_ID,
            XLOG_XACT_INVALIDATIONS,
            0,
            &main,
            &[],
        );
        assert!(v["error"].as_str().unwrap().contains("nmsgs"), "{v}");
    }

    #[test]
    fn prepare_state() {
        let v = ok(prepare().decode());
        assert_eq!(v["record_type"], "PREPARE");
        assert_eq!(v["magic"], "0x57F94534");
        assert_eq!(v["xid"], 950);
        assert_eq!(v["database"], 5);
        assert_eq!(v["owner"], 10);
        assert_eq!(v["gid"], "gid1");
        assert_eq!(v["initfileinval"], true);
        assert_eq!(v["subxacts"], json!([951]));
        assert_eq!(v["commit_rels"][0]["rel_node"], 17000);
        assert_eq!(v["abort_rels"], json!([]));
        assert_eq!(v["abort_stats"][0]["kind_name"], "relation");
        assert_eq!(v["invalidation_messages"][0]["kind"], "relcache");
    }

    #[test]
    fn assignment_and_invalidations() {
        let v = ok(assignment().decode());
        assert_eq!(v["record_type"], "ASSIGNMENT");
        assert_eq!(v["xtop"], 800);
        assert_eq!(v["xsub"], json!([801, 802, 803]));
        let v = ok(invalidations().decode());
        assert_eq!(v["record_type"], "INVALIDATION");
        assert_eq!(v["nmsgs"], 4);
        let ids: Vec<i64> = v["invalidation_messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![-2, 7, -3, -5]);
    }

    #[test]
    fn unknown_opcode() {
        let v = super::super::decode(PgVersion::V15, RM_XACT_ID, 0x70, 0, &[], &[]);
        assert_eq!(v["record_type"], "UNKNOWN (70)");
        assert_eq!(v["undecoded"], true);
    }
}
