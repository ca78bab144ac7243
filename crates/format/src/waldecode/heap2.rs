//! Placeholder, filled in by a later commit.

use super::{record_type, BlockRef, Out};
use serde_json::Value;

pub fn identify(_info: u8) -> Option<&'static str> {
    None
}

pub(crate) fn decode(info: u8, _main: &[u8], _blocks: &[BlockRef<'_>]) -> Value {
    let mut out = Out::new(record_type(identify(info), info));
    out.put("undecoded", true);
    out.finish(Ok(()))
}

#[cfg(test)]
pub(crate) mod tests {
    pub(crate) fn samples() -> Vec<super::super::testutil::Sample> {
        Vec::new()
    }
}
