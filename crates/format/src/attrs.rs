//! Where each attribute of a tuple's data area lies, by PostgreSQL's rules
//! (att_align_nominal, att_align_pointer, att_addlength_pointer, VARSIZE_ANY), with every
//! length checked against the bytes that exist. The access method's deforming and the
//! inspection functions (tuple_values, verify) both use these functions.

/// How one attribute is stored: pg_attribute's attlen, attalign and attbyval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrDesc {
    pub len: i16,
    pub align: u8,
    pub byval: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrError {
    /// 1-based attribute number.
    pub attnum: usize,
    pub what: &'static str,
}

impl std::fmt::Display for AttrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "attribute {}: {}", self.attnum, self.what)
    }
}
impl std::error::Error for AttrError {}

/// att_align_nominal.
#[inline]
pub fn align_nominal(off: usize, align: u8) -> usize {
    let a = match align {
        b'i' => 4,
        b'd' => 8,
        b's' => 2,
        _ => 1,
    };
    (off + a - 1) & !(a - 1)
}

/// VARSIZE_ANY of the varlena that starts with `p` (None when the header is unreadable or
/// names an unknown external tag).
#[inline]
pub fn varsize_any(p: &[u8]) -> Option<usize> {
    let b0 = *p.first()?;
    if b0 == 0x01 {
        // 1-byte header 0x01: external datum; its size depends on the tag in byte 1.
        let body = match *p.get(1)? {
            1 => 8,     // varatt_indirect: a pointer
            2 | 3 => 8, // varatt_expanded: a pointer
            18 => 16,   // varatt_external (on-disk TOAST pointer)
            _ => return None,
        };
        Some(2 + body)
    } else if b0 & 0x01 == 0x01 {
        Some((b0 >> 1) as usize)
    } else {
        if p.len() < 4 {
            return None;
        }
        Some((u32::from_le_bytes([p[0], p[1], p[2], p[3]]) >> 2) as usize & 0x3FFF_FFFF)
    }
}

/// Where an attribute starts when the previous one ended at `off` (att_align_pointer: a
/// varlena whose first byte is not a pad byte starts a short 1-byte header, unaligned).
#[inline]
pub fn attr_start(
    data: &[u8],
    off: usize,
    d: &AttrDesc,
    attnum: usize,
) -> Result<usize, AttrError> {
    if d.len == -1 {
        match data.get(off) {
            None => Err(AttrError {
                attnum,
                what: "starts past the end of the tuple",
            }),
            Some(0) => Ok(align_nominal(off, d.align)),
            Some(_) => Ok(off),
        }
    } else {
        Ok(align_nominal(off, d.align))
    }
}

/// The length of the attribute stored at `start`, checked to lie within `data`.
#[inline]
pub fn attr_size(
    data: &[u8],
    start: usize,
    d: &AttrDesc,
    attnum: usize,
) -> Result<usize, AttrError> {
    let rest = data.get(start..).ok_or(AttrError {
        attnum,
        what: "starts past the end of the tuple",
    })?;
    let size = match d.len {
        -1 => match varsize_any(rest) {
            Some(0) | None => {
                return Err(AttrError {
                    attnum,
                    what: "has an invalid varlena header",
                })
            }
            Some(s) => s,
        },
        -2 => match rest.iter().position(|&c| c == 0) {
            Some(p) => p + 1,
            None => {
                return Err(AttrError {
                    attnum,
                    what: "is an unterminated cstring",
                })
            }
        },
        n if n > 0 => n as usize,
        _ => {
            return Err(AttrError {
                attnum,
                what: "has an invalid attlen",
            })
        }
    };
    if size > rest.len() {
        return Err(AttrError {
            attnum,
            what: "extends past the end of the tuple",
        });
    }
    Ok(size)
}

/// One attribute of a stored tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrSlice {
    Null,
    /// Beyond the tuple's natts (added by ALTER TABLE later): the catalog's default.
    Missing,
    Value {
        start: usize,
        len: usize,
    },
}

