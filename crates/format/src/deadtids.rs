//! The dead item pointers one round of index vacuuming removes, asked about once per
//! index entry by the bulk-delete callback (`tid_is_dead`), in the index's key order and
//! so in no particular TID order.
//!
//! A binary search of the sorted list misses the cache at nearly every step once the
//! list is larger than the cache (1.5M items are 12 MB): it was 15% of a VACUUM's
//! samples after three full-table updates. When the dead items are dense -- the usual
//! case after updates or deletes of much of a table -- a bitmap with one bit per line
//! pointer of every block in the dead items' block range is much smaller than the list
//! (40 bytes a block against 8 bytes an item) and answers with one load. It is built
//! only when it is no larger than the list itself, so the memory VACUUM holds stays
//! within twice its `maintenance_work_mem` budget for the list; otherwise lookups use the
//! binary search. (PostgreSQL 17's TidStore makes the same trade with a radix tree.)

/// Bitmap words per block: one bit for each offset 0..=MAX_TUPLES_PER_PAGE.
const WORDS_PER_BLOCK: usize = (crate::layout::MAX_TUPLES_PER_PAGE + 1).div_ceil(64);

/// A TID as one sortable key: block number above, offset number in the low 16 bits.
#[inline]
pub fn tid_key(blk: u32, off: u16) -> u64 {
    ((blk as u64) << 16) | off as u64
}

/// The number of pages keys in block order (as VACUUM collects them) fall on: heap's
/// `lpdead_item_pages`, which its INDEX_CLEANUP AUTO bypass compares with the table's size.
pub fn dead_item_pages(keys: &[u64]) -> u32 {
    let mut pages = 0;
    let mut last = None;
    for &k in keys {
        let blk = k >> 16;
        if last != Some(blk) {
            pages += 1;
            last = Some(blk);
        }
    }
    pages
}

#[derive(Debug, Default)]
pub struct DeadTids {
    /// Sorted, without duplicates.
    keys: Vec<u64>,
    first_blk: u32,
    /// Empty when the bitmap would be larger than `keys`.
    bits: Vec<u64>,
}

impl DeadTids {
    /// Sorts and deduplicates `keys` ([`tid_key`] values) and builds the bitmap when it
    /// is the smaller structure. VACUUM collects the keys block by block in ascending
    /// offset order, so they normally arrive strictly ascending: that is checked in one
    /// pass, and only keys that are not get sorted (a sort of a million sorted keys was
    /// 2% of a VACUUM's instructions).
    pub fn new(mut keys: Vec<u64>) -> DeadTids {
        if !keys.windows(2).all(|w| w[0] < w[1]) {
            keys.sort_unstable();
            keys.dedup();
        }
        let mut d = DeadTids {
            keys,
            first_blk: 0,
            bits: Vec::new(),
        };
        let (Some(&lo), Some(&hi)) = (d.keys.first(), d.keys.last()) else {
            return d;
        };
        let (first, last) = ((lo >> 16) as u32, (hi >> 16) as u32);
        let span = (last - first) as usize + 1;
        if span.saturating_mul(WORDS_PER_BLOCK) <= d.keys.len() {
            // One pass: an offset past the bitmap (possible only on a damaged page)
            // leaves the lookups to the sorted list.
            let mut bits = vec![0u64; span * WORDS_PER_BLOCK];
            for &k in &d.keys {
                let (b, o) = (((k >> 16) as u32 - first) as usize, (k & 0xFFFF) as usize);
                if o >= WORDS_PER_BLOCK * 64 {
                    return d;
                }
                bits[b * WORDS_PER_BLOCK + o / 64] |= 1 << (o % 64);
            }
            d.first_blk = first;
            d.bits = bits;
        }
        d
    }

    /// Is (blk, off) one of the dead items?
    #[inline]
    pub fn contains(&self, blk: u32, off: u16) -> bool {
        if self.bits.is_empty() {
            return self.keys.binary_search(&tid_key(blk, off)).is_ok();
        }
        let (Some(b), o) = (blk.checked_sub(self.first_blk), off as usize) else {
            return false;
        };
        if o >= WORDS_PER_BLOCK * 64 {
            return false;
        }
        match self.bits.get(b as usize * WORDS_PER_BLOCK + o / 64) {
            Some(w) => w & (1 << (o % 64)) != 0,
            None => false,
        }
    }

    /// Whether lookups use the bitmap (for tests and reports).
    pub fn has_bitmap(&self) -> bool {
        !self.bits.is_empty()
    }

