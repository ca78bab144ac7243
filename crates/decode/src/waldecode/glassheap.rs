//! glassheap's own records (resource manager 199) as structured JSON for
//! `glassheap.wal_records().decoded`: the codec (`glassheap_format::records`) decodes the
//! bytes, this module names the fields. Beside the decoders of PostgreSQL's resource
//! managers so that the format crate, which redo uses, carries no JSON.

use glassheap_format::records::{
    identify, BlockData, ConfirmBlock, DeleteBlock, FreezeBlock, InsertBlock, LockBlock,
    MultiInsertBlock, PruneBlock, UpdateNew, UpdateOld, VacuumBlock, VisibleBlock, WalError,
    XLOG_GH_CONFIRM, XLOG_GH_DELETE, XLOG_GH_FREEZE, XLOG_GH_INSERT, XLOG_GH_LOCK,
    XLOG_GH_MULTI_INSERT, XLOG_GH_OPMASK, XLOG_GH_PRUNE, XLOG_GH_UPDATE, XLOG_GH_VACUUM,
    XLOG_GH_VISIBLE,
};

fn body_json(body: &[u8]) -> serde_json::Value {
    serde_json::json!({ "body_length": body.len() })
}

/// Structured decoding of a glassheap record: `blocks[i]` is block i's data.
pub fn decode_json(info: u8, xid: u32, blocks: &[BlockData<'_>]) -> serde_json::Value {
    decode_json_with(
        info,
        xid,
        blocks,
        |_| serde_json::json!({ "no_data": true }),
    )
}

/// [`decode_json`] with the caller saying what stands for block `i` when it carries no
/// data (`{"fpi": true}`, `{"no_data": true}` or `{"missing": true}`, as the WAL decoders
/// of the other resource managers show it). A decoding error in any block is also
/// reported as the record's top-level `error`.
pub fn decode_json_with(
    info: u8,
    xid: u32,
    blocks: &[BlockData<'_>],
    placeholder: impl Fn(usize) -> serde_json::Value,
) -> serde_json::Value {
    use serde_json::{json, to_value, Value};
    let blk = |i: usize| blocks.get(i).copied().flatten();
    let dec = |r: Result<Value, WalError>| r.unwrap_or_else(|e| json!({ "error": e.to_string() }));
    let fpi = || placeholder(0);
    let op = info & XLOG_GH_OPMASK;
    let mut out = serde_json::Map::new();
    out.insert(
        "record_type".into(),
        json!(super::record_type(identify(info), info)),
    );
    match op {
        XLOG_GH_INSERT => {
            let v = blk(0).map(|b| {
                dec(InsertBlock::decode(b).map(|d| {
                    let mut v = to_value(&d).unwrap_or(Value::Null);
                    v["body"] = body_json(d.body);
                    v
                }))
            });
            out.insert("block0".into(), v.unwrap_or_else(fpi));
        }
        XLOG_GH_MULTI_INSERT => {
            let v = blk(0).map(|b| {
                dec(MultiInsertBlock::decode(b).map(|d| {
                    json!({
                        "init_page": d.init_page, "vm_cleared": d.vm_cleared, "frozen": d.frozen,
                        "ntuples": d.tuples.len(),
                        "offsets": d.tuples.iter().map(|t| t.offnum).collect::<Vec<_>>(),
                        "tuples": d.tuples.iter().map(|t| json!({
                            "offnum": t.offnum, "natts": t.natts, "has_nulls": t.has_nulls,
                            "body_length": t.body.len() })).collect::<Vec<_>>(),
                    })
                }))
            });
            out.insert("block0".into(), v.unwrap_or_else(fpi));
        }
        XLOG_GH_DELETE => {
            let v = blk(0)
                .map(|b| dec(DeleteBlock::decode(b).map(|d| to_value(d).unwrap_or(Value::Null))));
            out.insert("block0".into(), v.unwrap_or_else(fpi));
        }
        XLOG_GH_UPDATE => {
            let v = blk(0).map(|b| {
                dec(UpdateNew::decode(b).map(|d| {
                    let mut v = to_value(&d).unwrap_or(Value::Null);
                    v["body"] =
                        json!({ "body_length": d.body_len(), "logged_length": d.body.len() });
                    v
                }))
            });
            out.insert("block0".into(), v.unwrap_or_else(fpi));
            if blocks.len() > 1 {
                let v = blk(1).map(|b| {
                    dec(UpdateOld::decode(b, xid).map(|d| to_value(d).unwrap_or(Value::Null)))
                });
                out.insert("block1".into(), v.unwrap_or_else(|| placeholder(1)));
            }
        }
        XLOG_GH_LOCK => {
            let v = blk(0).map(|b| {
                dec(LockBlock::decode(b, xid).map(|d| to_value(d).unwrap_or(Value::Null)))
            });
            out.insert("block0".into(), v.unwrap_or_else(fpi));
        }
        XLOG_GH_CONFIRM => {
            let v = blk(0)
                .map(|b| dec(ConfirmBlock::decode(b).map(|d| to_value(d).unwrap_or(Value::Null))));
            out.insert("block0".into(), v.unwrap_or_else(fpi));
        }
        XLOG_GH_PRUNE => {
            let v = blk(0)
                .map(|b| dec(PruneBlock::decode(b).map(|d| to_value(d).unwrap_or(Value::Null))));
            out.insert("block0".into(), v.unwrap_or_else(fpi));
        }
        XLOG_GH_VACUUM => {
            let v = blk(0)
                .map(|b| dec(VacuumBlock::decode(b).map(|d| to_value(d).unwrap_or(Value::Null))));
            out.insert("block0".into(), v.unwrap_or_else(fpi));
        }
        XLOG_GH_FREEZE => {
            let v = blk(0)
                .map(|b| dec(FreezeBlock::decode(b).map(|d| to_value(d).unwrap_or(Value::Null))));
            out.insert("block0".into(), v.unwrap_or_else(fpi));
        }
        XLOG_GH_VISIBLE => {
            out.insert("block0".into(), json!({ "visibility_map_page": true }));
            let v = blk(1)
                .map(|b| dec(VisibleBlock::decode(b).map(|d| to_value(d).unwrap_or(Value::Null))));
            out.insert("block1".into(), v.unwrap_or_else(|| placeholder(1)));
        }
        _ => {
            out.insert(
                "error".into(),
                json!(format!("unknown glassheap record info {info:#04x}")),
            );
        }
    }
    let block_error = ["block0", "block1"].iter().find_map(|k| {
        out.get(*k)
            .and_then(|b| b.get("error"))
            .map(|e| format!("{k}: {}", e.as_str().unwrap_or_default()))
    });
    if let (Some(e), false) = (block_error, out.contains_key("error")) {
        out.insert("error".into(), json!(e));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassheap_format::records::{FreezeEntry, XmaxFreeze, XmaxInfo};
    use glassheap_format::tuple::XmaxMode;
    use proptest::prelude::*;

    #[test]
    fn prune_freeze_and_visible_fields() {
        let mut v = Vec::new();
        PruneBlock {
            latest_removed_xid: 745,
            redirected: vec![(1, 3)],
            dead: vec![2, 5],
            unused: vec![4],
        }
        .encode(&mut v);
        let j = decode_json(XLOG_GH_PRUNE, 0, &[Some(&v)]);
        assert_eq!(j["block0"]["dead"][1], 5, "{j}");
        assert_eq!(j["record_type"], "PRUNE", "{j}");
        let mut v = Vec::new();
        FreezeBlock {
            cutoff_xid: 900,
            tuples: vec![FreezeEntry {
                offnum: 2,
                freeze_xmin: false,
                xmax: XmaxFreeze::Replace(XmaxInfo {
                    xmax: 800,
                    mode: XmaxMode::NoKeyUpdate,
                    is_multi: false,
                }),
            }],
        }
        .encode(&mut v);
        let j = decode_json(XLOG_GH_FREEZE, 0, &[Some(&v)]);
        assert_eq!(
            j["block0"]["tuples"][0]["xmax"]["replace"]["mode"], "no_key_update",
            "{j}"
        );
        let mut v = Vec::new();
        VisibleBlock {
            cutoff_xid: 77,
            all_visible: true,
            all_frozen: true,
        }
        .encode(&mut v);
        let j = decode_json(XLOG_GH_VISIBLE, 0, &[None, Some(&v)]);
        assert_eq!(j["block1"]["all_frozen"], true, "{j}");
        assert_eq!(j["block0"]["visibility_map_page"], true, "{j}");
    }

    #[test]
    fn a_damaged_block_is_the_records_error() {
        let j = decode_json(XLOG_GH_PRUNE, 0, &[Some(&[1, 2, 3])]);
        assert!(j["error"].as_str().unwrap().starts_with("block0: "), "{j}");
        let j = decode_json(0xF0, 0, &[]);
        assert!(
            j["error"]
                .as_str()
                .unwrap()
                .contains("unknown glassheap record"),
            "{j}"
        );
    }

    proptest! {
        #[test]
        fn garbage_never_panics(info in any::<u8>(), b0 in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_json(info, 7, &[Some(&b0), None]);
        }
    }
}
