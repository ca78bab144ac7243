//! A snapshot passed in as a `pg_snapshot` (from `pg_current_snapshot()` of another
//! session) for glassheap.visibility and explain_visibility: decoding the value, checking
//! that it can be judged with, and the 32-bit MVCC snapshot the visibility rules get.
//!
//! The rules themselves do not change: the server builds a PostgreSQL MVCC snapshot from
//! [`SnapshotXids`] and hands it to the same code scans use (glassheap's rules in
//! `visibility.rs`, heap's HeapTupleSatisfiesVisibility). Two things make a passed
//! snapshot safe to judge with:
//!
//! * an MVCC snapshot promises that every xid below `xmax` and not in `xip` had finished
//!   when it was taken -- but `pg_current_snapshot()` leaves out the xid of the
//!   transaction that took it. Every xid running now below `xmax` is therefore added to
//!   `xip` ([`SnapshotXids::with_running`]): such an xid is "in progress" for the
//!   snapshot, and no rule will take it for finished (and set a hint bit from that);
//! * `pg_snapshot` lists top-level xids only, so the server's snapshot is marked
//!   "subxip overflowed": subtransaction xids are mapped to their top-level xid first.

use glassheap_format::{xid_precedes, Xid};

/// A decoded `pg_snapshot`: 64-bit FullTransactionIds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedSnapshot {
    pub xmin: u64,
    pub xmax: u64,
    pub xip: Vec<u64>,
}

/// The 32-bit snapshot the rules judge with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotXids {
    pub xmin: Xid,
    pub xmax: Xid,
    /// in progress when the snapshot was taken (and, after `with_running`, also the
    /// xids below xmax running now), ascending
    pub xip: Vec<Xid>,
    /// the xids `with_running` added
    pub added: Vec<Xid>,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

impl PassedSnapshot {
    /// Decodes the detoasted varlena (4-byte header included): `int32 vl_len_; uint32
    /// nxip; FullTransactionId xmin, xmax, xip[nxip]`.
    pub fn decode(bytes: &[u8]) -> Result<PassedSnapshot, String> {
        if bytes.len() < 24 {
            return Err(format!(
                "a pg_snapshot needs at least 24 bytes; got {}",
                bytes.len()
            ));
        }
        let nxip = u32_at(bytes, 4) as usize;
        let need = 24usize.saturating_add(nxip.saturating_mul(8));
        if bytes.len() < need {
            return Err(format!(
                "a pg_snapshot with {nxip} in-progress xids needs {need} bytes; got {}",
                bytes.len()
            ));
        }
        Ok(PassedSnapshot {
            xmin: u64_at(bytes, 8),
            xmax: u64_at(bytes, 16),
            xip: (0..nxip).map(|i| u64_at(bytes, 24 + 8 * i)).collect(),
        })
    }

    /// The 32-bit snapshot, when the passed one can be judged with: `next_full` is the
    /// server's next FullTransactionId now. Errors name what is wrong.
    pub fn to_xids(&self, next_full: u64) -> Result<SnapshotXids, String> {
        if self.xmin > self.xmax {
            return Err(format!(
                "snapshot xmin {} follows its xmax {}",
                self.xmin, self.xmax
            ));
        }
        if self.xmax > next_full {
            return Err(format!(
                "snapshot xmax {} is in the future: the next transaction id is {next_full}",
                self.xmax
            ));
        }
        if next_full - self.xmin >= 1 << 31 {
            return Err(format!(
                "snapshot xmin {} is too old to be compared with current transaction ids (next is {next_full})",
                self.xmin
            ));
        }
        if self.xmin < glassheap_format::FIRST_NORMAL_XID as u64 {
            return Err(format!(
                "snapshot xmin {} is not a normal transaction id",
                self.xmin
            ));
        }
        let mut xip = Vec::with_capacity(self.xip.len());
        for &x in &self.xip {
            if x < self.xmin || x >= self.xmax {
                return Err(format!(
                    "in-progress xid {x} lies outside the snapshot's range {}..{}",
                    self.xmin, self.xmax
                ));
            }
            xip.push(x as Xid);
        }
        xip.sort_by(|a, b| {
            if xid_precedes(*a, *b) {
                std::cmp::Ordering::Less
            } else if a == b {
                std::cmp::Ordering::Equal
            } else {
                std::cmp::Ordering::Greater
            }
        });
        xip.dedup();
        Ok(SnapshotXids {
            xmin: self.xmin as Xid,
            xmax: self.xmax as Xid,
            xip,
            added: Vec::new(),
        })
    }
}