    /// The sorted keys.
    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The sorted keys, grouped by block: (block, its offsets in order).
    pub fn by_block(&self) -> impl Iterator<Item = (u32, Vec<u16>)> + '_ {
        self.keys.chunk_by(|a, b| a >> 16 == b >> 16).map(|c| {
            (
                (c[0] >> 16) as u32,
                c.iter().map(|&k| (k & 0xFFFF) as u16).collect(),
            )
        })
    }

    /// Gives back the key vector's memory, emptied, for the next round's collection.
    pub fn into_buffer(mut self) -> Vec<u64> {
        self.keys.clear();
        self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dead_item_pages_counts_blocks() {
        assert_eq!(dead_item_pages(&[]), 0);
        let keys = [
            tid_key(0, 1),
            tid_key(0, 7),
            tid_key(3, 2),
            tid_key(70000, 1),
            tid_key(70000, 2),
        ];
        assert_eq!(dead_item_pages(&keys), 3);
    }

    #[test]
    fn dense_items_get_a_bitmap_sparse_ones_do_not() {
        let dense: Vec<u64> = (10..20u32)
            .flat_map(|b| (1..=100u16).map(move |o| tid_key(b, o)))
            .collect();
        let d = DeadTids::new(dense);
        assert!(d.has_bitmap());
        assert!(d.contains(10, 1) && d.contains(19, 100));
        assert!(!d.contains(9, 1) && !d.contains(20, 1) && !d.contains(10, 101));
        assert!(!d.contains(15, 0) && !d.contains(15, u16::MAX));

        let sparse = DeadTids::new(vec![tid_key(0, 1), tid_key(1_000_000, 5)]);
        assert!(!sparse.has_bitmap());
        assert!(sparse.contains(1_000_000, 5) && !sparse.contains(1_000_000, 4));
    }

    #[test]
    fn empty_set_contains_nothing() {
        let d = DeadTids::new(Vec::new());
        assert!(d.is_empty() && !d.contains(0, 1));
        assert_eq!(d.by_block().count(), 0);
    }

    #[test]
    fn offsets_past_the_bitmap_fall_back_to_the_list() {
        let mut keys: Vec<u64> = (1..=200u16).map(|o| tid_key(3, o)).collect();
        keys.push(tid_key(3, 400));
        let d = DeadTids::new(keys);
        assert!(!d.has_bitmap());
        assert!(d.contains(3, 400) && d.contains(3, 200) && !d.contains(3, 201));
    }

    #[test]
    fn ascending_input_is_kept_unsorted_input_is_sorted_and_deduplicated() {
        let asc = vec![tid_key(1, 2), tid_key(1, 5), tid_key(4, 1)];
        assert_eq!(DeadTids::new(asc.clone()).keys(), &asc[..]);
        // a repeated key is not strictly ascending: sorted and deduplicated
        let rep = vec![tid_key(1, 2), tid_key(1, 2), tid_key(4, 1)];
        assert_eq!(
            DeadTids::new(rep).keys(),
            &[tid_key(1, 2), tid_key(4, 1)][..]
        );
        let desc = vec![tid_key(4, 1), tid_key(1, 5), tid_key(1, 2)];
        assert_eq!(
            DeadTids::new(desc).keys(),
            &[tid_key(1, 2), tid_key(1, 5), tid_key(4, 1)][..]
        );
    }

    #[test]
    fn by_block_groups_sorted_offsets() {
        let d = DeadTids::new(vec![
            tid_key(2, 7),
            tid_key(1, 3),
            tid_key(2, 1),
            tid_key(1, 3),
        ]);
        let groups: Vec<(u32, Vec<u16>)> = d.by_block().collect();
        assert_eq!(groups, vec![(1, vec![3]), (2, vec![1, 7])]);
    }

    proptest! {
        /// Both lookups agree with plain set membership, dense or sparse.
        #[test]
        fn contains_is_set_membership(
            items in proptest::collection::vec((0u32..64, 1u16..=291), 0..3000),
            base in prop_oneof![Just(0u32), Just(1u32 << 20), Just(u32::MAX - 64)],
            probes in proptest::collection::vec((0u32..70, 0u16..300), 0..300),
        ) {
            let keys: Vec<u64> = items.iter().map(|&(b, o)| tid_key(base + b, o)).collect();
            let set: std::collections::HashSet<u64> = keys.iter().copied().collect();
            // as given (unsorted, repeated) and as VACUUM collects them (ascending)
            let mut ascending: Vec<u64> = set.iter().copied().collect();
            ascending.sort_unstable();
            for d in [DeadTids::new(keys), DeadTids::new(ascending.clone())] {
                prop_assert_eq!(d.len(), set.len());
                prop_assert_eq!(d.keys(), &ascending[..]);
                for &(b, o) in probes.iter().chain(items.iter()) {
                    let blk = base.wrapping_add(b);
                    prop_assert_eq!(d.contains(blk, o), set.contains(&tid_key(blk, o)));
                }
                let regrouped: usize = d.by_block().map(|(_, offs)| offs.len()).sum();
                prop_assert_eq!(regrouped, set.len());
            }
        }
    }
}
