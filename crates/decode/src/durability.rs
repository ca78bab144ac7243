//! When is a change durable? The verdict text of glassheap.durability (one block: the
//! page as the buffer pool holds it beside the page as the data file holds it, and the
//! WAL positions) and glassheap.last_commit (the session's last commit record and the
//! WAL flush position when COMMIT finished). Pure: the SQL layer gathers the LSNs and
//! flags, this module only compares them and words the result.
//!
//! The rule behind every sentence is PostgreSQL's write-ahead rule: a change is on disk
//! for good once the WAL record that made it is flushed (its end LSN is at or before
//! the flush position); the data file may keep an older page for a long time, because
//! crash recovery rebuilds the page from the WAL after the last checkpoint's redo point.
//! WAL that is written but not yet flushed sits in the operating system's cache: it
//! survives a crash of PostgreSQL, not a crash of the machine.

/// How the table is WAL-logged (pg_class.relpersistence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    Permanent,
    Unlogged,
}

/// What glassheap.durability saw for one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockState {
    pub persistence: Persistence,
    /// The block is in shared buffers; then `buffer_lsn` and `dirty` describe it.
    pub in_buffers: bool,
    pub buffer_lsn: u64,
    pub dirty: bool,
    /// The page the data file holds (read past the buffer pool).
    pub file_lsn: u64,
    /// The data file's page is all zeros (the block was added and never written).
    pub file_zeroed: bool,
    /// The buffer's bytes equal the file's (apart from pd_checksum); None when the block
    /// is not in shared buffers.
    pub file_matches_buffer: Option<bool>,
    /// WAL positions: inserted, written to the kernel, flushed to disk.
    pub insert: u64,
    pub write: u64,
    pub flush: u64,
    /// The redo point of the last completed checkpoint (where recovery starts).
    pub redo: u64,
}

/// The verdict: `durable` (every change the page shows survives a crash now) and the
/// sentence saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub durable: bool,
    pub text: String,
}

/// Formats LSNs as the server prints pg_lsn (`%X/%X` up to PostgreSQL 18; later servers
/// zero-pad the low half).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LsnStyle {
    pub pad_low: bool,
}

impl LsnStyle {
    pub fn fmt(self, v: u64) -> String {
        if self.pad_low {
            format!("{:X}/{:08X}", v >> 32, v & 0xFFFF_FFFF)
        } else {
            format!("{:X}/{:X}", v >> 32, v & 0xFFFF_FFFF)
        }
    }
}

/// Two 8 kB page images are the same page when they differ at most in pd_checksum
/// (bytes 8..10): PostgreSQL computes the checksum on a copy when it writes the page,
/// so the buffer keeps whatever checksum the page had when it was read.
pub fn same_page(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.len() >= 10 && a[..8] == b[..8] && a[10..] == b[10..]
}

impl BlockState {
    fn file_page(&self, l: LsnStyle) -> String {
        if self.file_zeroed {
            "a zeroed page (the block was added since the file was last written)".to_string()
        } else {
            format!("the page at LSN {}", l.fmt(self.file_lsn))
        }
    }

