//! Loading and validating the repo's configuration. Nothing here starts a process.

pub mod block_yaml;
pub mod charts;
pub mod cluster;
pub mod deploy_yaml;
pub mod depth;
pub mod duration;
pub mod error;
pub mod files;
pub mod health;
pub mod input;
pub mod legacy;
pub mod multi;
pub mod names;
pub mod paths;
pub mod root;
pub mod secret_files;
pub mod tree;
pub mod values;
pub mod yaml;

pub use error::{ConfigError, ConfigErrors, MissingPrograms, UsageError};
