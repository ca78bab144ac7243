//! Bounds-checked little-endian reader for untrusted WAL payload bytes.
//!
//! Mirrors no single PostgreSQL header: it stands in for the pointer casts that the
//! redo and `rm_desc` routines apply to `XLogRecGetData()` / `XLogRecGetBlockData()`
//! (see `src/include/access/xlogreader.h`). PostgreSQL's record decoder MAXALIGNs the
//! start of the main data and of every block's data, so C struct alignment is
//! reproduced by aligning offsets relative to the start of the buffer
//! ([`Reader::align`]).
//!
//! Every read checks the bytes left; counts taken from the data are checked against
//! the bytes left *before* anything is allocated or looped over
//! ([`Reader::check_count`]). Nothing here can panic on any input.

use std::fmt;

/// What went wrong while decoding; the text always starts with the name of the
/// structure being read (`"xl_heap_insert: truncated ..."`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

pub type Res<T> = Result<T, DecodeError>;

/// A cursor over a byte slice that only hands out bytes that exist.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// `what` names the structure (or block) being read; it prefixes every error.
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    pub fn what(&self) -> &'static str {
        self.what
    }

    /// Offset of the next byte to read, from the start of the buffer.
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// An error about this structure: `"<what>: <msg>"`.
    pub fn err(&self, msg: impl fmt::Display) -> DecodeError {
        DecodeError(format!("{}: {}", self.what, msg))
    }

    fn truncated(&self, field: &str, need: usize) -> DecodeError {
        self.err(format_args!(
            "truncated reading {field} at offset {}: need {need} bytes, {} left",
            self.pos,
            self.remaining()
        ))
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize, field: &str) -> Res<&'a [u8]> {
        let end = match self.pos.checked_add(n) {
            Some(end) if end <= self.buf.len() => end,
            _ => return Err(self.truncated(field, n)),
        };
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.truncated(field, n))?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, field: &str) -> Res<[u8; N]> {
        let s = self.bytes(N, field)?;
        <[u8; N]>::try_from(s).map_err(|_| self.truncated(field, N))
    }

    pub fn get_u8(&mut self, field: &str) -> Res<u8> {
        Ok(u8::from_le_bytes(self.array(field)?))
    }

    pub fn get_i8(&mut self, field: &str) -> Res<i8> {
        Ok(i8::from_le_bytes(self.array(field)?))
    }

    /// A C `bool` (one byte, nonzero is true).
    pub fn get_bool(&mut self, field: &str) -> Res<bool> {
        Ok(self.get_u8(field)? != 0)
    }

    pub fn get_u16(&mut self, field: &str) -> Res<u16> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    pub fn get_i16(&mut self, field: &str) -> Res<i16> {
        Ok(i16::from_le_bytes(self.array(field)?))
    }

    pub fn get_u32(&mut self, field: &str) -> Res<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    pub fn get_i32(&mut self, field: &str) -> Res<i32> {
        Ok(i32::from_le_bytes(self.array(field)?))
    }

    pub fn get_u64(&mut self, field: &str) -> Res<u64> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    pub fn get_i64(&mut self, field: &str) -> Res<i64> {
        Ok(i64::from_le_bytes(self.array(field)?))
    }

    /// Skips `n` bytes (padding), which must exist.
    pub fn skip(&mut self, n: usize, field: &str) -> Res<()> {
        self.bytes(n, field).map(|_| ())
    }

    /// Skips up to `n` bytes: trailing struct padding that a writer may or may not have
    /// included (`sizeof` vs `SizeOf...`).
    pub fn skip_upto(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n.min(self.remaining()));
    }

    /// Skips the padding C inserts before a field aligned to `a` bytes.
    pub fn align(&mut self, a: usize, field: &str) -> Res<()> {
        if a <= 1 {
            return Ok(());
        }
        let pad = (a - self.pos % a) % a;
        self.skip(pad, field)
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        s
    }

    /// Checks that `count` elements of `elem_size` bytes fit in what is left, and
    /// returns the count as `usize`. Call this before allocating or looping.
    pub fn check_count(&self, count: u64, elem_size: usize, field: &str) -> Res<usize> {
        let need = u128::from(count) * elem_size as u128;
        if need > self.remaining() as u128 {
            return Err(self.err(format_args!(
                "truncated: {field} = {count} needs {need} bytes at offset {}, {} left",
                self.pos,
                self.remaining()
            )));
        }
        usize::try_from(count).map_err(|_| self.err(format_args!("{field} = {count} too large")))
    }

    /// Like [`Reader::check_count`] for the C `int` counts xact.c writes; negative is
    /// invalid.
    pub fn check_count_i32(&self, count: i32, elem_size: usize, field: &str) -> Res<usize> {
        let c = u64::try_from(count)
            .map_err(|_| self.err(format_args!("invalid {field} = {count} (negative)")))?;
        self.check_count(c, elem_size, field)
    }

    /// `count` uint16 values (OffsetNumber arrays), count checked first.
    pub fn get_u16_vec(&mut self, count: u64, field: &str) -> Res<Vec<u16>> {
        let n = self.check_count(count, 2, field)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.get_u16(field)?);
        }
        Ok(v)
    }

    /// `count` uint32 values (xid / Oid arrays), count checked first.
    pub fn get_u32_vec(&mut self, count: u64, field: &str) -> Res<Vec<u32>> {
        let n = self.check_count(count, 4, field)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.get_u32(field)?);
        }
        Ok(v)
    }

    /// A NUL-terminated string; the terminator must be present and is consumed.
    pub fn cstring(&mut self, field: &str) -> Res<String> {
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        match rest.iter().position(|&b| b == 0) {
            Some(n) => {
                let s = self.bytes(n + 1, field)?;
                Ok(String::from_utf8_lossy(s.get(..n).unwrap_or(&[])).into_owned())
            }
            None => Err(self.err(format_args!(
                "truncated reading {field} at offset {}: no NUL terminator in {} bytes",
                self.pos,
                self.remaining()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_stops_at_the_end() {
        let b = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
        let mut r = Reader::new(&b, "t");
        assert_eq!(r.get_u8("a").unwrap(), 1);
        assert_eq!(r.get_u16("b").unwrap(), 0x0302);
        r.align(4, "pad").unwrap();
        assert_eq!(r.pos(), 4);
        assert_eq!(r.get_u32("c").unwrap(), 0x0807_0605);
        let e = r.get_u16("d").unwrap_err();
        assert_eq!(
            e.0,
            "t: truncated reading d at offset 8: need 2 bytes, 1 left"
        );
        // a failed read consumes nothing
        assert_eq!(r.get_u8("e").unwrap(), 9);
        assert!(r.get_u64("f").is_err());
        assert_eq!(r.remaining(), 0);
        assert!(r.rest().is_empty());
    }

    #[test]
    fn counts_are_checked_before_allocation() {
        let b = [0u8; 6];
        let r = Reader::new(&b, "t");
        assert_eq!(r.check_count(3, 2, "n").unwrap(), 3);
        assert!(r.check_count(4, 2, "n").is_err());
        assert!(r.check_count(u64::MAX, usize::MAX, "n").is_err());
        assert!(r
            .check_count_i32(-1, 4, "n")
            .unwrap_err()
            .0
            .contains("negative"));
        let mut r = Reader::new(&b, "t");
        assert!(r.get_u32_vec(u64::from(u32::MAX), "xids").is_err());
        assert_eq!(r.get_u16_vec(3, "offs").unwrap(), vec![0, 0, 0]);
    }

    #[test]
    fn cstring_needs_its_terminator() {
        let mut r = Reader::new(b"ab\0cd", "t");
        assert_eq!(r.cstring("s").unwrap(), "ab");
        assert!(r.cstring("s").unwrap_err().0.contains("no NUL"));
        assert_eq!(r.remaining(), 2);
    }
}
