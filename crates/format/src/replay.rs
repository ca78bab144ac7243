//! What each glassheap WAL record does to the page it names: the page half of redo,
//! without buffers, locks, the visibility map or the free space map (those stay with
//! the resource manager in `src/rmgr/redo.rs`). Given the page as it was before the
//! record and the record's decoded block data, each function leaves the page as the
//! primary left it, by the same `pageview` and `transition` code the primary ran.
//!
//! A record that does not fit the page (an offset past the array, a version that is
//! not there) is an error naming what did not fit; redo turns it into a PANIC, as heap's
//! redo does, and a page rebuilt from WAL by the toolkit reports where it stopped.

use crate::pageview::{PageChangeError, PageMut};
use crate::records::{
    rebuild_body, ConfirmBlock, DeleteBlock, FreezeBlock, InsertBlock, LockBlock, MultiInsertBlock,
    PruneBlock, UpdateNew, UpdateOld, VacuumBlock, WalError,
};
use crate::transition;
use crate::tuple::{TupleHeader, HEADER_SIZE};
use crate::Xid;

/// Why a record could not be replayed on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayError {
    Page(PageChangeError),
    Record(WalError),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Page(e) => e.fmt(f),
            ReplayError::Record(e) => e.fmt(f),
        }
    }
}
impl std::error::Error for ReplayError {}

impl From<PageChangeError> for ReplayError {
    fn from(e: PageChangeError) -> Self {
        ReplayError::Page(e)
    }
}
impl From<WalError> for ReplayError {
    fn from(e: WalError) -> Self {
        ReplayError::Record(e)
    }
}

/// Puts a new version at exactly `off`.
fn place(
    page: &mut PageMut<'_>,
    off: u16,
    header: &TupleHeader,
    body: &[u8],
) -> Result<(), PageChangeError> {
    let mut bytes = Vec::with_capacity(HEADER_SIZE + body.len());
    bytes.extend_from_slice(&header.to_bytes());
    bytes.extend_from_slice(body);
    page.add_item_at(off, &bytes)
}

/// INSERT (the page was initialised first when the record says so).
pub fn insert(page: &mut PageMut<'_>, xid: Xid, d: &InsertBlock<'_>) -> Result<(), ReplayError> {
    let h = transition::new_tuple(xid, d.natts, d.has_nulls, false, None, false);
    place(page, d.offnum, &h, d.body)?;
    if d.vm_cleared {
        page.clear_all_visible();
    }
    Ok(())
}

/// MULTI_INSERT.
pub fn multi_insert(
    page: &mut PageMut<'_>,
    xid: Xid,
    d: &MultiInsertBlock<'_>,
) -> Result<(), ReplayError> {
    for t in &d.tuples {
        let h = transition::new_tuple(xid, t.natts, t.has_nulls, false, None, d.frozen);
        place(page, t.offnum, &h, t.body)?;
    }
    if d.vm_cleared {
        page.clear_all_visible();
    }
    Ok(())
}

/// DELETE.
pub fn delete(page: &mut PageMut<'_>, xid: Xid, d: &DeleteBlock) -> Result<(), ReplayError> {
    page.change_header(d.offnum, |h| transition::delete(h, d))?;
    page.set_prunable(xid);
    if d.vm_cleared {
        page.clear_all_visible();
    }
    Ok(())
}

/// UPDATE's old page, when the new version went to another page (`new_blk`).
pub fn update_old(
    page: &mut PageMut<'_>,
    xid: Xid,
    o: &UpdateOld,
    new_blk: u32,
) -> Result<(), ReplayError> {
    page.change_header(o.offnum, |h| transition::update_old(h, o, Some(new_blk)))?;
    page.set_prunable(xid);
    if o.vm_cleared {
        page.clear_all_visible();
    }
    Ok(())
}

/// UPDATE's new page (and the old version, when it is on the same page). A body logged
/// without the prefix/suffix it shares with the old version is completed from the old
/// version before anything on the page changes.
pub fn update_new(page: &mut PageMut<'_>, xid: Xid, n: &UpdateNew<'_>) -> Result<(), ReplayError> {
    let mut rebuilt = Vec::new();
    let body = match &n.same_page_old {
        Some(o) if n.prefix_len != 0 || n.suffix_len != 0 => {
            let old = page
                .tuple(o.offnum)
                .ok_or(PageChangeError::NotNormal { off: o.offnum })?;
            rebuild_body(
                &old[HEADER_SIZE..],
                n.prefix_len,
                n.suffix_len,
                n.body,
                &mut rebuilt,
            )?;
            &rebuilt[..]
        }
        _ => n.body,
    };
    if let Some(o) = &n.same_page_old {
        page.change_header(o.offnum, |h| transition::update_old(h, o, None))?;
        page.set_prunable(xid);
    }
    let h = transition::new_tuple(
        xid,
        n.natts,
        n.has_nulls,
        n.heap_only,
        n.new_xmax.as_ref(),
        false,
    );
    place(page, n.offnum, &h, body)?;
    if n.vm_cleared {
        page.clear_all_visible();
    }
    Ok(())
}

