data "aws_region" "source" {}

locals {
  source_region = data.aws_region.source.region
  regions       = concat([local.source_region], var.replica_regions)
  # One entry per (region, repository): every region gets identical settings from one resource block.
  instances = {
    for pair in setproduct(local.regions, var.repositories) : "${pair[0]}/${pair[1]}" => {
      region = pair[0]
      name   = pair[1]
    }
  }
  prefixes = length(var.replication_prefixes) > 0 ? var.replication_prefixes : var.repositories
}

resource "aws_ecr_repository" "this" {
  for_each = local.instances

  region = each.value.region
  name   = each.value.name
  # A tag always names the same image: deployments and rollbacks refer to digests the pipeline recorded.
  image_tag_mutability = "IMMUTABLE"
  tags                 = var.tags

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arns[each.value.region]
  }

  lifecycle {
    precondition {
      condition     = contains(keys(var.kms_key_arns), each.value.region)
      error_message = "kms_key_arns has no key for region ${each.value.region}."
    }
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = local.instances

  region     = each.value.region
  repository = aws_ecr_repository.this[each.key].name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.untagged_expiry_days
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest tagged images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.keep_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

# The replication configuration is a single registry-wide object per region: this is its only owner.
resource "aws_ecr_replication_configuration" "this" {
  count = var.manage_replication ? 1 : 0

  replication_configuration {
    rule {
      dynamic "destination" {
        for_each = var.replica_regions
        content {
          region      = destination.value
          registry_id = aws_ecr_repository.this["${local.source_region}/${var.repositories[0]}"].registry_id
        }
      }

      dynamic "repository_filter" {
        for_each = local.prefixes
        content {
          filter      = repository_filter.value
          filter_type = "PREFIX_MATCH"
        }
      }
    }
  }
}