impl SnapshotXids {
    /// Adds every xid of `running` (top-level xids running now) that lies in
    /// xmin..xmax and is not listed yet: see the module comment.
    pub fn with_running(mut self, running: &[Xid]) -> SnapshotXids {
        for &x in running {
            if !xid_precedes(x, self.xmin) && xid_precedes(x, self.xmax) && !self.xip.contains(&x) {
                self.xip.push(x);
                self.added.push(x);
            }
        }
        self.xip.sort_by_key(|x| x.wrapping_sub(self.xmin));
        self.added.sort_by_key(|x| x.wrapping_sub(self.xmin));
        self
    }

    /// XidInMVCCSnapshot for a top-level xid: does the snapshot count it as running?
    pub fn counts_as_running(&self, xid: Xid) -> bool {
        if xid_precedes(xid, self.xmin) {
            return false;
        }
        if !xid_precedes(xid, self.xmax) {
            return true;
        }
        self.xip.contains(&xid)
    }

    /// `xmin:xmax:xip,...`, the text form of pg_snapshot.
    pub fn text(&self) -> String {
        snapshot_text(self.xmin, self.xmax, &self.xip)
    }
}

/// `xmin:xmax:xip,...`, the text form of pg_snapshot / txid_snapshot.
pub fn snapshot_text(xmin: Xid, xmax: Xid, xip: &[Xid]) -> String {
    let list: Vec<String> = xip.iter().map(|x| x.to_string()).collect();
    format!("{xmin}:{xmax}:{}", list.join(","))
}

/// Versions that a snapshot with this xmin could see may already be gone when the xmin
/// precedes the relation's removal horizon (and pg_subtrans may no longer know its
/// subtransactions): such a snapshot cannot be judged with.
pub fn check_horizon(xmin: Xid, horizon: Xid) -> Result<(), String> {
    if glassheap_format::xid_is_normal(horizon) && xid_precedes(xmin, horizon) {
        return Err(format!(
            "snapshot xmin {xmin} precedes the removal horizon {horizon}: versions it could see may already have been removed"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(xmin: u64, xmax: u64, xip: &[u64]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&(((24 + 8 * xip.len()) as u32) << 2).to_ne_bytes());
        b.extend_from_slice(&(xip.len() as u32).to_ne_bytes());
        b.extend_from_slice(&xmin.to_ne_bytes());
        b.extend_from_slice(&xmax.to_ne_bytes());
        for x in xip {
            b.extend_from_slice(&x.to_ne_bytes());
        }
        b
    }

    #[test]
    fn decodes_and_converts() {
        let p = PassedSnapshot::decode(&bytes(740, 745, &[743, 741])).unwrap();
        assert_eq!(p.xip, vec![743, 741]);
        let s = p.to_xids(750).unwrap();
        assert_eq!((s.xmin, s.xmax, s.xip.clone()), (740, 745, vec![741, 743]));
        assert_eq!(s.text(), "740:745:741,743");
        assert!(!s.counts_as_running(739));
        assert!(s.counts_as_running(741));
        assert!(!s.counts_as_running(742));
        assert!(s.counts_as_running(745));
        // a later epoch keeps the low 32 bits
        let p = PassedSnapshot::decode(&bytes((1 << 32) + 10, (1 << 32) + 12, &[])).unwrap();
        assert_eq!(p.to_xids((1 << 32) + 20).unwrap().xmin, 10);
    }

    #[test]
    fn the_owner_and_other_running_xids_are_added() {
        // 742 took the snapshot (not listed), still running; 760 is after xmax
        let s = PassedSnapshot::decode(&bytes(740, 745, &[741]))
            .unwrap()
            .to_xids(770)
            .unwrap()
            .with_running(&[742, 741, 760, 700]);
        assert_eq!(s.xip, vec![741, 742]);
        assert_eq!(s.added, vec![742]);
        assert!(s.counts_as_running(742));
    }

    #[test]
    fn bad_snapshots_are_named() {
        assert!(PassedSnapshot::decode(&[0; 10])
            .unwrap_err()
            .contains("24 bytes"));
        let mut b = bytes(740, 745, &[741]);
        b.truncate(30);
        assert!(PassedSnapshot::decode(&b)
            .unwrap_err()
            .contains("needs 32 bytes"));
        let p = |xmin, xmax, xip: &[u64]| PassedSnapshot::decode(&bytes(xmin, xmax, xip)).unwrap();
        assert!(p(746, 745, &[])
            .to_xids(750)
            .unwrap_err()
            .contains("follows its xmax"));
        assert!(p(740, 900, &[])
            .to_xids(750)
            .unwrap_err()
            .contains("in the future"));
        assert!(p(740, 745, &[800])
            .to_xids(750)
            .unwrap_err()
            .contains("outside"));
        assert!(p(10, 12, &[])
            .to_xids(3 << 30)
            .unwrap_err()
            .contains("too old"));
        assert!(check_horizon(740, 741)
            .unwrap_err()
            .contains("removal horizon 741"));
        assert!(check_horizon(741, 741).is_ok());
    }
}
