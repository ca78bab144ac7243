//! A block's history rebuilt from WAL: starting from a full-page image (or a record that
//! initialises the page), each later record that touches the block is replayed with the
//! same code redo runs (`replay`), giving the page as it was after every record. The
//! server side (`glassheap.page_history`) reads the WAL and hands each record's view of
//! the block here; this module decides what the page becomes, or why it cannot say.
//!
//! A row's history (`glassheap.row_history`) follows one version through the same
//! records: inserted, locked, updated (to the next version, whose history continues),
//! deleted, pruned (dead, unused, or redirected), frozen, freed by VACUUM.

pub use crate::rowevent::RowEvent;
use glassheap_format::pageview::{PageBytes, PageMut};
use glassheap_format::records::{
    ConfirmBlock, DeleteBlock, FreezeBlock, InsertBlock, LockBlock, MultiInsertBlock, PruneBlock,
    UpdateNew, UpdateOld, VacuumBlock, XmaxFreeze, XLOG_GH_CONFIRM, XLOG_GH_DELETE, XLOG_GH_FREEZE,
    XLOG_GH_INSERT, XLOG_GH_LOCK, XLOG_GH_MULTI_INSERT, XLOG_GH_OPMASK, XLOG_GH_PRUNE,
    XLOG_GH_UPDATE, XLOG_GH_VACUUM, XLOG_GH_VISIBLE,
};
use glassheap_format::replay;
use glassheap_format::BLCKSZ;

/// What one WAL record does to the block being followed.
pub enum BlockChange<'a> {
    /// A full-page image that redo applies: the page becomes the image.
    Image(Box<PageBytes>),
    /// A glassheap record naming the block as its block `block_id`.
    Glassheap {
        info: u8,
        block_id: u8,
        /// The block's registered data (None when it was left out for an image).
        data: Option<&'a [u8]>,
        /// The record formats the page from empty first (BKPBLOCK_WILL_INIT).
        will_init: bool,
        xid: u32,
        /// UPDATE: the block number of the record's block 0 (the new version's page).
        new_block: u32,
    },
    /// A Heap or Heap2 record naming the (heap) block as its block `block_id`: replayed
    /// by [`crate::heapreplay`].
    Heap {
        rec: crate::heapreplay::HeapRecord<'a>,
        block_id: u8,
    },
    /// A record of another resource manager that touches the block (named for the
    /// message): its change cannot be replayed here.
    Other { name: String },
}

/// The page after one record, or why there is none.
pub struct Step {
    pub page: Option<Box<PageBytes>>,
    pub note: Option<String>,
}

/// Follows one block through its records.
#[derive(Default)]
pub struct PageHistory {
    page: Option<Box<PageBytes>>,
}

impl PageHistory {
    pub fn new() -> PageHistory {
        PageHistory::default()
    }

    /// Applies the record ending at `end_lsn` (`what` names it for messages) and
    /// returns the page after it.
    pub fn apply(&mut self, end_lsn: u64, what: &str, change: BlockChange<'_>) -> Step {
        let note = match change {
            BlockChange::Image(img) => {
                let mut page = img;
                // XLogReadBufferForRedo sets the restored page's LSN to the record's end
                // (not on a new, all-zero page).
                let mut pm = PageMut::new(&mut page);
                if !pm.is_new() {
                    pm.set_lsn(end_lsn);
                }
                self.page = Some(page);
                Some("restored from the record's full-page image".to_string())
            }
            BlockChange::Glassheap {
                info,
                block_id,
                data,
                will_init,
                xid,
                new_block,
            } => {
                if will_init {
                    let mut page = Box::new([0u8; BLCKSZ]);
                    PageMut::new(&mut page).init();
                    self.page = Some(page);
                }
                match self.page.as_mut() {
                    None => Some(format!(
                        "cannot rebuild at {what}: no full-page image or initialising record of the block before it"
                    )),
                    Some(page) => {
                        let mut pm = PageMut::new(page);
                        match replay_block(&mut pm, info, block_id, data, xid, new_block) {
                            Ok(()) => {
                                pm.set_lsn(end_lsn);
                                None
                            }
                            Err(e) => {
                                self.page = None;
                                Some(format!("cannot rebuild past {what}: {e}"))
                            }
                        }
                    }
                }
            }
            BlockChange::Heap { rec, block_id } => {
                let had_page = self.page.is_some();
                match crate::heapreplay::apply(&mut self.page, &rec, block_id, end_lsn) {
                    Ok(()) => None,
                    Err(e) => {
                        self.page = None;
                        Some(match e {
                            crate::heapreplay::HeapReplayError::Failed(_) if !had_page => {
                                format!("cannot rebuild at {what}: no full-page image or initialising record of the block before it")
                            }
                            e => format!("cannot rebuild past {what}: {e}"),
                        })
                    }
                }
            }
            BlockChange::Other { name } => {
                if self.page.is_some() {
                    self.page = None;
                    Some(format!(
                        "cannot rebuild past {name} at {what}: its change to the block is not replayed by glassheap"
                    ))
                } else {
                    Some(format!("{name}: not replayed (no page to replay it on)"))
                }
            }
        };
        Step {
            page: self.page.clone(),
            note,
        }
    }
}

