"""The aws target: the pipeline stages against ECR, ECS, ELB, Route 53, CloudWatch, SNS and CodeCommit."""
