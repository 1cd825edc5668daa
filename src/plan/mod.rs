//! What to do and why, as plain data. Pure: reads files, starts nothing.

pub mod changes;
pub mod chart;
mod cluster_diff;
pub mod diff;
pub mod diff_mask;
pub mod doctor;
pub mod jobs;
pub mod json;
pub mod legacy;
pub mod legacy_changes;
pub mod live;
pub mod multi;
pub mod objects;
pub mod reasons;
pub mod release;
pub mod release_parts;
pub mod run_plan;