/// One glassheap record's change to one of its blocks.
fn replay_block(
    page: &mut PageMut<'_>,
    info: u8,
    block_id: u8,
    data: Option<&[u8]>,
    xid: u32,
    new_block: u32,
) -> Result<(), String> {
    let op = info & XLOG_GH_OPMASK;
    if op == XLOG_GH_VISIBLE {
        // block 0 is the visibility map page; block 1 the table page
        if block_id == 1 {
            replay::visible(page);
        }
        return Ok(());
    }
    let data = data.ok_or("the record carries no data for the block")?;
    let e = |e: &dyn std::fmt::Display| e.to_string();
    match (op, block_id) {
        (XLOG_GH_INSERT, 0) => {
            replay::insert(page, xid, &InsertBlock::decode(data).map_err(|x| e(&x))?)
        }
        (XLOG_GH_MULTI_INSERT, 0) => replay::multi_insert(
            page,
            xid,
            &MultiInsertBlock::decode(data).map_err(|x| e(&x))?,
        ),
        (XLOG_GH_DELETE, 0) => {
            replay::delete(page, xid, &DeleteBlock::decode(data).map_err(|x| e(&x))?)
        }
        (XLOG_GH_UPDATE, 0) => {
            replay::update_new(page, xid, &UpdateNew::decode(data).map_err(|x| e(&x))?)
        }
        (XLOG_GH_UPDATE, 1) => replay::update_old(
            page,
            xid,
            &UpdateOld::decode(data, xid).map_err(|x| e(&x))?,
            new_block,
        ),
        (XLOG_GH_LOCK, 0) => replay::lock(page, &LockBlock::decode(data, xid).map_err(|x| e(&x))?),
        (XLOG_GH_CONFIRM, 0) => {
            replay::confirm(page, &ConfirmBlock::decode(data).map_err(|x| e(&x))?)
        }
        (XLOG_GH_PRUNE, 0) => replay::prune(page, &PruneBlock::decode(data).map_err(|x| e(&x))?),
        (XLOG_GH_VACUUM, 0) => replay::vacuum(page, &VacuumBlock::decode(data).map_err(|x| e(&x))?),
        (XLOG_GH_FREEZE, 0) => replay::freeze(page, &FreezeBlock::decode(data).map_err(|x| e(&x))?),
        _ => {
            return Err(format!(
                "block {block_id} of record type {op:#04x} is unknown"
            ))
        }
    }
    .map_err(|x| e(&x))
}

