//! Update chains on one page, as stored: which version pointers (and redirects) lead
//! where, whether a chain loops, and which heap-only versions no chain root reaches.
//! Used by glassheap.verify (per page) and glassheap.version_chain (one chain).

use std::collections::{BTreeMap, BTreeSet};

/// One line pointer of a page as the chain checks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainNode {
    pub off: u16,
    /// the same-page successor: a version pointer to another line pointer of this page,
    /// or a redirect's target
    pub next: Option<u16>,
    /// a chain starts here: a redirect, or a stored version that is not heap-only
    pub root: bool,
    /// a heap-only version that must be reached from a root: its insert is known to have
    /// committed (an aborted or still unhinted heap-only version may be an orphan left by
    /// an aborted update whose predecessor was updated again, which is not damage)
    pub must_be_reached: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    /// the offsets of a loop, starting at its smallest, in pointer order
    Cycle(Vec<u16>),
    /// a heap-only version that no root's chain reaches
    Unreached(u16),
}

/// "(b,o1) -> (b,o2) -> ... -> (b,o1)".
pub fn cycle_text(blk: u32, offs: &[u16]) -> String {
    let mut s: Vec<String> = offs.iter().map(|o| format!("({blk},{o})")).collect();
    if let Some(first) = offs.first() {
        s.push(format!("({blk},{first})"));
    }
    s.join(" -> ")
}

/// Every loop and every unreached heap-only version among `nodes`.
pub fn chain_problems(nodes: &[ChainNode]) -> Vec<ChainProblem> {
    let next: BTreeMap<u16, u16> = nodes
        .iter()
        .filter_map(|n| n.next.filter(|&t| t != n.off).map(|t| (n.off, t)))
        .collect();
    let mut out = Vec::new();
    // Each node has at most one successor, so every walk ends or enters one loop.
    let mut done: BTreeSet<u16> = BTreeSet::new();
    for n in nodes {
        if done.contains(&n.off) {
            continue;
        }
        let mut path: Vec<u16> = Vec::new();
        let mut on_path: BTreeSet<u16> = BTreeSet::new();
        let mut at = n.off;
        loop {
            if done.contains(&at) {
                break;
            }
            if !on_path.insert(at) {
                // a loop: the part of the path from the first visit of `at`
                let from = path.iter().position(|&o| o == at).unwrap_or(0);
                let mut cyc = path[from..].to_vec();
                let min_at = cyc
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, o)| **o)
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                cyc.rotate_left(min_at);
                out.push(ChainProblem::Cycle(cyc));
                break;
            }
            path.push(at);
            match next.get(&at) {
                Some(&t) => at = t,
                None => break,
            }
        }
        done.extend(path);
    }
    // reachability from roots (a loop is walked once)
    let mut reached: BTreeSet<u16> = BTreeSet::new();
    for n in nodes.iter().filter(|n| n.root) {
        let mut at = n.off;
        while reached.insert(at) {
            match next.get(&at) {
                Some(&t) => at = t,
                None => break,
            }
        }
    }
    for n in nodes {
        if n.must_be_reached && !n.root && !reached.contains(&n.off) {
            out.push(ChainProblem::Unreached(n.off));
        }
    }
    out
}

/// Follows `step` from `start` until it returns None or revisits a position; returns the
/// positions in order and, when it looped, the position it came back to.
pub fn follow<T: Copy + Ord>(
    start: T,
    mut step: impl FnMut(T) -> Option<T>,
) -> (Vec<T>, Option<T>) {
    let mut seen = BTreeSet::new();
    let mut path = Vec::new();
    let mut at = start;
    loop {
        if !seen.insert(at) {
            return (path, Some(at));
        }
        path.push(at);
        match step(at) {
            Some(t) => at = t,
            None => return (path, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(off: u16, next: Option<u16>, root: bool, must: bool) -> ChainNode {
        ChainNode {
            off,
            next,
            root,
            must_be_reached: must,
        }
    }

    #[test]
    fn a_loop_is_named_once_from_its_smallest_member() {
        let nodes = [
            n(1, Some(2), true, false),
            n(2, Some(3), false, true),
            n(3, Some(1), false, true),
        ];
        assert_eq!(
            chain_problems(&nodes),
            vec![ChainProblem::Cycle(vec![1, 2, 3])]
        );
        assert_eq!(
            cycle_text(0, &[1, 2, 3]),
            "(0,1) -> (0,2) -> (0,3) -> (0,1)"
        );
        // entered from a tail: only the loop is reported
        let nodes = [
            n(4, Some(2), true, false),
            n(2, Some(3), false, true),
            n(3, Some(2), false, true),
        ];
        assert_eq!(
            chain_problems(&nodes),
            vec![ChainProblem::Cycle(vec![2, 3])]
        );
    }

    #[test]
    fn healthy_chains_and_redirects_have_no_problems() {
        let nodes = [
            n(1, Some(3), true, false), // redirect
            n(2, None, true, false),
            n(3, Some(4), false, true),
            n(4, None, false, true),
        ];
        assert_eq!(chain_problems(&nodes), vec![]);
    }

    #[test]
    fn unreached_heap_only_versions() {
        let nodes = [
            n(1, None, true, false),
            n(2, None, false, true),
            n(3, Some(2), false, false), // an aborted orphan leads to 2: still unreached
        ];
        assert_eq!(chain_problems(&nodes), vec![ChainProblem::Unreached(2)]);
        // a loop of heap-only versions without a root: the loop and both members
        let nodes = [n(1, Some(2), false, true), n(2, Some(1), false, true)];
        assert_eq!(
            chain_problems(&nodes),
            vec![
                ChainProblem::Cycle(vec![1, 2]),
                ChainProblem::Unreached(1),
                ChainProblem::Unreached(2)
            ]
        );
    }

    #[test]
    fn follow_stops_at_a_revisit() {
        let (p, back) = follow(1u16, |o| Some(o % 3 + 1));
        assert_eq!(p, vec![1, 2, 3]);
        assert_eq!(back, Some(1));
        let (p, back) = follow(1u16, |o| (o < 4).then_some(o + 1));
        assert_eq!(p, vec![1, 2, 3, 4]);
        assert_eq!(back, None);
    }
}