/// LOCK.
pub fn lock(page: &mut PageMut<'_>, l: &LockBlock) -> Result<(), ReplayError> {
    page.change_header(l.offnum, |h| transition::lock(h, l))?;
    Ok(())
}

/// CONFIRM (a speculative insertion kept).
pub fn confirm(page: &mut PageMut<'_>, c: &ConfirmBlock) -> Result<(), ReplayError> {
    page.change_header(c.offnum, transition::confirm)?;
    Ok(())
}

/// PRUNE: line pointer states, then defragmentation. The page-level hints the primary
/// set with it (pd_prune_xid, PD_PAGE_FULL) are not logged, as heap's are not.
pub fn prune(page: &mut PageMut<'_>, p: &PruneBlock) -> Result<(), ReplayError> {
    page.apply_prune(p)?;
    Ok(())
}

/// VACUUM's second pass.
pub fn vacuum(page: &mut PageMut<'_>, v: &VacuumBlock) -> Result<(), ReplayError> {
    page.set_unused(&v.unused)?;
    Ok(())
}

/// FREEZE. Every named version is checked before the first one changes.
pub fn freeze(page: &mut PageMut<'_>, f: &FreezeBlock) -> Result<(), ReplayError> {
    let max = page.max_offset();
    for e in &f.tuples {
        if e.offnum == 0 || e.offnum > max {
            return Err(PageChangeError::OffsetOutOfRange { off: e.offnum, max }.into());
        }
        if page.tuple(e.offnum).is_none() {
            return Err(PageChangeError::NotNormal { off: e.offnum }.into());
        }
    }
    for e in &f.tuples {
        page.change_header(e.offnum, |h| transition::freeze(h, e))?;
    }
    Ok(())
}