/// What a glassheap record does to the version at `tid` (on block `blk` = the block
/// the record names as `block_id`), and the next version to follow when the record
/// moves the row on (an UPDATE). None when the record does not concern the version.
pub fn row_event(
    info: u8,
    xid: u32,
    block_id: u8,
    data: &[u8],
    blk: u32,
    tid: (u32, u16),
    new_block: u32,
) -> Option<(RowEvent, Option<(u32, u16)>)> {
    if blk != tid.0 {
        return None;
    }
    let off = tid.1;
    let op = info & XLOG_GH_OPMASK;
    let ev = |event: &str, detail: String| RowEvent {
        tid,
        event: event.to_string(),
        detail,
    };
    match (op, block_id) {
        (XLOG_GH_INSERT, 0) => {
            let d = InsertBlock::decode(data).ok()?;
            (d.offnum == off).then(|| {
                let kind = if d.speculative {
                    "speculative insertion"
                } else {
                    "new row"
                };
                (
                    ev(
                        "inserted",
                        format!("{kind}, {} bytes of data", d.body.len()),
                    ),
                    None,
                )
            })
        }
        (XLOG_GH_MULTI_INSERT, 0) => {
            let d = MultiInsertBlock::decode(data).ok()?;
            let t = d.tuples.iter().find(|t| t.offnum == off)?;
            let frozen = if d.frozen {
                ", frozen (COPY FREEZE)"
            } else {
                ""
            };
            Some((
                ev(
                    "inserted",
                    format!(
                        "by COPY/multi-insert, {} bytes of data{frozen}",
                        t.body.len()
                    ),
                ),
                None,
            ))
        }
        (XLOG_GH_DELETE, 0) => {
            let d = DeleteBlock::decode(data).ok()?;
            (d.offnum == off).then(|| {
                let what = if d.super_delete {
                    "speculative insertion cancelled (super-delete)".to_string()
                } else if d.moved_partitions {
                    "moved to another partition".to_string()
                } else {
                    format!("xmax {}", d.xmax.xmax)
                };
                (ev("deleted", what), None)
            })
        }
        (XLOG_GH_UPDATE, 0) => {
            let n = UpdateNew::decode(data).ok()?;
            let o = n.same_page_old.as_ref()?;
            (o.offnum == off).then(|| {
                let hot = if n.heap_only { " (HOT)" } else { "" };
                (
                    ev(
                        "updated",
                        format!("to ({blk},{}) on the same page{hot}", n.offnum),
                    ),
                    Some((blk, n.offnum)),
                )
            })
        }
        (XLOG_GH_UPDATE, 1) => {
            let o = UpdateOld::decode(data, xid).ok()?;
            (o.offnum == off).then(|| {
                (
                    ev(
                        "updated",
                        format!("to ({new_block},{}) on another page", o.new_offnum),
                    ),
                    Some((new_block, o.new_offnum)),
                )
            })
        }
        (XLOG_GH_LOCK, 0) => {
            let l = LockBlock::decode(data, xid).ok()?;
            (l.offnum == off).then(|| {
                let multi = if l.xmax.is_multi { " (MultiXact)" } else { "" };
                (
                    ev(
                        "locked",
                        format!("{} by {}{multi}", l.xmax.mode.name(), l.xmax.xmax),
                    ),
                    None,
                )
            })
        }
        (XLOG_GH_CONFIRM, 0) => {
            let c = ConfirmBlock::decode(data).ok()?;
            (c.offnum == off).then(|| (ev("confirmed", "speculative insertion kept".into()), None))
        }
        (XLOG_GH_PRUNE, 0) => {
            let p = PruneBlock::decode(data).ok()?;
            if let Some(&(_, to)) = p.redirected.iter().find(|r| r.0 == off) {
                return Some((
                    ev(
                        "pruned",
                        format!("line pointer redirected to ({blk},{to}): the chain's root"),
                    ),
                    None,
                ));
            }
            if p.dead.contains(&off) {
                return Some((
                    ev(
                        "pruned",
                        "storage removed; the line pointer stays LP_DEAD until VACUUM removes its index entries".into(),
                    ),
                    None,
                ));
            }
            p.unused.contains(&off).then(|| {
                (
                    ev(
                        "pruned",
                        "storage and line pointer freed (a heap-only version)".into(),
                    ),
                    None,
                )
            })
        }
        (XLOG_GH_VACUUM, 0) => {
            let v = VacuumBlock::decode(data).ok()?;
            v.unused.contains(&off).then(|| {
                (
                    ev(
                        "vacuumed",
                        "index entries removed; the line pointer is free for reuse".into(),
                    ),
                    None,
                )
            })
        }
        (XLOG_GH_FREEZE, 0) => {
            let f = FreezeBlock::decode(data).ok()?;
            let e = f.tuples.iter().find(|e| e.offnum == off)?;
            let mut what = Vec::new();
            if e.freeze_xmin {
                what.push("xmin frozen".to_string());
            }
            match &e.xmax {
                XmaxFreeze::Keep => {}
                XmaxFreeze::Invalidate => what.push("xmax cleared".into()),
                XmaxFreeze::Replace(x) => what.push(format!("xmax replaced by {}", x.xmax)),
            }
            Some((
                ev(
                    "frozen",
                    format!("{} (cutoff {})", what.join(", "), f.cutoff_xid),
                ),
                None,
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassheap_format::pageview::Page;
    use glassheap_format::records::XmaxInfo;
    use glassheap_format::testpages::{fresh, same_after_mask};
    use glassheap_format::transition;
    use glassheap_format::tuple::XmaxMode;

    fn insert_rec(off: u16, body: &[u8]) -> Vec<u8> {
        let mut rec = Vec::new();
        InsertBlock {
            offnum: off,
            natts: 1,
            has_nulls: false,
            init_page: off == 1,
            vm_cleared: false,
            speculative: false,
            body,
        }
        .encode(&mut rec);
        rec
    }

    #[test]
    fn from_init_through_delete_and_prune() {
        // the primary's page, built with the write path's calls
        let mut primary = fresh();
        let mut h = PageHistory::new();
        let lsn = std::cell::Cell::new(0x100u64);
        let step = |h: &mut PageHistory, c: BlockChange<'_>| {
            lsn.set(lsn.get() + 0x40);
            h.apply(lsn.get(), "rec", c)
        };
        let recs: Vec<Vec<u8>> = (1..=3u16).map(|o| insert_rec(o, &[o as u8; 12])).collect();
        for (i, rec) in recs.iter().enumerate() {
            let off = i as u16 + 1;
            let mut t = transition::new_tuple(10, 1, false, false, None, false)
                .to_bytes()
                .to_vec();
            t.extend_from_slice(&[off as u8; 12]);
            assert_eq!(PageMut::new(&mut primary).add_item(&t), Ok(off));
            let s = step(
                &mut h,
                BlockChange::Glassheap {
                    info: XLOG_GH_INSERT,
                    block_id: 0,
                    data: Some(rec),
                    will_init: off == 1,
                    xid: 10,
                    new_block: 0,
                },
            );
            assert!(s.note.is_none(), "{:?}", s.note);
            assert_eq!(same_after_mask(&primary, s.page.as_ref().unwrap()), Ok(()));
        }
        let d = DeleteBlock {
            offnum: 2,
            vm_cleared: false,
            super_delete: false,
            moved_partitions: false,
            xmax: XmaxInfo {
                xmax: 11,
                mode: XmaxMode::Update,
                is_multi: false,
            },
        };
        let mut rec = Vec::new();
        d.encode(&mut rec);
        let s = step(
            &mut h,
            BlockChange::Glassheap {
                info: XLOG_GH_DELETE,
                block_id: 0,
                data: Some(&rec),
                will_init: false,
                xid: 11,
                new_block: 0,
            },
        );
        let page = s.page.unwrap();
        assert_eq!(Page::new(&page).tuple_header(2).unwrap().xmax, 11);
        assert_eq!(Page::new(&page).lsn(), lsn.get());
        // another resource manager's record: the rebuild stops, and says so
        let s = step(
            &mut h,
            BlockChange::Other {
                name: "Heap2/NEW_CID".into(),
            },
        );
        assert!(s.page.is_none());
        assert!(s
            .note
            .unwrap()
            .contains("cannot rebuild past Heap2/NEW_CID"));
        // until an image restarts it
        let s = step(&mut h, BlockChange::Image(primary.clone()));
        assert!(s.page.is_some());
    }

    #[test]
    fn nothing_to_start_from() {
        let mut h = PageHistory::new();
        let rec = insert_rec(2, b"abc");
        let s = h.apply(
            8,
            "INSERT at 0/8",
            BlockChange::Glassheap {
                info: XLOG_GH_INSERT,
                block_id: 0,
                data: Some(&rec),
                will_init: false,
                xid: 5,
                new_block: 0,
            },
        );
        assert!(s.page.is_none());
        assert!(s.note.unwrap().contains("no full-page image"));
    }

    #[test]
    fn a_record_that_does_not_fit_stops_the_rebuild() {
        let mut h = PageHistory::new();
        h.apply(8, "image", BlockChange::Image(fresh()));
        let rec = insert_rec(5, b"abc");
        let s = h.apply(
            16,
            "INSERT at 0/10",
            BlockChange::Glassheap {
                info: XLOG_GH_INSERT,
                block_id: 0,
                data: Some(&rec),
                will_init: false,
                xid: 5,
                new_block: 0,
            },
        );
        assert!(s.page.is_none());
        assert!(s
            .note
            .unwrap()
            .starts_with("cannot rebuild past INSERT at 0/10"));
    }

    #[test]
    fn row_events_follow_updates() {
        let o = UpdateOld {
            offnum: 3,
            vm_cleared: false,
            xmax: XmaxInfo {
                xmax: 9,
                mode: XmaxMode::NoKeyUpdate,
                is_multi: false,
            },
            new_offnum: 7,
        };
        let mut rec = Vec::new();
        o.encode_old_page(&mut rec, 9);
        let (e, next) = row_event(XLOG_GH_UPDATE, 9, 1, &rec, 4, (4, 3), 12).unwrap();
        assert_eq!(e.event, "updated");
        assert_eq!(next, Some((12, 7)));
        assert!(row_event(XLOG_GH_UPDATE, 9, 1, &rec, 4, (4, 2), 12).is_none());
        assert!(row_event(XLOG_GH_UPDATE, 9, 1, &rec, 5, (4, 3), 12).is_none());
        let p = PruneBlock {
            latest_removed_xid: 0,
            redirected: vec![(1, 3)],
            dead: vec![2],
            unused: vec![4],
        };
        let mut rec = Vec::new();
        p.encode(&mut rec);
        for (off, word) in [(1, "redirected"), (2, "LP_DEAD"), (4, "freed")] {
            let (e, _) = row_event(XLOG_GH_PRUNE, 0, 0, &rec, 0, (0, off), 0).unwrap();
            assert!(e.detail.contains(word), "{}", e.detail);
        }
    }
}
