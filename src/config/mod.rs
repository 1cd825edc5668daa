//! Loading and validating the repo's configuration. Nothing here starts a process.

pub mod deploy_yaml;
pub mod duration;
pub mod error;
pub mod legacy;
pub mod names;
pub mod yaml;

pub use error::{ConfigError, ConfigErrors, UsageError};
