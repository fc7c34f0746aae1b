# Input variables of the multistage example.

variable "backend" {
  type        = string
  description = "Base URL of the service router; each stage appends its own service path."
  default     = "http://127.0.0.1:9000"
}

locals {
  # Settings every stage shares unless it says otherwise.
  access_log_format = jsonencode({
    requestId    = "$context.requestId"
    connectionId = "$context.connectionId"
    routeKey     = "$context.routeKey"
    stage        = "$context.stage"
    status       = "$context.status"
    latencyMs    = "$context.integrationLatency"
  })
}
