"""Pipeline stages shared by every target: ordering, approvals, cross-region rollback, smoke checks,
notifications. Targets only move images and replicas in one region at a time (gantry.targets.base)."""