/// VISIBLE, on the table page: PD_ALL_VISIBLE (the map's bits are the rmgr's business).
pub fn visible(page: &mut PageMut<'_>) {
    page.set_all_visible();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pageview::tests::fresh;
    use crate::pageview::Page;
    use crate::records::{FreezeEntry, XmaxFreeze, XmaxInfo};
    use crate::tuple::XmaxMode;
    use proptest::prelude::*;

    /// A small primary: rows inserted, deleted, updated on the same page (with prefix
    /// and suffix compression), locked, frozen; each change is applied by the write
    /// path's page code and logged as the record's block data (encoded, then decoded,
    /// as a standby would read it).
    #[derive(Debug, Clone)]
    enum Change {
        Insert(usize, u8),
        Delete(u16),
        Update(u16, u8),
        Lock(u16),
        Freeze(u16),
    }

    fn changes() -> impl Strategy<Value = Vec<Change>> {
        proptest::collection::vec(
            prop_oneof![
                4 => (0usize..200, any::<u8>()).prop_map(|(l, f)| Change::Insert(l, f)),
                1 => (1u16..40).prop_map(Change::Delete),
                2 => (1u16..40, any::<u8>()).prop_map(|(o, f)| Change::Update(o, f)),
                1 => (1u16..40).prop_map(Change::Lock),
                1 => (1u16..40).prop_map(Change::Freeze),
            ],
            1..60,
        )
    }

    fn xmax(xid: u32, mode: XmaxMode) -> XmaxInfo {
        XmaxInfo {
            xmax: xid,
            mode,
            is_multi: false,
        }
    }

    proptest! {
        /// The primary's page after each change equals a standby's page after replaying
        /// the logged record with this module.
        #[test]
        fn primary_equals_replay(changes in changes()) {
            let mut primary = fresh();
            let mut standby = fresh();
            let mut xid = 100u32;
            for c in &changes {
                xid += 1;
                let mut p = PageMut::new(&mut primary);
                let mut s = PageMut::new(&mut standby);
                let live = |p: &PageMut<'_>, off: u16| p.tuple_header(off).is_some_and(|h| h.xmax_invalid());
                match c {
                    Change::Insert(len, fill) => {
                        let body = vec![*fill; *len];
                        let h = transition::new_tuple(xid, 1, false, false, None, false);
                        let mut bytes = h.to_bytes().to_vec();
                        bytes.extend_from_slice(&body);
                        let Ok(off) = p.add_item(&bytes) else { continue };
                        let mut rec = Vec::new();
                        InsertBlock { offnum: off, natts: 1, has_nulls: false, init_page: false,
                                      vm_cleared: false, speculative: false, body: &body }.encode(&mut rec);
                        insert(&mut s, xid, &InsertBlock::decode(&rec).unwrap()).unwrap();
                    }
                    Change::Delete(off) => {
                        if !live(&p, *off) { continue }
                        let d = DeleteBlock { offnum: *off, vm_cleared: false, super_delete: false,
                                              moved_partitions: false, xmax: xmax(xid, XmaxMode::Update) };
                        p.change_header(*off, |h| transition::delete(h, &d)).unwrap();
                        p.set_prunable(xid);
                        let mut rec = Vec::new();
                        d.encode(&mut rec);
                        delete(&mut s, xid, &DeleteBlock::decode(&rec).unwrap()).unwrap();
                    }
                    Change::Update(off, fill) => {
                        if !live(&p, *off) { continue }
                        let old_body = p.tuple(*off).unwrap()[HEADER_SIZE..].to_vec();
                        let mut body = old_body.clone();
                        if let Some(b) = body.get_mut(old_body.len() / 2) { *b = *fill } else { body.push(*fill) }
                        let h = transition::new_tuple(xid, 1, false, true, None, false);
                        let mut bytes = h.to_bytes().to_vec();
                        bytes.extend_from_slice(&body);
                        let Ok(new_off) = p.add_item(&bytes) else { continue };
                        let o = UpdateOld { offnum: *off, vm_cleared: false,
                                            xmax: xmax(xid, XmaxMode::Update), new_offnum: new_off };
                        p.change_header(*off, |h| transition::update_old(h, &o, None)).unwrap();
                        p.set_prunable(xid);
                        let (pre, suf) = crate::records::shared_prefix_suffix(&old_body, &body);
                        let middle = &body[pre as usize..body.len() - suf as usize];
                        let n = UpdateNew { offnum: new_off, natts: 1, has_nulls: false, heap_only: true,
                                            init_page: false, vm_cleared: false, new_xmax: None,
                                            same_page_old: Some(o), prefix_len: pre, suffix_len: suf,
                                            body: middle };
                        let mut rec = Vec::new();
                        n.encode(&mut rec);
                        update_new(&mut s, xid, &UpdateNew::decode(&rec).unwrap()).unwrap();
                    }
                    Change::Lock(off) => {
                        if !live(&p, *off) { continue }
                        let l = LockBlock { offnum: *off, vm_cleared: false, updated_version: false,
                                            xmax: xmax(xid, XmaxMode::LockKeyShare) };
                        p.change_header(*off, |h| transition::lock(h, &l)).unwrap();
                        let mut rec = Vec::new();
                        l.encode(&mut rec, xid);
                        lock(&mut s, &LockBlock::decode(&rec, xid).unwrap()).unwrap();
                    }
                    Change::Freeze(off) => {
                        if p.tuple(*off).is_none() { continue }
                        let f = FreezeBlock { cutoff_xid: xid, tuples: vec![FreezeEntry {
                            offnum: *off, freeze_xmin: true, xmax: XmaxFreeze::Keep }] };
                        p.change_header(*off, |h| transition::freeze(h, &f.tuples[0])).unwrap();
                        let mut rec = Vec::new();
                        f.encode(&mut rec);
                        freeze(&mut s, &FreezeBlock::decode(&rec).unwrap()).unwrap();
                    }
                }
                prop_assert_eq!(crate::pageview::tests::same_after_mask(&primary, &standby), Ok(()));
            }
        }
    }

    #[test]
    fn a_record_that_does_not_fit_changes_nothing() {
        let mut b = fresh();
        let mut p = PageMut::new(&mut b);
        let before = *p.bytes();
        let d = DeleteBlock {
            offnum: 4,
            vm_cleared: false,
            super_delete: false,
            moved_partitions: false,
            xmax: xmax(5, XmaxMode::Update),
        };
        assert_eq!(
            delete(&mut p, 5, &d),
            Err(ReplayError::Page(PageChangeError::OffsetOutOfRange {
                off: 4,
                max: 0
            }))
        );
        let f = FreezeBlock {
            cutoff_xid: 5,
            tuples: vec![FreezeEntry {
                offnum: 1,
                freeze_xmin: true,
                xmax: XmaxFreeze::Keep,
            }],
        };
        assert!(freeze(&mut p, &f).is_err());
        assert_eq!(&before[..], &Page::new(&b).bytes()[..]);
    }
}
