//! comment-plan.yaml.
