//! One step of a row's history (`glassheap.row_history`), for heap's records
//! (heapreplay) and glassheap's (history) alike.

/// One step of a row's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowEvent {
    /// The version the event concerns (block, offset).
    pub tid: (u32, u16),
    pub event: String,
    pub detail: String,
}
