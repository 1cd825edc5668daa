//! `deploy`: deploy JupyterHub-style Helm releases from a hub-ops repository.
//!
//! Layers, each using only those before it:
//! `config` (load + validate) → `plan` (what to do and why, as data) → `execute` (the only code
//! that hands commands to a `Runner`) → `report` (what the user sees).

pub mod alloc;
pub mod app;
pub mod cli;
pub mod cmd;
pub mod complete;
pub mod config;
pub mod docgen;
pub mod execute;
pub mod gitops;
pub mod jsonnet;
pub mod log;
pub mod parallel;
pub mod plan;
pub mod report;
pub mod runner;
pub mod signals;
pub mod tools;
pub mod validate;
