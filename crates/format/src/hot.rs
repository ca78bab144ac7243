//! Same-page update chains ("HOT", after heap's heap-only tuples) and what pruning does
//! to them (heap's heap_prune_chain in pruneheap.c), as pure functions over a summary
//! of a page's line pointers.
//!
//! An UPDATE that changes no indexed column and whose new version fits on the old
//! version's page writes the new version with the `HEAP_ONLY` flag and makes no index
//! entries for it: index entries keep pointing at the chain's *root* line pointer, and
//! readers walk the chain (`next_off` links on the page) to the version their snapshot
//! sees. glassheap stores no `HOT_UPDATED` bit: a version is "HOT-updated" exactly when
//! its same-page successor is a heap-only version created by its updater.
//!
//! Pruning removes a chain's dead prefix: the root line pointer becomes `LP_REDIRECT` to
//! the first surviving version (or `LP_DEAD` when nothing survives, so VACUUM can remove
//! the index entries), and removed heap-only versions become `LP_UNUSED` at once, since
//! no index entry points at them.

use crate::visibility::Htsv;
use crate::Xid;

/// A line pointer as pruning sees it. `items[i]` describes offset `i + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Unused,
    Dead,
    Redirect(u16),
    /// A tuple whose line pointer or header is damaged: left alone for `verify`.
    Broken,
    Normal(Member),
}

/// A version on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub heap_only: bool,
    pub xmin: Xid,
    /// Its successor on this page and the updater's xid, when the version was updated
    /// by a transaction not known to have aborted, and its own inserter is not known to
    /// have aborted (heap's HeapTupleHeaderIsHotUpdated also looks at those hint bits).
    pub next: Option<(u16, Xid)>,
    /// Vacuum status against the pruning horizon.
    pub status: Htsv,
}

fn member(items: &[Item], off: u16) -> Option<&Member> {
    match items.get((off as usize).checked_sub(1)?) {
        Some(Item::Normal(m)) => Some(m),
        _ => None,
    }
}

/// The successor a HOT-updated version links to: a heap-only version on this page that
/// its updater created. None when the version was not HOT-updated.
pub fn hot_successor(items: &[Item], m: &Member) -> Option<u16> {
    let (next, updater) = m.next?;
    let s = member(items, next)?;
    (s.heap_only && s.xmin == updater).then_some(next)
}

/// What pruning does to a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrunePlan {
    /// (root, first surviving member): the root becomes LP_REDIRECT.
    pub redirected: Vec<(u16, u16)>,
    /// Become LP_DEAD (roots whose whole chain is gone; index entries remain).
    pub dead: Vec<u16>,
    /// Become LP_UNUSED (heap-only versions; nothing points at them).
    pub unused: Vec<u16>,
    /// Versions (LP_NORMAL items) whose storage goes away, with whether each was DEAD
    /// itself (only those advance the standby conflict horizon, as in heap).
    pub removed: Vec<(u16, bool)>,
}

impl PrunePlan {
    pub fn is_empty(&self) -> bool {
        self.redirected.is_empty() && self.dead.is_empty() && self.unused.is_empty()
    }
}

/// heap_page_prune: plans the line pointer changes for a page.
pub fn plan(items: &[Item]) -> PrunePlan {
    let n = items.len();
    let mut marked = vec![false; n + 1];
    let mut p = PrunePlan::default();
    // One pair of chain buffers for the whole page, cleared per root: a pair per root
    // was two allocations per tuple, 12% of a VACUUM's samples in malloc and free.
    let mut walk = ChainWalk::default();
    for root in 1..=n as u16 {
        if marked[root as usize] || !may_start_removal(&items[root as usize - 1]) {
            continue;
        }
        prune_chain(items, root, &mut marked, &mut p, &mut walk);
    }
    p.redirected.sort_unstable();
    p.dead.sort_unstable();
    p.unused.sort_unstable();
    p.removed.sort_unstable();
    p
}

