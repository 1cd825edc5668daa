//! What to do and why, as plain data. Pure: reads files, starts nothing.

pub mod jobs;
pub mod legacy;
pub mod legacy_changes;
pub mod live;
pub mod multi;
pub mod reasons;
pub mod release;
