//! Static checks of the workflow files.