/// Can pruning change anything starting from this line pointer? Most items on a page
/// being pruned cannot, and deciding that here, from a reference, costs a few
/// instructions where [`prune_chain`] copies the item and sets up a walk (walking every
/// root made this plan a third of an on-access prune of a `pgbench_accounts` page, 187
/// instructions per version). Skipped without being marked, which only matters for
/// versions another chain could walk into: heap-only ones.
/// - A version that is not heap-only and neither DEAD nor RECENTLY_DEAD ends its chain's
///   removable prefix at once: nothing before it to remove, and it stays.
/// - A heap-only version is pruned with the chain that reaches it; on its own only when
///   DEAD (and unreachable, which [`prune_chain`] checks).
/// - Unused, dead and damaged line pointers start nothing.
#[inline]
fn may_start_removal(item: &Item) -> bool {
    match item {
        Item::Normal(m) if m.heap_only => m.status == Htsv::Dead,
        Item::Normal(m) => matches!(m.status, Htsv::Dead | Htsv::RecentlyDead),
        Item::Redirect(_) => true,
        Item::Unused | Item::Dead | Item::Broken => false,
    }
}

/// Pushes onto one of a plan's lists, sizing it for the whole page (at most one entry
/// per line pointer) on its first entry: grown from empty, each list was reallocated a
/// few times per pruned page, and a page with nothing to prune allocates nothing.
#[inline]
fn push_sized<T>(list: &mut Vec<T>, lines: u16, x: T) {
    if list.capacity() == 0 {
        list.reserve_exact(lines as usize);
    }
    list.push(x);
}

/// The versions of the chain being walked and which of them are DEAD.
#[derive(Default)]
struct ChainWalk {
    chain: Vec<u16>,
    dead_flags: Vec<bool>,
}

fn prune_chain(
    items: &[Item],
    root: u16,
    marked: &mut [bool],
    p: &mut PrunePlan,
    walk: &mut ChainWalk,
) {
    if let Item::Normal(m) = items[root as usize - 1] {
        if !m.heap_only && hot_successor(items, &m).is_none() {
            // A chain of one version (the row was deleted, or updated onto another page:
            // every version a full-table update leaves on a full page): the walk would
            // find just this version, and remove it only if it is DEAD.
            marked[root as usize] = true;
            if m.status == Htsv::Dead {
                let n = items.len() as u16;
                push_sized(&mut p.removed, n, (root, true));
                push_sized(&mut p.dead, n, root);
            }
            return;
        }
    }
    walk_chain(items, root, marked, p, walk);
}

