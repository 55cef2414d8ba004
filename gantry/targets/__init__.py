"""Deployment targets: `local` (containers on this machine) and `aws` (boto3). Both implement base.Target."""
