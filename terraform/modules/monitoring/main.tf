locals {
  # One catalogue, instantiated per region below: both regions always get the same alarms.
  alarm_catalogue = {
    alb-5xx = {
      namespace = "AWS/ApplicationELB", metric = "HTTPCode_ELB_5XX_Count", statistic = "Sum"
      threshold = var.error_threshold, dimensions = ["LoadBalancer"]
      summary   = "load balancer returned 5xx"
    }
    target-5xx = {
      namespace = "AWS/ApplicationELB", metric = "HTTPCode_Target_5XX_Count", statistic = "Sum"
      threshold = var.error_threshold, dimensions = ["LoadBalancer"]
      summary   = "service returned 5xx"
    }
    unhealthy-targets = {
      namespace = "AWS/ApplicationELB", metric = "UnHealthyHostCount", statistic = "Maximum"
      threshold = 0, dimensions = ["LoadBalancer", "TargetGroup"]
      summary   = "targets failing the /healthz check"
    }
    ecs-cpu = {
      namespace = "AWS/ECS", metric = "CPUUtilization", statistic = "Average"
      threshold = var.utilisation_threshold, dimensions = ["ClusterName", "ServiceName"]
      summary   = "service CPU high"
    }
    ecs-memory = {
      namespace = "AWS/ECS", metric = "MemoryUtilization", statistic = "Average"
      threshold = var.utilisation_threshold, dimensions = ["ClusterName", "ServiceName"]
      summary   = "service memory high"
    }
    instance-status = {
      namespace = "AWS/EC2", metric = "StatusCheckFailed", statistic = "Maximum"
      threshold = 0, dimensions = ["AutoScalingGroupName"]
      summary   = "container instance failed a status check"
    }
  }

  dimension_values = {
    for role, r in var.regions : role => {
      LoadBalancer         = r.alb_arn_suffix
      TargetGroup          = r.target_group_arn_suffix
      ClusterName          = r.cluster_name
      ServiceName          = r.service_name
      AutoScalingGroupName = r.autoscaling_group_name
    }
  }

  alarms = {
    for pair in setproduct(keys(var.regions), keys(local.alarm_catalogue)) : "${pair[0]}-${pair[1]}" => merge(
      local.alarm_catalogue[pair[1]],
      { role = pair[0], region = var.regions[pair[0]].region, kind = pair[1] },
    )
  }

  subscriptions = merge(
    { for pair in setproduct(keys(var.regions), var.alarm_emails) : "${pair[0]}/email/${pair[1]}" => { role = pair[0], protocol = "email", endpoint = pair[1] } },
    { for pair in setproduct(keys(var.regions), var.alarm_https_endpoints) : "${pair[0]}/https/${pair[1]}" => { role = pair[0], protocol = "https", endpoint = pair[1] } },
  )
}

# Alarms can only notify a topic in their own region: one topic per region.
resource "aws_sns_topic" "alarms" {
  for_each = var.regions

  region            = each.value.region
  name              = "${var.name}-alarms"
  kms_master_key_id = each.value.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "this" {
  for_each = local.subscriptions

  region    = var.regions[each.value.role].region
  topic_arn = aws_sns_topic.alarms[each.value.role].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  region              = each.value.region
  alarm_name          = "${var.name}-${each.value.region}-${each.value.kind}"
  alarm_description   = "${var.name} ${each.value.region}: ${each.value.summary}"
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  dimensions          = { for d in each.value.dimensions : d => local.dimension_values[each.value.role][d] }
  alarm_actions       = [aws_sns_topic.alarms[each.value.role].arn]
  ok_actions          = [aws_sns_topic.alarms[each.value.role].arn]
  tags                = var.tags
}

# One dashboard (in the provider's region) with a row per region: the whole environment on one screen.
resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = flatten([
      for index, role in sort(keys(var.regions)) : [
        for column, widget in [
          { title = "requests and 5xx", metrics = [
            ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", var.regions[role].alb_arn_suffix, { stat = "Sum" }],
            ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", var.regions[role].alb_arn_suffix, { stat = "Sum" }],
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", var.regions[role].alb_arn_suffix, { stat = "Sum" }],
          ] },
          { title = "healthy targets", metrics = [
            ["AWS/ApplicationELB", "HealthyHostCount", "LoadBalancer", var.regions[role].alb_arn_suffix, "TargetGroup", var.regions[role].target_group_arn_suffix],
            ["AWS/ApplicationELB", "UnHealthyHostCount", "LoadBalancer", var.regions[role].alb_arn_suffix, "TargetGroup", var.regions[role].target_group_arn_suffix],
          ] },
          { title = "service CPU and memory", metrics = [
            ["AWS/ECS", "CPUUtilization", "ClusterName", var.regions[role].cluster_name, "ServiceName", var.regions[role].service_name],
            ["AWS/ECS", "MemoryUtilization", "ClusterName", var.regions[role].cluster_name, "ServiceName", var.regions[role].service_name],
          ] },
          ] : {
          type   = "metric"
          x      = column * 8
          y      = index * 6
          width  = 8
          height = 6
          properties = {
            title   = "${role} (${var.regions[role].region}): ${widget.title}"
            region  = var.regions[role].region
            metrics = widget.metrics
            period  = 60
            view    = "timeSeries"
          }
        }
      ]
    ])
  })
}
