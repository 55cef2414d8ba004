locals {
  p       = var.partition
  account = var.account_id
  regions = [var.regions.primary, var.regions.secondary]
  stack   = { for env in keys(var.environments) : env => lookup(var.stacks, env, env) }

  protected   = [for env, e in var.environments : env if e.protected]
  unprotected = [for env, e in var.environments : env if !e.protected]

  role_names = merge(
    { build = "${var.customer}-build" },
    { for env, e in var.environments : env => "${var.customer}-${env}-${e.protected ? "release" : "deploy"}" },
  )
  role_arns = { for identity, name in local.role_names : identity => "arn:${local.p}:iam::${local.account}:role/gantry-pipeline/${name}" }

  repositories = [for region in local.regions : "arn:${local.p}:ecr:${region}:${local.account}:repository/${var.customer}/${var.service_name}"]
  golden_base  = "arn:${local.p}:ecr:${var.regions.primary}:${local.account}:repository/${var.customer}/golden-base"
  # modules/security_baseline's name for it: the only writer of the approval policies.
  approval_admin_arn = "arn:${local.p}:iam::${local.account}:role/${var.customer}-approval-policy-admin"
  codecommit         = [for region in local.regions : "arn:${local.p}:codecommit:${region}:${local.account}:${var.customer}-${var.service_name}"]
  lock_table         = "arn:${local.p}:dynamodb:${var.regions.primary}:${local.account}:table/${var.lock_table}"
  policy_path        = "/gantry-approval-policy/${var.customer}"

  # What each environment's resources are called (the names modules/region, ecs_service and aurora_global give).
  env = {
    for env, e in var.environments : env => {
      clusters = [for region in local.regions : "arn:${local.p}:ecs:${region}:${local.account}:cluster/${var.customer}-${local.stack[env]}"]
      services = [for region in local.regions : "arn:${local.p}:ecs:${region}:${local.account}:service/${var.customer}-${local.stack[env]}/${var.service_name}"]
      families = [
        for pair in setproduct(local.regions, ["", "-migrate"]) :
        "arn:${local.p}:ecs:${pair[0]}:${local.account}:task-definition/${var.customer}-${local.stack[env]}-${var.service_name}${pair[1]}:*"
      ]
      migrate_families = [for region in local.regions : "arn:${local.p}:ecs:${region}:${local.account}:task-definition/${var.customer}-${local.stack[env]}-${var.service_name}-migrate:*"]
      tasks            = [for region in local.regions : "arn:${local.p}:ecs:${region}:${local.account}:task/${var.customer}-${local.stack[env]}/*"]
      log_streams      = [for region in local.regions : "arn:${local.p}:logs:${region}:${local.account}:log-group:/gantry/${var.customer}/${local.stack[env]}/${var.service_name}:log-stream:*"]
      pass_roles       = ["arn:${local.p}:iam::${local.account}:role/gantry/${var.customer}/${local.stack[env]}/*"]
      alarms           = [for region in local.regions : "arn:${local.p}:cloudwatch:${region}:${local.account}:alarm:${var.customer}-${local.stack[env]}-*"]
      records          = [for region in local.regions : "arn:${local.p}:ssm:${region}:${local.account}:parameter/gantry/${var.customer}/records/${env}/*"]
      policy           = [for region in local.regions : "arn:${local.p}:ssm:${region}:${local.account}:parameter${local.policy_path}/${env}"]
      lease_key        = "gantry/${var.customer}/${env}"
      secrets = e.database ? [
        for pair in setproduct(local.regions, ["aurora-master", "aurora-app"]) :
        "arn:${local.p}:secretsmanager:${pair[0]}:${local.account}:secret:gantry/${var.customer}-${local.stack[env]}/${pair[1]}-??????"
      ] : []
      global_cluster = "arn:${local.p}:rds::${local.account}:global-cluster:${var.customer}-${local.stack[env]}"
      db_clusters    = [for region in local.regions : "arn:${local.p}:rds:${region}:${local.account}:cluster:${var.customer}-${local.stack[env]}-${region}"]
    }
  }

  # Every identity: approvals are SSH signatures by the approvers' own keys; no pipeline role signs anything.
  never_signs = jsonencode({ Sid = "NeverSigns", Effect = "Deny", Action = ["kms:GenerateMac", "kms:Sign"], Resource = "*" })
  policy_writes = [
    "ssm:AddTagsToResource", "ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:LabelParameterVersion",
    "ssm:PutParameter", "ssm:RemoveTagsFromResource", "ssm:UnlabelParameterVersion",
  ]
  all_policies = flatten([for env in keys(var.environments) : local.env[env].policy])

  # The production guard: what changes a protected environment. Every role but that environment's release role
  # carries it as an explicit Deny (so no grant added to them later can open production), and the service
  # control policy (output `production_guard`) denies it to every other principal of the account.
  guard = {
    for env in local.protected : env => [
      jsonencode({
        Sid      = "Guard${replace(title(env), "-", "")}Services"
        Effect   = "Deny"
        Action   = ["ecs:CreateService", "ecs:DeleteService", "ecs:TagResource", "ecs:UntagResource", "ecs:UpdateService"]
        Resource = local.env[env].services
      }),
      jsonencode({
        Sid      = "Guard${replace(title(env), "-", "")}Tasks"
        Effect   = "Deny"
        Action   = ["ecs:RunTask", "ecs:StartTask"]
        Resource = "*"
        Condition = {
          ArnEquals = { "ecs:cluster" = local.env[env].clusters }
        }
      }),
      jsonencode({
        Sid      = "Guard${replace(title(env), "-", "")}Records"
        Effect   = "Deny"
        Action   = local.policy_writes
        Resource = local.env[env].records
      }),
      jsonencode({
        Sid      = "Guard${replace(title(env), "-", "")}Lease"
        Effect   = "Deny"
        Action   = ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
        Resource = [local.lock_table]
        Condition = {
          "ForAnyValue:StringEquals" = { "dynamodb:LeadingKeys" = [local.env[env].lease_key] }
        }
      }),
      jsonencode({
        Sid      = "Guard${replace(title(env), "-", "")}Data"
        Effect   = "Deny"
        Action   = ["iam:PassRole", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]
        Resource = concat(local.env[env].pass_roles, length(local.env[env].secrets) > 0 ? local.env[env].secrets : ["arn:${local.p}:secretsmanager:*:${local.account}:secret:gantry/${var.customer}-${local.stack[env]}/*"])
      }),
      jsonencode({
        Sid      = "Guard${replace(title(env), "-", "")}Failover"
        Effect   = "Deny"
        Action   = ["cloudwatch:SetAlarmState", "rds:FailoverGlobalCluster", "rds:ModifyGlobalCluster", "rds:SwitchoverGlobalCluster"]
        Resource = concat([local.env[env].global_cluster], local.env[env].db_clusters, local.env[env].alarms)
      }),
      # Beyond what gantry does: anything in the environment's clusters under any service name, a shell in its
      # tasks, its database clusters themselves.
      jsonencode({
        Sid       = "Guard${replace(title(env), "-", "")}InClusters"
        Effect    = "Deny"
        Action    = ["ecs:CreateService", "ecs:DeleteService", "ecs:ExecuteCommand", "ecs:StopTask", "ecs:UpdateContainerInstancesState", "ecs:UpdateService"]
        Resource  = "*"
        Condition = { ArnEquals = { "ecs:cluster" = local.env[env].clusters } }
      }),
      jsonencode({
        Sid      = "Guard${replace(title(env), "-", "")}Clusters"
        Effect   = "Deny"
        Action   = ["ecs:DeleteCluster", "ecs:DeregisterContainerInstance", "ecs:PutClusterCapacityProviders", "ecs:UpdateCluster"]
        Resource = local.env[env].clusters
      }),
      jsonencode({
        Sid    = "Guard${replace(title(env), "-", "")}Database"
        Effect = "Deny"
        Action = [
          "rds:DeleteDBCluster", "rds:DeleteGlobalCluster", "rds:FailoverDBCluster", "rds:ModifyDBCluster",
          "rds:RebootDBCluster", "rds:RemoveFromGlobalCluster", "rds:StopDBCluster",
        ]
        Resource = concat([local.env[env].global_cluster], local.env[env].db_clusters)
      }),
      # Whatever the environment's stack tagged as its own (every resource of it: the providers' default_tags):
      # its load balancers' targets and listeners, its nodes and their scaling groups, and their tags themselves
      # (retagging a resource would take it out of this statement).
      jsonencode({
        Sid    = "Guard${replace(title(env), "-", "")}Tagged"
        Effect = "Deny"
        Action = [
          "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteAutoScalingGroup", "autoscaling:DeleteTags",
          "autoscaling:SetDesiredCapacity", "ec2:CreateTags", "ec2:DeleteTags", "elasticloadbalancing:AddTags",
          "elasticloadbalancing:RemoveTags",
          "autoscaling:TerminateInstanceInAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup",
          "ec2:ModifyInstanceAttribute", "ec2:ModifyInstanceMetadataOptions", "ec2:StopInstances",
          "ec2:TerminateInstances", "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteListener",
          "elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DeleteRule",
          "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:DeregisterTargets",
          "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyLoadBalancerAttributes",
          "elasticloadbalancing:ModifyRule", "elasticloadbalancing:ModifyTargetGroup",
          "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:RegisterTargets",
          "elasticloadbalancing:SetSecurityGroups",
        ]
        Resource  = "*"
        Condition = { StringEquals = { "aws:ResourceTag/Customer" = var.customer, "aws:ResourceTag/Environment" = local.stack[env] } }
      }),
      jsonencode({
        # A shell or a command on its nodes (Session Manager, Run Command): SSM's own tag key for instances.
        Sid       = "Guard${replace(title(env), "-", "")}NodeSessions"
        Effect    = "Deny"
        Action    = ["ssm:SendCommand", "ssm:StartSession"]
        Resource  = "*"
        Condition = { StringEquals = { "ssm:resourceTag/Customer" = var.customer, "ssm:resourceTag/Environment" = local.stack[env] } }
      }),
    ]
  }
  # Route 53 health checks have generated IDs no name pattern can scope: only release roles may change any.
  guard_route53 = jsonencode({
    Sid      = "GuardFailoverRecords"
    Effect   = "Deny"
    Action   = ["route53:ChangeResourceRecordSets", "route53:UpdateHealthCheck"]
    Resource = "*"
  })
  guard_all = concat(flatten([for env in local.protected : local.guard[env]]), [local.guard_route53])

  build_statements = [
    jsonencode({
      Sid    = "Unscoped"
      Effect = "Allow"
      # No resource-level permissions (service authorization reference): registry login, the registry's replication
      # settings, and the read-only calls of `gantry status`.
      Action = [
        "ecr:DescribeRegistry", "ecr:GetAuthorizationToken", "ecs:DescribeTaskDefinition",
        "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetHealth",
      ]
      Resource = "*"
    }),
    jsonencode({
      Sid    = "EcrPush"
      Effect = "Allow"
      Action = [
        "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImages",
        "ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage",
        "ecr:UploadLayerPart",
      ]
      Resource = local.repositories
    }),
    jsonencode({
      Sid      = "EcrPullBaseImage"
      Effect   = "Allow"
      Action   = ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer"]
      Resource = [local.golden_base]
    }),
    jsonencode({
      # `gantry source` pushes the primary copy, `gantry mirror` pulls it and pushes the secondary.
      Sid      = "Source"
      Effect   = "Allow"
      Action   = ["codecommit:GetRepository", "codecommit:GitPull", "codecommit:GitPush"]
      Resource = local.codecommit
    }),
    jsonencode({
      Sid      = "Notify"
      Effect   = "Allow"
      Action   = ["sns:Publish"]
      Resource = [var.sns_topic_arn]
    }),
    jsonencode({
      # Read only: what `gantry status` shows and `gantry approvers` reads (the services' protection tags and the
      # approval policies they name).
      Sid    = "ReadEnvironments"
      Effect = "Allow"
      Action = ["cloudwatch:DescribeAlarms", "ecs:DescribeClusters", "ecs:DescribeServices", "ssm:GetParameter"]
      Resource = concat(
        flatten([for env in keys(var.environments) : concat(local.env[env].services, local.env[env].clusters, local.env[env].alarms)]),
        local.all_policies,
      )
    }),
    local.never_signs,
  ]

  env_statements = {
    for env, e in var.environments : env => concat(
      [
        jsonencode({
          Sid    = "Unscoped"
          Effect = "Allow"
          # None of these has resource-level permissions. RegisterTaskDefinition is the only write: a task
          # definition runs nothing until UpdateService or RunTask (both scoped below) uses it, and the roles it
          # may name are limited by PassTaskRoles.
          Action = [
            "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition",
            "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetHealth",
          ]
          Resource = "*"
        }),
        jsonencode({
          # A region deploys only what its registry holds (gantry checks before it registers anything).
          Sid      = "EcrRead"
          Effect   = "Allow"
          Action   = ["ecr:DescribeImages", "ecr:DescribeRepositories"]
          Resource = local.repositories
        }),
        jsonencode({
          # Tags on a new task definition (gantry:sha, gantry:digest) are authorized as TagResource on create.
          Sid       = "TagNewTaskDefinitions"
          Effect    = "Allow"
          Action    = ["ecs:TagResource"]
          Resource  = local.env[env].families
          Condition = { StringEquals = { "ecs:CreateAction" = "RegisterTaskDefinition" } }
        }),
        jsonencode({
          Sid      = "Services"
          Effect   = "Allow"
          Action   = ["ecs:DescribeServices", "ecs:UpdateService"]
          Resource = local.env[env].services
        }),
        jsonencode({
          Sid      = "Clusters"
          Effect   = "Allow"
          Action   = ["ecs:DescribeClusters"]
          Resource = local.env[env].clusters
        }),
        jsonencode({
          # The migrations: a one-off task of the release's image, on this environment's clusters only.
          Sid       = "MigrationTasks"
          Effect    = "Allow"
          Action    = ["ecs:RunTask"]
          Resource  = local.env[env].migrate_families
          Condition = { ArnEquals = { "ecs:cluster" = local.env[env].clusters } }
        }),
        jsonencode({
          Sid      = "MigrationTaskState"
          Effect   = "Allow"
          Action   = ["ecs:DescribeTasks"]
          Resource = local.env[env].tasks
        }),
        jsonencode({
          Sid      = "MigrationOutput"
          Effect   = "Allow"
          Action   = ["logs:GetLogEvents"]
          Resource = local.env[env].log_streams
        }),
        jsonencode({
          Sid       = "PassTaskRoles"
          Effect    = "Allow"
          Action    = ["iam:PassRole"]
          Resource  = local.env[env].pass_roles
          Condition = { StringEquals = { "iam:PassedToService" = "ecs-tasks.amazonaws.com" } }
        }),
        jsonencode({
          # The task definition and the change's commits are read from the release's commit.
          Sid      = "SourceRead"
          Effect   = "Allow"
          Action   = ["codecommit:GetRepository", "codecommit:GitPull"]
          Resource = local.codecommit
        }),
        jsonencode({
          Sid      = "Alarms"
          Effect   = "Allow"
          Action   = ["cloudwatch:DescribeAlarms"]
          Resource = local.env[env].alarms
        }),
        ], e.protected ? [jsonencode({
          # What runs on a release agent (which holds only this role) sends its own notices: the
          # ansible-maintenance job's `gantry notify --identity <env>`.
          Sid      = "Notify"
          Effect   = "Allow"
          Action   = ["sns:Publish"]
          Resource = [var.sns_topic_arn]
        })] : [], [
        jsonencode({
          # This environment's records (staging passes, approvals, releases, refusals): created once, never
          # overwritten (the Deny below makes that the role's limit, not the code's choice). A protected
          # environment also reads the unprotected ones' (the staging pass its approvals follow).
          Sid      = "Records"
          Effect   = "Allow"
          Action   = ["ssm:GetParameter", "ssm:GetParametersByPath", "ssm:PutParameter"]
          Resource = local.env[env].records
        }),
        jsonencode({
          Sid       = "RecordsAreCreateOnly"
          Effect    = "Deny"
          Action    = ["ssm:PutParameter"]
          Resource  = local.env[env].records
          Condition = { StringEquals = { "ssm:Overwrite" = "true" } }
        }),
        jsonencode({
          # The deploy lease: this environment's item of the Terraform lock table, never another's nor Terraform's.
          Sid       = "Lease"
          Effect    = "Allow"
          Action    = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
          Resource  = [local.lock_table]
          Condition = { "ForAllValues:StringEquals" = { "dynamodb:LeadingKeys" = [local.env[env].lease_key] } }
        }),
        jsonencode({
          # DynamoDB decrypts the table key with the caller's permissions; item writes need no more.
          Sid      = "LeaseTableKey"
          Effect   = "Allow"
          Action   = ["kms:Decrypt"]
          Resource = ["arn:${local.p}:kms:${var.regions.primary}:${local.account}:key/*"]
          Condition = {
            StringEquals = {
              "kms:ViaService"                               = "dynamodb.${var.regions.primary}.amazonaws.com"
              "kms:EncryptionContext:aws:dynamodb:tableName" = var.lock_table
            }
          }
        }),
        jsonencode({
          # The approval policy (read only): who may approve this environment, with their keys.
          Sid      = "ApprovalPolicyRead"
          Effect   = "Allow"
          Action   = ["ssm:GetParameter"]
          Resource = local.all_policies
        }),
        jsonencode({
          Sid      = "ApprovalPolicyIsNotThePipelinesToChange"
          Effect   = "Deny"
          Action   = local.policy_writes
          Resource = local.all_policies
        }),
        local.never_signs,
      ],
      e.protected && length(local.unprotected) > 0 ? [jsonencode({
        Sid      = "StagingPasses"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter", "ssm:GetParametersByPath"]
        Resource = flatten([for other in local.unprotected : local.env[other].records])
      })] : [],
      e.database ? [
        jsonencode({
          # `gantry migrate` sets up the runtime role and the database with the master credentials; the migration
          # task itself gets them from ECS (its own execution role).
          Sid      = "DatabaseSetup"
          Effect   = "Allow"
          Action   = ["secretsmanager:GetSecretValue"]
          Resource = local.env[env].secrets
        }),
        jsonencode({
          Sid      = "DatabaseSetupKey"
          Effect   = "Allow"
          Action   = ["kms:Decrypt"]
          Resource = [for region in local.regions : "arn:${local.p}:kms:${region}:${local.account}:key/*"]
          Condition = {
            StringEquals = { "kms:ViaService" = [for region in local.regions : "secretsmanager.${region}.amazonaws.com"] }
            StringLike   = { "kms:EncryptionContext:SecretARN" = local.env[env].secrets }
          }
        }),
      ] : [],
      e.protected && e.dr ? [
        jsonencode({
          # `gantry dr` moves the database writer with the traffic (switchover, or failover for an outage).
          Sid      = "GlobalDatabaseFailover"
          Effect   = "Allow"
          Action   = ["rds:DescribeGlobalClusters", "rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster"]
          Resource = concat([local.env[env].global_cluster], local.env[env].db_clusters)
        }),
        jsonencode({
          # The drill's fault (the primary record's health check inverted) and what it reads back. Health checks
          # have generated IDs, so no name pattern scopes them; the zone is the customer's.
          Sid      = "DrillRoute53"
          Effect   = "Allow"
          Action   = ["route53:GetHealthCheck", "route53:GetHealthCheckStatus", "route53:ListResourceRecordSets", "route53:UpdateHealthCheck"]
          Resource = compact(["arn:${local.p}:route53:::healthcheck/*", var.dr_hosted_zone_arn])
        }),
        jsonencode({
          Sid      = "DrillAlarmState"
          Effect   = "Allow"
          Action   = ["cloudwatch:SetAlarmState"]
          Resource = local.env[env].alarms
        }),
        jsonencode({
          # GetMetricStatistics has no resource-level permissions; it reads metrics only.
          Sid      = "DrillMetrics"
          Effect   = "Allow"
          Action   = ["cloudwatch:GetMetricStatistics"]
          Resource = "*"
        }),
      ] : [],
      # An unprotected environment's role is denied every protected environment's changes.
      e.protected ? [] : local.guard_all,
      # A release role is denied the other protected environments' changes too.
      e.protected ? flatten([for other in local.protected : local.guard[other] if other != env]) : [],
    )
  }

  trust = merge(
    {
      build = {
        Version = "2012-10-17"
        Statement = [{
          Sid       = "BuildAgents"
          Effect    = "Allow"
          Action    = ["sts:AssumeRole", "sts:TagSession"]
          Principal = { AWS = var.build_principal_arns }
        }]
      }
    },
    {
      for env, e in var.environments : env => {
        Version = "2012-10-17"
        Statement = [{
          Sid       = e.protected ? "ReleaseAgentsOnly" : "BuildAgents"
          Effect    = "Allow"
          Action    = ["sts:AssumeRole", "sts:TagSession"]
          Principal = { AWS = e.protected ? var.release_principal_arns : var.build_principal_arns }
        }]
      }
    },
  )

  # Statements are JSON strings until here: Terraform cannot mix objects of different shapes in one list.
  policies = merge(
    { build = { Version = "2012-10-17", Statement = [for s in concat(local.build_statements, local.guard_all) : jsondecode(s)] } },
    { for env in keys(var.environments) : env => { Version = "2012-10-17", Statement = [for s in local.env_statements[env] : jsondecode(s)] } },
  )

  # What an approver's own credentials need to sign (`gantry approve --print`): read the protected services'
  # tags and release, the approval policy, the staging pass, the commit and the image it was published as. Attach it to the approvers'
  # permission set; it writes nothing.
  approver_policy = {
    Version = "2012-10-17"
    Statement = [for s in [
      jsonencode({
        Sid      = "Read"
        Effect   = "Allow"
        Action   = ["ecs:DescribeServices", "ssm:GetParameter", "ssm:GetParametersByPath", "codecommit:GitPull", "codecommit:GetRepository", "ecr:DescribeImages"]
        Resource = concat(flatten([for env in local.protected : local.env[env].services]), local.all_policies, flatten([for env in local.unprotected : local.env[env].records]), local.codecommit, local.repositories)
      }),
      jsonencode({
        Sid      = "ReadTaskDefinitions"
        Effect   = "Allow"
        Action   = ["ecs:DescribeTaskDefinition"]
        Resource = "*"
      }),
    ] : jsondecode(s)]
  }

  approval_admin_policy = {
    Version = "2012-10-17"
    Statement = [{
      Sid      = "ApprovalPolicies"
      Effect   = "Allow"
      Action   = sort(concat(local.policy_writes, ["ssm:GetParameter", "ssm:GetParameterHistory"]))
      Resource = local.all_policies
    }]
  }

  production_guard = {
    Version = "2012-10-17"
    Statement = concat(
      [
        for pair in flatten([for env in local.protected : [for s in local.guard[env] : { env = env, statement = jsondecode(s) }]]) :
        merge(pair.statement, {
          Condition = merge(
            try(pair.statement.Condition, {}),
            { ArnNotLike = { "aws:PrincipalArn" = concat([local.role_arns[pair.env]], var.guard_exempt_principal_arns) } },
          )
        })
      ],
      [merge(jsondecode(local.guard_route53), {
        Condition = { ArnNotLike = { "aws:PrincipalArn" = concat([for env in local.protected : local.role_arns[env]], var.guard_exempt_principal_arns) } }
      })],
      # Who may approve: only the approval-policy administrators (and those who apply Terraform) write it.
      [{
        Sid       = "GuardApprovalPolicies"
        Effect    = "Deny"
        Action    = local.policy_writes
        Resource  = local.all_policies
        Condition = { ArnNotLike = { "aws:PrincipalArn" = concat([local.approval_admin_arn], var.guard_exempt_principal_arns) } }
      }],
    )
  }
}
