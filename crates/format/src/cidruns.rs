//! Runs of consecutive line-pointer offsets sharing one command id: the per-page storage
//! of the access method's backend-local cid map. An UPDATE that moves every row of a
//! page to other pages produces one run for that page instead of one entry per row.

/// Sorted, non-overlapping runs `lo..=hi -> cid`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CidRuns {
    runs: Vec<(u16, u16, u32)>,
}

impl CidRuns {
    pub fn get(&self, off: u16) -> Option<u32> {
        let i = self.runs.partition_point(|r| r.1 < off);
        self.runs.get(i).filter(|r| r.0 <= off).map(|r| r.2)
    }

    pub fn set(&mut self, off: u16, cid: u32) {
        // Fast paths: increasing offsets, as a sequential UPDATE produces.
        if let Some(last) = self.runs.last_mut() {
            if last.2 == cid && last.1.checked_add(1) == Some(off) {
                last.1 = off;
                return;
            }
            if last.1 < off {
                self.runs.push((off, off, cid));
                return;
            }
        } else {
            self.runs.push((off, off, cid));
            return;
        }
        let mut out = Vec::with_capacity(self.runs.len() + 2);
        for &(lo, hi, c) in &self.runs {
            if lo <= off && off <= hi {
                if lo < off {
                    out.push((lo, off - 1, c));
                }
                if off < hi {
                    out.push((off + 1, hi, c));
                }
            } else {
                out.push((lo, hi, c));
            }
        }
        out.push((off, off, cid));
        out.sort_by_key(|r| r.0);
        let mut merged: Vec<(u16, u16, u32)> = Vec::with_capacity(out.len());
        for r in out {
            match merged.last_mut() {
                Some(m) if m.2 == r.2 && m.1.checked_add(1) == Some(r.0) => m.1 = r.1,
                _ => merged.push(r),
            }
        }
        self.runs = merged;
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn sequential_updates_make_one_run() {
        let mut r = CidRuns::default();
        for off in 1..=291 {
            r.set(off, 7);
        }
        assert_eq!(r.len(), 1);
        r.set(50, 9);
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r.get(49), r.get(50), r.get(51)),
            (Some(7), Some(9), Some(7))
        );
        r.set(50, 7);
        assert_eq!(r.len(), 1);
        assert_eq!(r.get(292), None);
    }

    proptest! {
        /// The runs always answer exactly like a plain map of the same assignments.
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec((1u16..40, 0u32..3), 0..200)) {
            let mut r = CidRuns::default();
            let mut m = BTreeMap::new();
            for (off, cid) in ops {
                r.set(off, cid);
                m.insert(off, cid);
            }
            for off in 0..45u16 {
                prop_assert_eq!(r.get(off), m.get(&off).copied());
            }
        }
    }
}