    /// The verdict for this block.
    pub fn verdict(&self, l: LsnStyle) -> Verdict {
        let flush = l.fmt(self.flush);
        let redo = l.fmt(self.redo);
        if self.persistence == Persistence::Unlogged {
            let state = if !self.in_buffers {
                "not in shared buffers".to_string()
            } else if self.dirty {
                format!(
                    "dirty in shared buffers (the file holds {})",
                    self.file_page(l)
                )
            } else {
                "clean in shared buffers".to_string()
            };
            return Verdict {
                durable: false,
                text: format!(
                    "not crash-safe: an unlogged table writes no WAL, so a crash resets it to its \
                     empty init fork whatever the data file holds; the page is {state}"
                ),
            };
        }
        // The write-ahead rule: no data page reaches the file before its WAL is flushed.
        let anomaly = |lsn: u64, what: &str| {
            format!(
                " (unexpected: {what}'s LSN {} is past the WAL flush position {flush}, which the \
                 write-ahead rule forbids)",
                l.fmt(lsn)
            )
        };
        if !self.in_buffers {
            let mut text = format!(
                "durable: not in shared buffers; the data file holds {}, and the WAL is flushed \
                 to {flush}: nothing for a crash to redo on this page",
                self.file_page(l)
            );
            if self.file_lsn > self.flush {
                text.push_str(&anomaly(self.file_lsn, "the file page"));
            }
            return Verdict {
                durable: self.file_lsn <= self.flush,
                text,
            };
        }
        let b = l.fmt(self.buffer_lsn);
        if !self.dirty {
            let mut text = if self.file_matches_buffer == Some(false) {
                format!(
                    "clean, but the data file holds a different page ({}): a write of it may be \
                     in progress; the buffer's page (LSN {b}) is in WAL flushed to {flush}",
                    self.file_page(l)
                )
            } else {
                format!(
                    "clean: the data file holds the same page (LSN {b}) as shared buffers, and \
                     its WAL is flushed to {flush}: durable, nothing for a crash to redo on \
                     this page"
                )
            };
            if self.buffer_lsn > self.flush {
                text.push_str(&anomaly(self.buffer_lsn, "the page"));
            }
            return Verdict {
                durable: self.buffer_lsn <= self.flush,
                text,
            };
        }
        if self.buffer_lsn <= self.file_lsn && !self.file_zeroed {
            return Verdict {
                durable: true,
                text: format!(
                    "dirty without new WAL: the buffer's page has the file's LSN ({b}), so only \
                     changes that are not WAL-logged (hint bits) were made since it was written; \
                     a crash loses them harmlessly (the next read sets them again)"
                ),
            };
        }
        if self.buffer_lsn <= self.flush {
            return Verdict {
                durable: true,
                text: format!(
                    "dirty, and durable: the page's last change (LSN {b}) is in WAL flushed to \
                     {flush}; the data file still holds the older page ({}): a crash now \
                     rebuilds it from WAL, replaying from the last checkpoint's redo point {redo}",
                    self.file_page(l)
                ),
            };
        }
        let file = self.file_page(l);
        let write = l.fmt(self.write);
        if self.buffer_lsn <= self.write {
            Verdict {
                durable: false,
                text: format!(
                    "not yet durable: the page's last change (LSN {b}) is written to the WAL \
                     file (to {write}) but not flushed (flushed to {flush}): it survives a crash \
                     of PostgreSQL but not of the operating system; the data file holds the \
                     older page ({file}) until the WAL is flushed"
                ),
            }
        } else {
            Verdict {
                durable: false,
                text: format!(
                    "not yet durable: the page's last change (LSN {b}) is only in the WAL \
                     buffers (written to {write}, flushed to {flush}); a crash now loses it and \
                     the data file keeps the older page ({file}). A transaction that committed \
                     with synchronous_commit = off may be in this state until the WAL writer \
                     flushes; one still open flushes at its commit"
                ),
            }
        }
    }
}

/// The session's last commit record, as glassheap.last_commit reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitState {
    pub xid: u32,
    /// Where the commit record starts and ends.
    pub start: u64,
    pub end: u64,
    /// synchronous_commit when the transaction committed (its setting name).
    pub synchronous_commit: String,
    /// The WAL flush position when COMMIT finished (before the client heard of it).
    pub flush_at_commit: u64,
    /// The WAL flush position now.
    pub flush_now: u64,
}

impl CommitState {
    pub fn flushed_at_commit(&self) -> bool {
        self.flush_at_commit >= self.end
    }
    pub fn flushed_now(&self) -> bool {
        self.flush_now >= self.end
    }

