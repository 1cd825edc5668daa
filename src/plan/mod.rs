//! What to do and why, as plain data. Pure: reads files, starts nothing.

pub mod legacy;