/// Splits a tuple's data area into its attributes. `nulls` is the heap-convention bitmap
/// (bit set = not null) when the tuple has one.
pub fn split(
    data: &[u8],
    natts: usize,
    nulls: Option<&[u8]>,
    descs: &[AttrDesc],
) -> Result<Vec<AttrSlice>, AttrError> {
    let mut out = Vec::with_capacity(descs.len());
    let mut off = 0usize;
    for (i, d) in descs.iter().enumerate() {
        if i >= natts {
            out.push(AttrSlice::Missing);
            continue;
        }
        if let Some(bits) = nulls {
            let byte = *bits.get(i / 8).ok_or(AttrError {
                attnum: i + 1,
                what: "is not covered by the null bitmap",
            })?;
            if byte & (1 << (i % 8)) == 0 {
                out.push(AttrSlice::Null);
                continue;
            }
        }
        let start = attr_start(data, off, d, i + 1)?;
        let len = attr_size(data, start, d, i + 1)?;
        out.push(AttrSlice::Value { start, len });
        off = start + len;
    }
    Ok(out)
}

/// heap_compute_data_size for a row whose attributes are all fixed-width and passed by
/// value (attlen 1, 2, 4 or 8, attbyval): every non-null value at its aligned offset.
pub fn fixed_byval_data_size(
    natts: usize,
    attr: impl Fn(usize) -> AttrDesc,
    isnull: impl Fn(usize) -> bool,
) -> usize {
    (0..natts).filter(|&i| !isnull(i)).fold(0, |off, i| {
        let d = attr(i);
        align_nominal(off, d.align) + d.len as usize
    })
}

/// heap_fill_tuple for such a row (the caller checked every attribute is by-value with
/// attlen 1, 2, 4 or 8): each non-null Datum's low `attlen` bytes, in native byte order
/// as store_att_byval writes them, at its aligned offset in `data` (which must be zeroed
/// and `fixed_byval_data_size` long), and the null bitmap (bit set = not null) in `bits`
/// when the row has nulls. Padding is left as the zeroes it was.
pub fn fill_fixed_byval(
    natts: usize,
    attr: impl Fn(usize) -> AttrDesc,
    value: impl Fn(usize) -> u64,
    isnull: impl Fn(usize) -> bool,
    data: &mut [u8],
    mut bits: Option<&mut [u8]>,
) {
    let mut off = 0usize;
    for i in 0..natts {
        if isnull(i) {
            continue;
        }
        if let Some(b) = bits.as_deref_mut() {
            b[i / 8] |= 1 << (i % 8);
        }
        let d = attr(i);
        let start = align_nominal(off, d.align);
        let v = value(i);
        match d.len {
            1 => data[start] = v as u8,
            2 => data[start..start + 2].copy_from_slice(&(v as u16).to_ne_bytes()),
            4 => data[start..start + 4].copy_from_slice(&(v as u32).to_ne_bytes()),
            8 => data[start..start + 8].copy_from_slice(&v.to_ne_bytes()),
            _ => panic!("fill_fixed_byval: attribute {} has length {}", i + 1, d.len),
        }
        off = start + d.len as usize;
    }
}