/// [`prune_chain`] by walking the chain from `root`, whatever it is.
fn walk_chain(
    items: &[Item],
    root: u16,
    marked: &mut [bool],
    p: &mut PrunePlan,
    walk: &mut ChainWalk,
) {
    let n = items.len() as u16;
    let root_item = items[root as usize - 1];
    match root_item {
        Item::Normal(m) if m.heap_only => {
            // A heap-only version is pruned with its chain -- unless it is dead and
            // continues nowhere (the successor of an aborted update, or a chain whose
            // root went away): then nothing reaches it and it goes at once.
            if m.status == Htsv::Dead && hot_successor(items, &m).is_none() {
                marked[root as usize] = true;
                push_sized(&mut p.unused, n, root);
                push_sized(&mut p.removed, n, (root, true));
            }
            return;
        }
        Item::Normal(_) | Item::Redirect(_) => {}
        Item::Unused | Item::Dead | Item::Broken => return,
    }
    walk.chain.clear();
    walk.dead_flags.clear();
    let ChainWalk { chain, dead_flags } = walk;
    let mut latest_dead: Option<usize> = None;
    let mut off = root;
    let mut prior_xmax: Option<Xid> = None;
    loop {
        // Marked: a member of a chain walked before (a member belongs to one chain; two
        // roots claim the same heap-only version only on a damaged page) or of this one
        // (a cycle, damaged too).
        if off == 0 || off > n || marked[off as usize] {
            break;
        }
        match items[off as usize - 1] {
            Item::Redirect(to) => {
                if !chain.is_empty() {
                    break; // a redirect can only start a chain
                }
                chain.push(off);
                marked[off as usize] = true;
                dead_flags.push(false);
                off = to;
                continue;
            }
            Item::Normal(m) => {
                if let Some(x) = prior_xmax {
                    if m.xmin != x || !m.heap_only {
                        break;
                    }
                } else if off != root && !m.heap_only {
                    break; // a redirect must lead to a heap-only version
                }
                chain.push(off);
                marked[off as usize] = true;
                let dead = m.status == Htsv::Dead;
                dead_flags.push(dead);
                if dead {
                    latest_dead = Some(chain.len() - 1);
                } else if m.status != Htsv::RecentlyDead {
                    break; // a live or in-progress version ends the removable prefix
                }
                match hot_successor(items, &m) {
                    Some(next) => {
                        prior_xmax = m.next.map(|(_, x)| x);
                        off = next;
                    }
                    None => break,
                }
            }
            Item::Unused | Item::Dead | Item::Broken => break,
        }
    }
    if let Some(last) = latest_dead {
        // Everything up to the last DEAD version is removable: a version after a
        // RECENTLY_DEAD one can only be DEAD if its predecessors are invisible too.
        for (i, &o) in chain.iter().enumerate().take(last + 1).skip(1) {
            push_sized(&mut p.unused, n, o);
            push_sized(&mut p.removed, n, (o, dead_flags[i]));
        }
        if let Item::Normal(_) = root_item {
            push_sized(&mut p.removed, n, (root, dead_flags[0]));
        }
        if last + 1 >= chain.len() {
            push_sized(&mut p.dead, n, root);
        } else {
            push_sized(&mut p.redirected, n, (root, chain[last + 1]));
        }
    } else if matches!(root_item, Item::Redirect(_)) && chain.len() < 2 {
        // A redirect whose target is gone: the chain is dead.
        push_sized(&mut p.dead, n, root);
    }
}

