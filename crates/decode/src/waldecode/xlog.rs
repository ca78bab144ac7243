//! RM_XLOG_ID (0) records. Mirrors PostgreSQL 15-18 `src/include/catalog/pg_control.h`
//! (info codes, `CheckPoint`) and `src/include/access/xlog_internal.h`
//! (`xl_parameter_change`, `xl_restore_point`, `xl_end_of_recovery`,
//! `xl_overwrite_contrecord`); names from `xlog_identify` in
//! `src/backend/access/rmgrdesc/xlogdesc.c`.
//!
//! PG15 `CheckPoint` (88 bytes, fields at their C offsets): `XLogRecPtr redo` @0,
//! `ThisTimeLineID` @8, `PrevTimeLineID` @12, `bool fullPageWrites` @16,
//! `FullTransactionId nextXid` @24, `nextOid` @32, `nextMulti` @36,
//! `nextMultiOffset` @40, `oldestXid` @44, `oldestXidDB` @48, `oldestMulti` @52,
//! `oldestMultiDB` @56, `pg_time_t time` @64, `oldestCommitTsXid` @72,
//! `newestCommitTsXid` @76, `oldestActiveXid` @80. PostgreSQL 17 added `int wal_level`
//! to CheckPoint (@20, in what was padding: still 88 bytes) and to xl_end_of_recovery
//! (@16, 24 bytes), and the CHECKPOINT_REDO record (0xE0, main data `int wal_level`);
//! 16's formats are 15's, 18's are 17's.

use super::reader::{Reader, Res};
use super::{pg_time_str, record_type, BlockRef, Out, PgVersion, XLR_INFO_MASK};
use serde::Serialize;
use serde_json::Value;

pub const XLOG_CHECKPOINT_SHUTDOWN: u8 = 0x00;
pub const XLOG_CHECKPOINT_ONLINE: u8 = 0x10;
pub const XLOG_NOOP: u8 = 0x20;
pub const XLOG_NEXTOID: u8 = 0x30;
pub const XLOG_SWITCH: u8 = 0x40;
pub const XLOG_BACKUP_END: u8 = 0x50;
pub const XLOG_PARAMETER_CHANGE: u8 = 0x60;
pub const XLOG_RESTORE_POINT: u8 = 0x70;
pub const XLOG_FPW_CHANGE: u8 = 0x80;
pub const XLOG_END_OF_RECOVERY: u8 = 0x90;
pub const XLOG_FPI_FOR_HINT: u8 = 0xA0;
pub const XLOG_FPI: u8 = 0xB0;
/// 0xC0 was used in PostgreSQL 9.5 - 11.
pub const XLOG_OVERWRITE_CONTRECORD: u8 = 0xD0;
/// PostgreSQL 17+.
pub const XLOG_CHECKPOINT_REDO: u8 = 0xE0;

/// MAXFNAMELEN, the size of xl_restore_point.rp_name.
const MAXFNAMELEN: usize = 64;

/// `xlog_identify`.
pub fn identify(v: PgVersion, info: u8) -> Option<&'static str> {
    Some(match info & !XLR_INFO_MASK {
        XLOG_CHECKPOINT_REDO if v >= PgVersion::V17 => "CHECKPOINT_REDO",
        XLOG_CHECKPOINT_SHUTDOWN => "CHECKPOINT_SHUTDOWN",
        XLOG_CHECKPOINT_ONLINE => "CHECKPOINT_ONLINE",
        XLOG_NOOP => "NOOP",
        XLOG_NEXTOID => "NEXTOID",
        XLOG_SWITCH => "SWITCH",
        XLOG_BACKUP_END => "BACKUP_END",
        XLOG_PARAMETER_CHANGE => "PARAMETER_CHANGE",
        XLOG_RESTORE_POINT => "RESTORE_POINT",
        XLOG_FPW_CHANGE => "FPW_CHANGE",
        XLOG_END_OF_RECOVERY => "END_OF_RECOVERY",
        XLOG_OVERWRITE_CONTRECORD => "OVERWRITE_CONTRECORD",
        XLOG_FPI => "FPI",
        XLOG_FPI_FOR_HINT => "FPI_FOR_HINT",
        _ => return None,
    })
}

/// `wal_level` names as xlogdesc.c's `get_wal_level_string` gives them.
fn wal_level_name(v: i32) -> &'static str {
    match v {
        0 => "minimal",
        1 => "replica",
        2 => "logical",
        _ => "?",
    }
}

#[derive(Debug, Serialize)]
struct BlockSummary {
    block_id: u8,
    has_image: bool,
    data_length: Option<usize>,
}