    pub fn verdict(&self, l: LsnStyle) -> String {
        let (s, e) = (l.fmt(self.start), l.fmt(self.end));
        let sc = &self.synchronous_commit;
        if self.flushed_at_commit() {
            format!(
                "committed and durable: its commit record ({s}..{e}) was flushed (to {}) before \
                 COMMIT returned (synchronous_commit = {sc})",
                l.fmt(self.flush_at_commit)
            )
        } else if self.flushed_now() {
            format!(
                "committed, not durable when COMMIT returned: the WAL was flushed only to {} and \
                 its commit record ends at {e} (synchronous_commit = {sc}); a crash then would \
                 have lost the transaction. Durable since: the WAL is now flushed to {}",
                l.fmt(self.flush_at_commit),
                l.fmt(self.flush_now)
            )
        } else {
            format!(
                "committed, not yet durable: its commit record ends at {e} but the WAL is \
                 flushed only to {} (synchronous_commit = {sc}); a crash now loses the \
                 transaction although COMMIT succeeded. The WAL writer flushes it within \
                 3 x wal_writer_delay",
                l.fmt(self.flush_now)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: LsnStyle = LsnStyle { pad_low: false };

    fn base() -> BlockState {
        BlockState {
            persistence: Persistence::Permanent,
            in_buffers: true,
            buffer_lsn: 0x300,
            dirty: false,
            file_lsn: 0x300,
            file_zeroed: false,
            file_matches_buffer: Some(true),
            insert: 0x500,
            write: 0x400,
            flush: 0x350,
            redo: 0x100,
        }
    }

    #[test]
    fn lsn_styles() {
        assert_eq!(L.fmt(0x1_0000_00A0), "1/A0");
        assert_eq!(LsnStyle { pad_low: true }.fmt(0x1_0000_00A0), "1/000000A0");
    }

    #[test]
    fn same_page_ignores_the_checksum_only() {
        let a = vec![1u8; 8192];
        let mut b = a.clone();
        b[8] = 7;
        b[9] = 9;
        assert!(same_page(&a, &b));
        b[100] = 0;
        assert!(!same_page(&a, &b));
        assert!(!same_page(&a, &a[..100]));
    }

    #[test]
    fn clean() {
        let v = base().verdict(L);
        assert!(v.durable);
        assert!(
            v.text
                .starts_with("clean: the data file holds the same page (LSN 0/300)"),
            "{}",
            v.text
        );
    }

    #[test]
    fn clean_but_file_differs() {
        let s = BlockState {
            file_matches_buffer: Some(false),
            file_lsn: 0x200,
            ..base()
        };
        let v = s.verdict(L);
        assert!(v.text.starts_with(
            "clean, but the data file holds a different page (the page at LSN 0/200)"
        ));
    }

    #[test]
    fn not_in_buffers() {
        let s = BlockState {
            in_buffers: false,
            file_matches_buffer: None,
            ..base()
        };
        let v = s.verdict(L);
        assert!(v.durable);
        assert!(v.text.starts_with(
            "durable: not in shared buffers; the data file holds the page at LSN 0/300"
        ));
        let bad = BlockState {
            file_lsn: 0x360,
            ..s
        };
        let v = bad.verdict(L);
        assert!(!v.durable);
        assert!(v.text.contains("write-ahead rule forbids"));
    }

    #[test]
    fn dirty_and_durable() {
        let s = BlockState {
            dirty: true,
            buffer_lsn: 0x340,
            file_lsn: 0x200,
            file_matches_buffer: Some(false),
            ..base()
        };
        let v = s.verdict(L);
        assert!(v.durable);
        assert_eq!(
            v.text,
            "dirty, and durable: the page's last change (LSN 0/340) is in WAL flushed to 0/350; \
             the data file still holds the older page (the page at LSN 0/200): a crash now \
             rebuilds it from WAL, replaying from the last checkpoint's redo point 0/100"
        );
        let zeroed = BlockState {
            file_zeroed: true,
            file_lsn: 0,
            ..s
        };
        assert!(zeroed.verdict(L).text.contains("a zeroed page"));
    }

    #[test]
    fn dirty_hint_bits_only() {
        let s = BlockState {
            dirty: true,
            file_matches_buffer: Some(false),
            ..base()
        };
        let v = s.verdict(L);
        assert!(v.durable);
        assert!(v.text.starts_with("dirty without new WAL"));
    }

    #[test]
    fn written_not_flushed() {
        let s = BlockState {
            dirty: true,
            buffer_lsn: 0x380,
            file_lsn: 0x200,
            ..base()
        };
        let v = s.verdict(L);
        assert!(!v.durable);
        assert!(v.text.starts_with("not yet durable: the page's last change (LSN 0/380) is written to the WAL file (to 0/400) but not flushed (flushed to 0/350)"));
    }

    #[test]
    fn only_in_wal_buffers() {
        let s = BlockState {
            dirty: true,
            buffer_lsn: 0x480,
            file_lsn: 0x200,
            ..base()
        };
        let v = s.verdict(L);
        assert!(!v.durable);
        assert!(v.text.starts_with(
            "not yet durable: the page's last change (LSN 0/480) is only in the WAL buffers"
        ));
        assert!(v.text.contains("synchronous_commit = off"));
    }

    #[test]
    fn clean_page_past_flush_is_flagged() {
        let s = BlockState {
            buffer_lsn: 0x360,
            file_lsn: 0x360,
            ..base()
        };
        let v = s.verdict(L);
        assert!(!v.durable);
        assert!(v.text.contains("unexpected"));
    }

    #[test]
    fn unlogged() {
        for (in_buffers, dirty, tail) in [
            (false, false, "not in shared buffers"),
            (true, false, "clean in shared buffers"),
            (
                true,
                true,
                "dirty in shared buffers (the file holds the page at LSN 0/300)",
            ),
        ] {
            let s = BlockState {
                persistence: Persistence::Unlogged,
                in_buffers,
                dirty,
                ..base()
            };
            let v = s.verdict(L);
            assert!(!v.durable);
            assert!(v.text.starts_with("not crash-safe: an unlogged table"));
            assert!(v.text.ends_with(tail), "{}", v.text);
        }
    }

    fn commit() -> CommitState {
        CommitState {
            xid: 740,
            start: 0x1000,
            end: 0x1028,
            synchronous_commit: "on".into(),
            flush_at_commit: 0x1028,
            flush_now: 0x1028,
        }
    }

    #[test]
    fn commit_durable() {
        let c = commit();
        assert!(c.flushed_at_commit() && c.flushed_now());
        assert_eq!(
            c.verdict(L),
            "committed and durable: its commit record (0/1000..0/1028) was flushed (to 0/1028) \
             before COMMIT returned (synchronous_commit = on)"
        );
    }

    #[test]
    fn commit_async_later_flushed() {
        let c = CommitState {
            synchronous_commit: "off".into(),
            flush_at_commit: 0x1000,
            flush_now: 0x2000,
            ..commit()
        };
        assert!(!c.flushed_at_commit() && c.flushed_now());
        let v = c.verdict(L);
        assert!(
            v.starts_with(
                "committed, not durable when COMMIT returned: the WAL was flushed only to 0/1000"
            ),
            "{v}"
        );
        assert!(v.ends_with("Durable since: the WAL is now flushed to 0/2000"));
    }

    #[test]
    fn commit_async_not_yet_flushed() {
        let c = CommitState {
            synchronous_commit: "off".into(),
            flush_at_commit: 0x1000,
            flush_now: 0x1010,
            ..commit()
        };
        assert!(!c.flushed_now());
        let v = c.verdict(L);
        assert!(v.starts_with("committed, not yet durable: its commit record ends at 0/1028 but the WAL is flushed only to 0/1010 (synchronous_commit = off)"), "{v}");
    }
}