/// Root line pointer of every version on the page (heap_get_root_tuples): index entries
/// for a heap-only version must name its chain's root. `roots[i]` is for offset `i + 1`
/// (0 = not reached from any root).
pub fn root_offsets(items: &[Item]) -> Vec<u16> {
    let n = items.len() as u16;
    let mut roots = vec![0u16; n as usize];
    for root in 1..=n {
        let mut off = match items[root as usize - 1] {
            Item::Normal(m) if !m.heap_only => root,
            Item::Redirect(to) => to,
            _ => continue,
        };
        let mut prior_xmax: Option<Xid> = None;
        let mut first = true;
        let mut steps = 0;
        while let Some(m) = member(items, off) {
            steps += 1;
            if steps > n as usize {
                break;
            }
            let via_redirect = first && off != root;
            if (prior_xmax.is_some() || via_redirect) && !m.heap_only {
                break;
            }
            if prior_xmax.is_some_and(|x| x != m.xmin) {
                break;
            }
            first = false;
            roots[off as usize - 1] = root;
            match hot_successor(items, m) {
                Some(next) => {
                    prior_xmax = m.next.map(|(_, x)| x);
                    off = next;
                }
                None => break,
            }
        }
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(heap_only: bool, xmin: Xid, next: Option<(u16, Xid)>, status: Htsv) -> Item {
        Item::Normal(Member {
            heap_only,
            xmin,
            next,
            status,
        })
    }

    #[test]
    fn dead_prefix_becomes_a_redirect_and_unused_items() {
        // 1 (root, dead) -> 2 (heap-only, dead) -> 3 (heap-only, live)
        let items = [
            t(false, 10, Some((2, 11)), Htsv::Dead),
            t(true, 11, Some((3, 12)), Htsv::Dead),
            t(true, 12, None, Htsv::Live),
        ];
        let p = plan(&items);
        assert_eq!(p.redirected, vec![(1, 3)]);
        assert_eq!(p.unused, vec![2]);
        assert!(p.dead.is_empty());
        assert_eq!(p.removed, vec![(1, true), (2, true)]);
        assert_eq!(root_offsets(&items), vec![1, 1, 1]);
    }

    #[test]
    fn wholly_dead_chain_leaves_a_dead_root() {
        let items = [
            t(false, 10, Some((2, 11)), Htsv::Dead),
            t(true, 11, None, Htsv::Dead),
        ];
        let p = plan(&items);
        assert_eq!(p.dead, vec![1]);
        assert_eq!(p.unused, vec![2]);
    }

    #[test]
    fn redirect_moves_on_and_dies_with_its_chain() {
        let items = [
            Item::Redirect(3),
            Item::Unused,
            t(true, 11, Some((4, 12)), Htsv::Dead),
            t(true, 12, None, Htsv::Live),
        ];
        let p = plan(&items);
        assert_eq!(p.redirected, vec![(1, 4)]);
        assert_eq!(p.unused, vec![3]);
        assert_eq!(root_offsets(&items), vec![0, 0, 1, 1]);
        // the target vanished (or the chain broke): the redirect is dead
        let p = plan(&[Item::Redirect(2), Item::Unused]);
        assert_eq!(p.dead, vec![1]);
        let p = plan(&[Item::Redirect(2), t(false, 5, None, Htsv::Live)]);
        assert_eq!(p.dead, vec![1]);
    }

    #[test]
    fn recently_dead_members_stay_unless_a_later_member_is_dead() {
        let rd = [
            t(false, 10, Some((2, 11)), Htsv::RecentlyDead),
            t(true, 11, None, Htsv::Live),
        ];
        assert!(plan(&rd).is_empty());
        let later_dead = [
            t(false, 10, Some((2, 11)), Htsv::RecentlyDead),
            t(true, 11, Some((3, 12)), Htsv::Dead),
            t(true, 12, None, Htsv::Live),
        ];
        let p = plan(&later_dead);
        assert_eq!(p.redirected, vec![(1, 3)]);
        assert_eq!(p.unused, vec![2]);
        assert_eq!(p.removed, vec![(1, false), (2, true)]);
    }

    #[test]
    fn aborted_hot_successor_is_unused_and_root_stays() {
        // 1 live (its updater aborted: no usable link), 2 heap-only from the aborted xact
        let items = [
            t(false, 10, None, Htsv::Live),
            t(true, 11, None, Htsv::Dead),
        ];
        let p = plan(&items);
        assert_eq!(p.unused, vec![2]);
        assert!(p.dead.is_empty() && p.redirected.is_empty());
    }

    #[test]
    fn chain_breaks_on_xmin_mismatch_and_on_non_heap_only_successor() {
        // 2's xmin is not 1's updater (slot reused): not part of 1's chain
        let items = [
            t(false, 10, Some((2, 11)), Htsv::Dead),
            t(true, 99, None, Htsv::Live),
        ];
        assert_eq!(
            hot_successor(&items, &member(&items, 1).copied().unwrap()),
            None
        );
        let p = plan(&items);
        assert_eq!(p.dead, vec![1]);
        assert!(p.unused.is_empty());
        assert_eq!(root_offsets(&items), vec![1, 0]);
        // a same-page non-HOT update: both versions are roots
        let items = [
            t(false, 10, Some((2, 11)), Htsv::Dead),
            t(false, 11, None, Htsv::Live),
        ];
        let p = plan(&items);
        assert_eq!(p.dead, vec![1]);
        assert_eq!(root_offsets(&items), vec![1, 2]);
    }

    #[test]
    fn dead_heap_only_with_a_successor_waits_for_its_chain() {
        // heap-only 1 is dead but HOT-updated to 2: only its chain can remove it; the
        // root (3) reaches it.
        let items = [
            t(true, 11, Some((2, 12)), Htsv::Dead),
            t(true, 12, None, Htsv::Live),
            t(false, 10, Some((1, 11)), Htsv::Dead),
        ];
        let p = plan(&items);
        assert_eq!(p.redirected, vec![(3, 2)]);
        assert_eq!(p.unused, vec![1]);
    }

    fn arb_status() -> impl Strategy<Value = Htsv> {
        prop_oneof![
            Just(Htsv::Dead),
            Just(Htsv::Live),
            Just(Htsv::RecentlyDead),
            Just(Htsv::InsertInProgress),
            Just(Htsv::DeleteInProgress),
        ]
    }

    fn arb_item(n: u16) -> impl Strategy<Value = Item> {
        prop_oneof![
            Just(Item::Unused),
            Just(Item::Dead),
            (1..=n).prop_map(Item::Redirect),
            (
                any::<bool>(),
                10u32..16,
                proptest::option::of((1..=n, 10u32..16)),
                arb_status()
            )
                .prop_map(|(heap_only, xmin, next, status)| Item::Normal(Member {
                    heap_only,
                    xmin,
                    next,
                    status
                })),
        ]
    }

    proptest! {
        /// On any page, however tangled: every offset is changed at most once, only
        /// live-pointer kinds are changed, a redirect points at a surviving heap-only
        /// version, and no live or in-progress version loses its storage.
        #[test]
        fn plans_are_consistent(items in (1u16..12).prop_flat_map(|n| proptest::collection::vec(arb_item(n), n as usize))) {
            let p = plan(&items);
            let mut touched: Vec<u16> = p.dead.iter().chain(&p.unused).copied()
                .chain(p.redirected.iter().map(|r| r.0)).collect();
            let before = touched.len();
            touched.sort_unstable();
            touched.dedup();
            prop_assert_eq!(before, touched.len());
            for &(o, _) in &p.removed {
                match items[o as usize - 1] {
                    Item::Normal(m) => prop_assert!(matches!(m.status, Htsv::Dead | Htsv::RecentlyDead)),
                    _ => prop_assert!(false, "removed a non-tuple"),
                }
            }
            for &(_, to) in &p.redirected {
                prop_assert!(!touched.contains(&to));
                prop_assert!(matches!(items[to as usize - 1], Item::Normal(m) if m.heap_only));
            }
            for &u in &p.unused {
                prop_assert!(matches!(items[u as usize - 1], Item::Normal(m) if m.heap_only));
            }
            let _ = root_offsets(&items);
        }
    }

    proptest! {
        // More cases than the default: the skip matters only on pages where a chain
        // with a removable member starts at a RECENTLY_DEAD or DEAD version.
        #![proptest_config(ProptestConfig::with_cases(16384))]

        /// Skipping the items that cannot start a removal, and not walking chains of one
        /// version, changes no plan: the same as walking a chain from every offset not
        /// yet claimed by another chain.
        #[test]
        fn skipping_items_that_start_no_removal_changes_nothing(items in (1u16..12).prop_flat_map(|n| proptest::collection::vec(arb_item(n), n as usize))) {
            prop_assert_eq!(plan(&items), plan_walking_every_root(&items));
        }
    }

    /// plan() without its `may_start_removal` skip.
    fn plan_walking_every_root(items: &[Item]) -> PrunePlan {
        let mut marked = vec![false; items.len() + 1];
        let mut p = PrunePlan::default();
        let mut walk = ChainWalk::default();
        for root in 1..=items.len() as u16 {
            if !marked[root as usize] {
                walk_chain(items, root, &mut marked, &mut p, &mut walk);
            }
        }
        p.redirected.sort_unstable();
        p.dead.sort_unstable();
        p.unused.sort_unstable();
        p.removed.sort_unstable();
        p
    }
}
