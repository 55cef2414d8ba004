{
  "family": "${family}",
  "networkMode": "bridge",
  "requiresCompatibilities": ["EC2"],
  "containerDefinitions": [
    {
      "name": "${container_name}",
      "image": "${image}",
      "essential": true,
      "cpu": ${cpu},
      "memory": ${memory},
      "portMappings": [
        {"containerPort": ${container_port}, "hostPort": 0, "protocol": "tcp"}
      ],
      "environment": [
        {"name": "GIT_SHA", "value": "${git_sha}"},
        {"name": "IMAGE_DIGEST", "value": "${image_digest}"},
        {"name": "DEPLOY_ENV", "value": "${deploy_env}"},
        {"name": "REGION", "value": "${region}"},
        {"name": "DATABASE_URL", "value": "${database_url}"}
      ],
      "secrets": [
        {"name": "DATABASE_PASSWORD", "valueFrom": "${database_secret_arn}"}
      ],
      "healthCheck": {
        "command": ["CMD-SHELL", "python3 /app/healthcheck.py"],
        "interval": 5,
        "timeout": 3,
        "retries": 3,
        "startPeriod": 15
      },
      "readonlyRootFilesystem": true,
      "logConfiguration": {
        "logDriver": "awslogs",
        "options": {
          "awslogs-group": "${log_group}",
          "awslogs-region": "${region}",
          "awslogs-stream-prefix": "${container_name}"
        }
      }
    }
  ]
}