pub(crate) fn decode(v: PgVersion, info: u8, main: &[u8], blocks: &[BlockRef<'_>]) -> Value {
    let mut out = Out::new(record_type(identify(v, info), info));
    let res = decode_into(v, info, main, blocks, &mut out);
    out.finish(res)
}

/// A `wal_level` field and its name.
fn wal_level(r: &mut Reader<'_>, out: &mut Out) -> Res<()> {
    let wal_level = r.get_i32("wal_level")?;
    out.set("wal_level", wal_level);
    out.put("wal_level_name", wal_level_name(wal_level));
    Ok(())
}

fn decode_into(
    v: PgVersion,
    info: u8,
    main: &[u8],
    blocks: &[BlockRef<'_>],
    out: &mut Out,
) -> Res<()> {
    match info & !XLR_INFO_MASK {
        XLOG_CHECKPOINT_SHUTDOWN | XLOG_CHECKPOINT_ONLINE => {
            let mut r = Reader::new(main, "CheckPoint");
            checkpoint(v, &mut r, out)?;
            // sizeof(CheckPoint) is 88, the last field ends at 84
            r.skip_upto(4);
            out.trailing(&r);
        }
        XLOG_NOOP => out.put("data_length", main.len()),
        XLOG_NEXTOID => {
            let mut r = Reader::new(main, "XLOG_NEXTOID");
            out.set("nextOid", r.get_u32("nextOid")?);
            out.trailing(&r);
        }
        XLOG_SWITCH => out.trailing(&Reader::new(main, "XLOG_SWITCH")),
        XLOG_BACKUP_END => {
            let mut r = Reader::new(main, "XLOG_BACKUP_END");
            out.lsn("startpoint", r.get_u64("startpoint")?);
            out.trailing(&r);
        }
        XLOG_PARAMETER_CHANGE => {
            let mut r = Reader::new(main, "xl_parameter_change");
            for f in [
                "MaxConnections",
                "max_worker_processes",
                "max_wal_senders",
                "max_prepared_xacts",
                "max_locks_per_xact",
            ] {
                out.set(f, r.get_i32(f)?);
            }
            wal_level(&mut r, out)?;
            out.set("wal_log_hints", r.get_bool("wal_log_hints")?);
            out.set(
                "track_commit_timestamp",
                r.get_bool("track_commit_timestamp")?,
            );
            // sizeof is 28, the last field ends at 26
            r.skip_upto(2);
            out.trailing(&r);
        }
        XLOG_RESTORE_POINT => {
            let mut r = Reader::new(main, "xl_restore_point");
            out.timestamptz("rp_time", r.get_i64("rp_time")?);
            let name = r.bytes(MAXFNAMELEN, "rp_name")?;
            let name = name.split(|&b| b == 0).next().unwrap_or(&[]);
            out.set("rp_name", String::from_utf8_lossy(name));
            out.trailing(&r);
        }
        XLOG_FPW_CHANGE => {
            let mut r = Reader::new(main, "XLOG_FPW_CHANGE");
            out.set("fpw", r.get_bool("fpw")?);
            out.trailing(&r);
        }
        XLOG_END_OF_RECOVERY => {
            let mut r = Reader::new(main, "xl_end_of_recovery");
            out.timestamptz("end_time", r.get_i64("end_time")?);
            out.set("ThisTimeLineID", r.get_u32("ThisTimeLineID")?);
            out.set("PrevTimeLineID", r.get_u32("PrevTimeLineID")?);
            if v >= PgVersion::V17 {
                wal_level(&mut r, out)?;
                // sizeof is 24, the last field ends at 20
                r.skip_upto(4);
            }
            out.trailing(&r);
        }
        XLOG_CHECKPOINT_REDO if v >= PgVersion::V17 => {
            let mut r = Reader::new(main, "XLOG_CHECKPOINT_REDO");
            wal_level(&mut r, out)?;
            out.trailing(&r);
        }
        XLOG_OVERWRITE_CONTRECORD => {
            let mut r = Reader::new(main, "xl_overwrite_contrecord");
            out.lsn("overwritten_lsn", r.get_u64("overwritten_lsn")?);
            out.timestamptz("overwrite_time", r.get_i64("overwrite_time")?);
            out.trailing(&r);
        }
        XLOG_FPI | XLOG_FPI_FOR_HINT => {
            // Only block images; no main data.
            let summary: Vec<BlockSummary> = blocks
                .iter()
                .map(|b| BlockSummary {
                    block_id: b.block_id,
                    has_image: b.has_image,
                    data_length: b.data.map(<[u8]>::len),
                })
                .collect();
            out.put("blocks", summary);
            out.trailing(&Reader::new(main, "XLOG_FPI"));
        }
        _ => out.put("undecoded", true),
    }
    Ok(())
}

fn checkpoint(v: PgVersion, r: &mut Reader<'_>, out: &mut Out) -> Res<()> {
    out.lsn("redo", r.get_u64("redo")?);
    out.set("ThisTimeLineID", r.get_u32("ThisTimeLineID")?);
    out.set("PrevTimeLineID", r.get_u32("PrevTimeLineID")?);
    out.set("fullPageWrites", r.get_bool("fullPageWrites")?);
    if v >= PgVersion::V17 {
        r.align(4, "wal_level")?;
        wal_level(r, out)?;
    }
    r.align(8, "nextXid")?;
    out.full_xid("nextXid", r.get_u64("nextXid")?);
    for f in [
        "nextOid",
        "nextMulti",
        "nextMultiOffset",
        "oldestXid",
        "oldestXidDB",
        "oldestMulti",
        "oldestMultiDB",
    ] {
        out.set(f, r.get_u32(f)?);
    }
    r.align(8, "time")?;
    let t = r.get_i64("time")?;
    out.set("time", pg_time_str(t));
    out.put("time_raw", t);
    for f in ["oldestCommitTsXid", "newestCommitTsXid", "oldestActiveXid"] {
        out.set(f, r.get_u32(f)?);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::testutil::{ok, Sample, W};
    use super::super::{lsn_str, RM_XLOG_ID};
    use super::*;
    use serde_json::json;

    fn checkpoint_bytes() -> Vec<u8> {
        let w = W::new()
            .u64(0x0000_0001_0A00_0028)
            .u32(1)
            .u32(1)
            .u8(1)
            .pad(8)
            .u64((2u64 << 32) | 745)
            .u32(24576)
            .u32(1)
            .u32(0)
            .u32(716)
            .u32(1)
            .u32(1)
            .u32(5)
            .pad(8)
            .i64(1_718_348_645)
            .u32(0)
            .u32(0)
            .u32(745);
        assert_eq!(w.len(), 84);
        w.pad(8).build()
    }

    fn checkpoint(info: u8) -> Sample {
        Sample::new(RM_XLOG_ID, info, checkpoint_bytes())
    }

    fn noop() -> Sample {
        Sample::new(RM_XLOG_ID, XLOG_NOOP, vec![1, 2, 3])
    }

    fn nextoid() -> Sample {
        Sample::new(RM_XLOG_ID, XLOG_NEXTOID, W::new().u32(24576).build())
    }

    fn switch() -> Sample {
        Sample::new(RM_XLOG_ID, XLOG_SWITCH, Vec::new())
    }

    fn backup_end() -> Sample {
        Sample::new(
            RM_XLOG_ID,
            XLOG_BACKUP_END,
            W::new().u64(0x3_0000_0060).build(),
        )
    }

    fn parameter_change() -> Sample {
        let main = W::new()
            .i32(100)
            .i32(8)
            .i32(10)
            .i32(0)
            .i32(64)
            .i32(2)
            .u8(1)
            .u8(0)
            .pad(4)
            .build();
        Sample::new(RM_XLOG_ID, XLOG_PARAMETER_CHANGE, main)
    }

    fn restore_point() -> Sample {
        let mut name = b"before_upgrade".to_vec();
        name.resize(MAXFNAMELEN, 0);
        let main = W::new().i64(0).bytes(&name).build();
        Sample::new(RM_XLOG_ID, XLOG_RESTORE_POINT, main)
    }

    fn fpw_change() -> Sample {
        Sample::new(RM_XLOG_ID, XLOG_FPW_CHANGE, vec![0])
    }

    fn end_of_recovery() -> Sample {
        let main = W::new().i64(1_000_000).u32(2).u32(1).build();
        Sample::new(RM_XLOG_ID, XLOG_END_OF_RECOVERY, main)
    }

    fn fpi(info: u8) -> Sample {
        Sample::new(RM_XLOG_ID, info, Vec::new()).image(0).image(1)
    }

    fn overwrite_contrecord() -> Sample {
        let main = W::new().u64(0x1_00FF_E000).i64(-1).build();
        Sample::new(RM_XLOG_ID, XLOG_OVERWRITE_CONTRECORD, main)
    }

    /// PostgreSQL 17's CheckPoint: wal_level (logical) where 15 had padding.
    fn checkpoint_17(info: u8) -> Sample {
        let mut main = checkpoint_bytes();
        main[20..24].copy_from_slice(&2i32.to_le_bytes());
        Sample::new(RM_XLOG_ID, info, main).at(PgVersion::V17)
    }

    fn end_of_recovery_17() -> Sample {
        let main = W::new().i64(1_000_000).u32(2).u32(1).i32(1).pad(8).build();
        assert_eq!(main.len(), 24);
        Sample::new(RM_XLOG_ID, XLOG_END_OF_RECOVERY, main).at(PgVersion::V17)
    }

    fn checkpoint_redo() -> Sample {
        Sample::new(RM_XLOG_ID, XLOG_CHECKPOINT_REDO, W::new().i32(1).build()).at(PgVersion::V18)
    }

    pub(crate) fn samples() -> Vec<Sample> {
        let mut v = vec![
            checkpoint_17(XLOG_CHECKPOINT_ONLINE),
            checkpoint_17(XLOG_CHECKPOINT_SHUTDOWN).at(PgVersion::V18),
            end_of_recovery_17(),
            end_of_recovery_17().at(PgVersion::V18),
            checkpoint_redo(),
            checkpoint_redo().at(PgVersion::V17),
            checkpoint(XLOG_CHECKPOINT_ONLINE).at(PgVersion::V16),
            end_of_recovery().at(PgVersion::V16),
        ];
        for later in [PgVersion::V16, PgVersion::V17, PgVersion::V18] {
            v.extend(
                [
                    nextoid(),
                    switch(),
                    parameter_change(),
                    restore_point(),
                    fpi(XLOG_FPI_FOR_HINT),
                    overwrite_contrecord(),
                ]
                .map(|s| s.at(later)),
            );
        }
        v.extend([
            checkpoint(XLOG_CHECKPOINT_SHUTDOWN),
            checkpoint(XLOG_CHECKPOINT_ONLINE),
            noop(),
            nextoid(),
            switch(),
            backup_end(),
            parameter_change(),
            restore_point(),
            fpw_change(),
            end_of_recovery(),
            fpi(XLOG_FPI),
            fpi(XLOG_FPI_FOR_HINT),
            overwrite_contrecord(),
        ]);
        v
    }

    #[test]
    fn wal_level_from_17() {
        let v = ok(checkpoint_17(XLOG_CHECKPOINT_ONLINE).decode());
        assert_eq!(v["wal_level"], 2);
        assert_eq!(v["wal_level_name"], "logical");
        assert_eq!(v["next_xid_text"], "2:745");
        assert_eq!(v["oldest_active_xid"], 745);
        // 15 and 16 have no wal_level there (the bytes are padding)
        let mut s = checkpoint_17(XLOG_CHECKPOINT_ONLINE);
        s.version = PgVersion::V16;
        let v16 = ok(s.decode());
        assert!(v16.get("wal_level").is_none());
        assert_eq!(v16["next_xid_text"], "2:745");

        let v = ok(end_of_recovery_17().decode());
        assert_eq!(v["this_time_line_id"], 2);
        assert_eq!(v["wal_level_name"], "replica");
        assert!(v.get("trailing_bytes").is_none());

        let v = ok(checkpoint_redo().decode());
        assert_eq!(v["record_type"], "CHECKPOINT_REDO");
        assert_eq!(v["wal_level_name"], "replica");
        // no such record before 17
        assert_eq!(identify(PgVersion::V16, XLOG_CHECKPOINT_REDO), None);
        let mut s = checkpoint_redo();
        s.version = PgVersion::V16;
        let v = s.decode();
        assert_eq!(v["record_type"], "UNKNOWN (e0)");
        assert_eq!(v["undecoded"], true);
    }

    #[test]
    fn checkpoints() {
        for (info, name) in [
            (XLOG_CHECKPOINT_SHUTDOWN, "CHECKPOINT_SHUTDOWN"),
            (XLOG_CHECKPOINT_ONLINE, "CHECKPOINT_ONLINE"),
        ] {
            let v = ok(checkpoint(info).decode());
            assert_eq!(
                v,
                json!({
                    "record_type": name,
                    "redo": "1/A000028",
                    "this_time_line_id": 1, "prev_time_line_id": 1,
                    "full_page_writes": true,
                    "next_xid": (2u64 << 32) | 745, "next_xid_text": "2:745",
                    "next_oid": 24576, "next_multi": 1, "next_multi_offset": 0,
                    "oldest_xid": 716, "oldest_xid_db": 1,
                    "oldest_multi": 1, "oldest_multi_db": 5,
                    "time": "2024-06-14 07:04:05+00", "time_raw": 1_718_348_645,
                    "oldest_commit_ts_xid": 0, "newest_commit_ts_xid": 0,
                    "oldest_active_xid": 745
                })
            );
        }
        // 84 bytes (SizeOf, no tail padding) is enough
        let v = ok(checkpoint(XLOG_CHECKPOINT_ONLINE).decode_cut(84, 0));
        assert_eq!(v["oldest_active_xid"], 745);
        let v = checkpoint(XLOG_CHECKPOINT_ONLINE).decode_cut(83, 0);
        assert!(v["error"]
            .as_str()
            .unwrap()
            .starts_with("CheckPoint: truncated reading oldestActiveXid at offset 80"));
        assert_eq!(v["newest_commit_ts_xid"], 0);
    }

    #[test]
    fn small_records() {
        let v = ok(noop().decode());
        assert_eq!(v["record_type"], "NOOP");
        assert_eq!(v["data_length"], 3);
        let v = ok(nextoid().decode());
        assert_eq!(v["record_type"], "NEXTOID");
        assert_eq!(v["next_oid"], 24576);
        let v = ok(switch().decode());
        assert_eq!(v, json!({ "record_type": "SWITCH" }));
        let v = ok(backup_end().decode());
        assert_eq!(v["record_type"], "BACKUP_END");
        assert_eq!(v["startpoint"], "3/60");
        let v = ok(fpw_change().decode());
        assert_eq!(v["record_type"], "FPW_CHANGE");
        assert_eq!(v["fpw"], false);
    }

    #[test]
    fn parameter_change_fields() {
        let v = ok(parameter_change().decode());
        assert_eq!(v["record_type"], "PARAMETER_CHANGE");
        assert_eq!(v["max_connections"], 100);
        assert_eq!(v["max_worker_processes"], 8);
        assert_eq!(v["max_wal_senders"], 10);
        assert_eq!(v["max_prepared_xacts"], 0);
        assert_eq!(v["max_locks_per_xact"], 64);
        assert_eq!(v["wal_level"], 2);
        assert_eq!(v["wal_level_name"], "logical");
        assert_eq!(v["wal_log_hints"], true);
        assert_eq!(v["track_commit_timestamp"], false);
    }

    #[test]
    fn restore_point_and_end_of_recovery() {
        let v = ok(restore_point().decode());
        assert_eq!(v["record_type"], "RESTORE_POINT");
        assert_eq!(v["rp_name"], "before_upgrade");
        assert_eq!(v["rp_time"], "2000-01-01 00:00:00+00");
        let v = ok(end_of_recovery().decode());
        assert_eq!(v["record_type"], "END_OF_RECOVERY");
        assert_eq!(v["end_time"], "2000-01-01 00:00:01+00");
        assert_eq!(v["this_time_line_id"], 2);
        assert_eq!(v["prev_time_line_id"], 1);
    }

    #[test]
    fn fpi_records_list_their_images() {
        for (info, name) in [(XLOG_FPI, "FPI"), (XLOG_FPI_FOR_HINT, "FPI_FOR_HINT")] {
            let v = ok(fpi(info).decode());
            assert_eq!(v["record_type"], name);
            assert_eq!(
                v["blocks"],
                json!([
                    {"block_id": 0, "has_image": true, "data_length": null},
                    {"block_id": 1, "has_image": true, "data_length": null}
                ])
            );
        }
    }

    #[test]
    fn overwrite_contrecord_fields() {
        let v = ok(overwrite_contrecord().decode());
        assert_eq!(v["record_type"], "OVERWRITE_CONTRECORD");
        assert_eq!(v["overwritten_lsn"], "1/FFE000");
        assert_eq!(v["overwrite_time"], "1999-12-31 23:59:59.999999+00");
    }

    #[test]
    fn unused_codes_are_unknown() {
        for info in [0xC0u8, 0xE0, 0xF0] {
            let v = super::super::decode(PgVersion::V15, RM_XLOG_ID, info, 0, &[1, 2], &[]);
            assert_eq!(v["record_type"], format!("UNKNOWN ({info:x})"));
            assert_eq!(v["undecoded"], true);
        }
        // xlog.c's low bits do not change the type
        assert_eq!(
            identify(PgVersion::V15, XLOG_CHECKPOINT_ONLINE | 0x0F),
            Some("CHECKPOINT_ONLINE")
        );
        assert_eq!(lsn_str(0x1_0000_0000), "1/0");
    }
}