/// One attribute of a row for [`refill_plan`]: how it is stored, and whether its values
/// may be stored with a short header (VARLENA_ATT_IS_PACKABLE: attstorage is not PLAIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefillAttr {
    pub desc: AttrDesc,
    pub packable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefillSrc {
    /// The attribute's bytes where they are in the old data area.
    Old(usize),
    /// The replacement value of this attribute, as given (`short`: its 4-byte header
    /// becomes a 1-byte one, as heap_fill_tuple converts small values).
    New { attr: usize, short: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RefillMove {
    dst: usize,
    src: RefillSrc,
    len: usize,
}

/// Where each attribute of a data area goes when some of its varlena values are replaced
/// (the TOAST step: a value compressed, moved out of line behind an 18-byte pointer, or
/// fetched back from another relation's TOAST table). The new layout is the one
/// heap_fill_tuple would produce from the row's values with those replacements, so a row
/// formed once and then refilled is byte-for-byte the row formed from the toasted values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefillPlan {
    moves: Vec<RefillMove>,
    /// The new data area's size.
    pub size: usize,
    /// Every attribute's new extent ends at or before its old one ends, so the data area
    /// can be rewritten where it is, front to back ([`refill_in_place`]).
    pub in_place: bool,
    /// Some value is an external datum (heap_fill_tuple's HEAP_HASEXTERNAL).
    pub has_external: bool,
}

/// Plans the refill of the data area `data` (of a row with `attrs.len()` attributes and
/// the null bitmap `nulls`, bit set = not null, when it has one): `new[i]` is the
/// replacement value of attribute i (a whole varlena, header included), None to keep it.
/// Errors when the data area does not parse, when a replacement is given for a null or
/// non-varlena attribute, or when a replacement is not exactly one varlena.
pub fn refill_plan(
    data: &[u8],
    nulls: Option<&[u8]>,
    attrs: &[RefillAttr],
    new: &[Option<&[u8]>],
) -> Result<RefillPlan, AttrError> {
    let mut moves = Vec::with_capacity(attrs.len());
    let (mut off, mut in_place, mut has_external) = (0usize, true, false);
    // the old layout, walked as `split` does
    let mut old_off = 0usize;
    for (i, a) in attrs.iter().enumerate() {
        let replacement = new.get(i).copied().flatten();
        let err = |what| AttrError {
            attnum: i + 1,
            what,
        };
        if let Some(bits) = nulls {
            let byte = *bits
                .get(i / 8)
                .ok_or(err("is not covered by the null bitmap"))?;
            if byte & (1 << (i % 8)) == 0 {
                if replacement.is_some() {
                    return Err(err("is null and cannot be replaced"));
                }
                continue;
            }
        }
        let start = attr_start(data, old_off, &a.desc, i + 1)?;
        let old_len = attr_size(data, start, &a.desc, i + 1)?;
        old_off = start + old_len;
        let (src, first, len) = match replacement {
            None => (RefillSrc::Old(start), data[start], old_len),
            Some(v) => {
                if a.desc.len != -1 {
                    return Err(err("is not a varlena and cannot be replaced"));
                }
                if varsize_any(v) != Some(v.len()) || v.is_empty() {
                    return Err(err("replacement is not one whole varlena"));
                }
                // VARATT_IS_4B_U && VARATT_CAN_MAKE_SHORT: uncompressed 4-byte header,
                // the data fits a 1-byte header (at most 126 bytes of data)
                if a.packable && v[0] & 0x03 == 0 && v.len() - 3 <= 0x7F {
                    let len = v.len() - 3;
                    let src = RefillSrc::New {
                        attr: i,
                        short: true,
                    };
                    (src, ((len << 1) | 1) as u8, len)
                } else {
                    let src = RefillSrc::New {
                        attr: i,
                        short: false,
                    };
                    (src, v[0], v.len())
                }
            }
        };
        // heap_fill_tuple: values with a 1-byte header (short or external) unaligned
        let dst = if a.desc.len == -1 && first & 0x01 == 0x01 {
            off
        } else {
            align_nominal(off, a.desc.align)
        };
        if dst + len > start + old_len {
            in_place = false;
        }
        if a.desc.len == -1 && first == 0x01 {
            has_external = true;
        }
        moves.push(RefillMove { dst, src, len });
        off = dst + len;
    }
    Ok(RefillPlan {
        moves,
        size: off,
        in_place,
        has_external,
    })
}

fn refill_value(m: &RefillMove, new: &[Option<&[u8]>], out: &mut [u8]) {
    if let RefillSrc::New { attr, short } = m.src {
        let v = new[attr].expect("a planned replacement");
        if short {
            out[0] = ((m.len << 1) | 1) as u8;
            out[1..].copy_from_slice(&v[4..4 + m.len - 1]);
        } else {
            out.copy_from_slice(v);
        }
    }
}

/// Rewrites `data` (the data area the plan was made from) in its own bytes: every
/// attribute at its new place, the padding between them zeroed. The bytes from
/// `plan.size` on are no longer part of the row and are left as they were. The plan must
/// be `in_place`.
pub fn refill_in_place(plan: &RefillPlan, data: &mut [u8], new: &[Option<&[u8]>]) {
    assert!(
        plan.in_place,
        "refill_in_place: the plan needs a new buffer"
    );
    let mut end = 0usize;
    for m in &plan.moves {
        data[end..m.dst].fill(0);
        match m.src {
            RefillSrc::Old(start) => data.copy_within(start..start + m.len, m.dst),
            RefillSrc::New { .. } => refill_value(m, new, &mut data[m.dst..m.dst + m.len]),
        }
        end = m.dst + m.len;
    }
}

/// Writes the refilled data area into `out` (zeroed, `plan.size` bytes) from the old one.
pub fn refill_into(plan: &RefillPlan, old: &[u8], out: &mut [u8], new: &[Option<&[u8]>]) {
    for m in &plan.moves {
        let dst = &mut out[m.dst..m.dst + m.len];
        match m.src {
            RefillSrc::Old(start) => dst.copy_from_slice(&old[start..start + m.len]),
            RefillSrc::New { .. } => refill_value(m, new, dst),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INT4: AttrDesc = AttrDesc {
        len: 4,
        align: b'i',
        byval: true,
    };
    const INT8: AttrDesc = AttrDesc {
        len: 8,
        align: b'd',
        byval: true,
    };
    const TEXT: AttrDesc = AttrDesc {
        len: -1,
        align: b'i',
        byval: false,
    };
    const CHAR: AttrDesc = AttrDesc {
        len: 1,
        align: b'c',
        byval: true,
    };

    #[test]
    fn alignment_and_short_varlena() {
        // "char" 'x', then a short text 'ab' (1-byte header 0x07), pad, int8 at 8
        let mut data = vec![b'x', 0x07, b'a', b'b', 0, 0, 0, 0];
        data.extend_from_slice(&5i64.to_le_bytes());
        let s = split(&data, 3, None, &[CHAR, TEXT, INT8]).unwrap();
        assert_eq!(
            s,
            vec![
                AttrSlice::Value { start: 0, len: 1 },
                AttrSlice::Value { start: 1, len: 3 },
                AttrSlice::Value { start: 8, len: 8 }
            ]
        );
    }

    #[test]
    fn nulls_missing_and_long_varlena() {
        let mut data = 7i32.to_le_bytes().to_vec();
        let body = vec![b'z'; 200];
        data.extend_from_slice(&(((4 + body.len()) as u32) << 2).to_le_bytes());
        data.extend_from_slice(&body);
        let bits = [0b101u8];
        let s = split(&data, 3, Some(&bits), &[INT4, INT4, TEXT, INT4]).unwrap();
        assert_eq!(s[0], AttrSlice::Value { start: 0, len: 4 });
        assert_eq!(s[1], AttrSlice::Null);
        assert_eq!(s[2], AttrSlice::Value { start: 4, len: 204 });
        assert_eq!(s[3], AttrSlice::Missing);
    }

    #[test]
    fn truncation_is_an_error() {
        assert!(split(&[1, 2], 1, None, &[INT4]).is_err());
        assert!(split(&[0x40, 0, 0, 0], 1, None, &[TEXT]).is_err());
        assert!(split(&[1, 2, 3, 4], 2, Some(&[]), &[INT4, INT4]).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..80), natts in 0usize..6,
                        nulls in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..2)),
                        kinds in proptest::collection::vec(0u8..5, 0..6)) {
            let descs: Vec<AttrDesc> = kinds.iter().map(|k| match k {
                0 => INT4, 1 => INT8, 2 => TEXT, 3 => CHAR, _ => AttrDesc { len: -2, align: b'c', byval: false },
            }).collect();
            if let Ok(s) = split(&data, natts, nulls.as_deref(), &descs) {
                for a in s {
                    if let AttrSlice::Value { start, len } = a {
                        prop_assert!(start + len <= data.len());
                    }
                }
            }
        }
    }

    proptest! {
        /// A row filled by fill_fixed_byval reads back, through the same rules the
        /// deformer uses (split), as the values and nulls it was filled from.
        #[test]
        fn fixed_byval_round_trip(cols in proptest::collection::vec((0u8..4, any::<u64>(), any::<bool>()), 1..40)) {
            let descs: Vec<AttrDesc> = cols.iter().map(|c| match c.0 {
                0 => CHAR, 1 => AttrDesc { len: 2, align: b's', byval: true }, 2 => INT4, _ => INT8,
            }).collect();
            let n = descs.len();
            let size = fixed_byval_data_size(n, |i| descs[i], |i| cols[i].2);
            let mut data = vec![0u8; size];
            let has_nulls = cols.iter().any(|c| c.2);
            let mut bits = vec![0u8; n.div_ceil(8)];
            fill_fixed_byval(n, |i| descs[i], |i| cols[i].1, |i| cols[i].2, &mut data,
                             if has_nulls { Some(&mut bits) } else { None });
            let s = split(&data, n, if has_nulls { Some(&bits) } else { None }, &descs).unwrap();
            for (i, a) in s.iter().enumerate() {
                match *a {
                    AttrSlice::Null => prop_assert!(cols[i].2),
                    AttrSlice::Value { start, len } => {
                        prop_assert!(!cols[i].2);
                        prop_assert_eq!(len, descs[i].len as usize);
                        let mut w = [0u8; 8];
                        w[..len].copy_from_slice(&data[start..start + len]);
                        let mask = if len == 8 { u64::MAX } else { (1u64 << (8 * len)) - 1 };
                        prop_assert_eq!(u64::from_le_bytes(w), cols[i].1 & mask);
                    }
                    AttrSlice::Missing => prop_assert!(false),
                }
            }
            // nothing but values and zero padding: the last value ends the area
            if let Some(last) = s.iter().rev().find_map(|a| match *a { AttrSlice::Value { start, len } => Some(start + len), _ => None }) {
                prop_assert_eq!(last, size);
            } else {
                prop_assert_eq!(size, 0);
            }
        }
    }

    /// heap_fill_tuple over whole values (varlenas with their in-memory headers), the
    /// reference the refill is checked against.
    fn reference_fill(attrs: &[RefillAttr], vals: &[Option<Vec<u8>>]) -> Vec<u8> {
        let mut out = Vec::new();
        for (a, v) in attrs.iter().zip(vals) {
            let Some(v) = v else { continue };
            if a.desc.len == -1 {
                if v[0] & 0x01 == 0x01 {
                    out.extend_from_slice(v);
                } else if a.packable && v[0] & 0x03 == 0 && v.len() - 3 <= 0x7F {
                    out.push((((v.len() - 3) << 1) | 1) as u8);
                    out.extend_from_slice(&v[4..]);
                } else {
                    out.resize(align_nominal(out.len(), a.desc.align), 0);
                    out.extend_from_slice(v);
                }
            } else {
                out.resize(align_nominal(out.len(), a.desc.align), 0);
                out.extend_from_slice(v);
            }
        }
        out
    }

    fn varlena(kind: u8, body: &[u8]) -> Vec<u8> {
        match kind {
            // external on-disk pointer: 0x01, tag 18, 16 bytes
            0 => {
                let mut v = vec![0x01, 18];
                v.extend((0..16).map(|k| body.get(k).copied().unwrap_or(k as u8)));
                v
            }
            // compressed in-line: 4-byte header with 0b10 in its low bits
            1 => {
                let mut v = ((((4 + body.len()) as u32) << 2) | 0x02)
                    .to_le_bytes()
                    .to_vec();
                v.extend_from_slice(body);
                v
            }
            // plain 4-byte header
            _ => {
                let mut v = (((4 + body.len()) as u32) << 2).to_le_bytes().to_vec();
                v.extend_from_slice(body);
                v
            }
        }
    }

    proptest! {
        /// A row formed from values and then refilled with replacements is the row formed
        /// from the replaced values, in place (when the plan says so) and into a new
        /// buffer; nothing is left past the new end.
        #[test]
        fn refill_is_forming_from_the_replaced_values(
            cols in proptest::collection::vec(
                (0u8..5, any::<bool>(), 0u8..3, 0usize..300, proptest::option::of((0u8..3, 0usize..300)), any::<u8>()),
                1..12)
        ) {
            let mut attrs = Vec::new();
            let mut vals = Vec::new();
            let mut repl = Vec::new();
            for (k, null, vk, vlen, r, fill) in &cols {
                let (desc, packable) = match k {
                    0 => (INT4, false),
                    1 => (INT8, false),
                    2 => (CHAR, false),
                    3 => (TEXT, true),
                    _ => (AttrDesc { len: -1, align: b'd', byval: false }, false),
                };
                attrs.push(RefillAttr { desc, packable });
                if *null {
                    vals.push(None);
                    repl.push(None);
                    continue;
                }
                let body: Vec<u8> = (0..*vlen).map(|j| fill.wrapping_add(j as u8) | 1).collect();
                let v = if desc.len == -1 { varlena(*vk, &body) } else { body[..0].iter().copied().chain((0..desc.len as usize).map(|j| fill.wrapping_add(j as u8))).collect() };
                vals.push(Some(v));
                repl.push(if desc.len == -1 { r.map(|(rk, rlen)| varlena(rk, &body[..rlen.min(body.len())])) } else { None });
            }
            let has_nulls = vals.iter().any(|v| v.is_none());
            let bits: Vec<u8> = (0..attrs.len().div_ceil(8)).map(|b| {
                (0..8).filter(|j| b * 8 + j < vals.len() && vals[b * 8 + j].is_some()).fold(0u8, |acc, j| acc | (1 << j))
            }).collect();
            let formed = reference_fill(&attrs, &vals);
            let replaced: Vec<Option<Vec<u8>>> = vals.iter().zip(&repl).map(|(v, r)| r.clone().or(v.clone())).collect();
            let expected = reference_fill(&attrs, &replaced);
            let new: Vec<Option<&[u8]>> = repl.iter().map(|r| r.as_deref()).collect();
            let nulls = if has_nulls { Some(&bits[..]) } else { None };
            let plan = refill_plan(&formed, nulls, &attrs, &new).unwrap();
            prop_assert_eq!(plan.size, expected.len());
            let mut out = vec![0u8; plan.size];
            refill_into(&plan, &formed, &mut out, &new);
            prop_assert_eq!(&out, &expected);
            if plan.in_place {
                let mut data = formed.clone();
                refill_in_place(&plan, &mut data, &new);
                prop_assert!(plan.size <= formed.len());
                prop_assert_eq!(&data[..plan.size], &expected[..]);
            }
            let externals = replaced.iter().zip(&attrs).any(|(v, a)| a.desc.len == -1 && v.as_ref().is_some_and(|v| v[0] == 0x01));
            prop_assert_eq!(plan.has_external, externals);
        }
    }

    #[test]
    fn refill_moves_values_left_and_rejects_bad_replacements() {
        let attrs = [
            RefillAttr {
                desc: TEXT,
                packable: true,
            },
            RefillAttr {
                desc: INT4,
                packable: false,
            },
        ];
        let big = varlena(2, &[b'a'; 200]);
        let mut formed = big.clone();
        formed.extend_from_slice(&7i32.to_le_bytes());
        let ptr = varlena(0, &[9; 16]);
        let new = [Some(&ptr[..]), None];
        let plan = refill_plan(&formed, None, &attrs, &new).unwrap();
        assert!(plan.in_place && plan.has_external);
        assert_eq!(plan.size, 24); // 18-byte pointer, int4 aligned at 20
        refill_in_place(&plan, &mut formed, &new);
        assert_eq!(&formed[..18], &ptr[..]);
        assert_eq!(&formed[18..20], &[0, 0]);
        assert_eq!(&formed[20..24], &7i32.to_le_bytes());
        // a replacement for the int4, a truncated varlena: errors
        let bad = [None, Some(&ptr[..])];
        assert!(refill_plan(&formed[..24], None, &attrs, &bad).is_err());
        let cut = [Some(&ptr[..10]), None];
        assert!(refill_plan(&formed[..24], None, &attrs, &cut).is_err());
    }
}
