# One API, three stages.
#
# dev and staging always run the newest deployment (they have no "deployment"
# attribute), so every apply that changes a route, integration or model moves
# them. prod is pinned: it keeps running the deployment written below until
# someone promotes a newer one:
#
#   wsgwctl deployments inventory
#   wsgwctl promote inventory staging prod
#
# Each stage reaches its own backend service through the "service" stage
# variable, so one integration serves all three stages.

api "inventory" {
  description                = "Warehouse stock levels"
  route_selection_expression = "$request.body.action"

  integration "service" {
    type       = "HTTP_PROXY"
    uri        = "${var.backend}/${stageVariables.service}"
    timeout_ms = 10000

    request_parameters = {
      "integration.request.header.X-Connection-Id" = "context.connectionId"
      "integration.request.header.X-Environment"   = "stageVariables.environment"
    }
  }

  # Answers "ping" inside the gateway, without calling any backend: handy for
  # health checks and for measuring round trips.
  integration "pong" {
    type = "MOCK"

    # A MOCK integration's request template produces the status code that
    # picks the integration response below.
    request_templates = {
      "$default" = jsonencode({ statusCode = 200 })
    }

    response "$default" {
      templates = {
        "$default" = <<-EOT
          {"action": "pong", "connectionId": "${context.connectionId}", "environment": "${stageVariables.environment}", "echo": ${jsonencode(request.body)}}
        EOT
      }
    }
  }

  route "$connect" {
    integration = integration.service
  }

  route "$disconnect" {
    integration = integration.service
  }

  route "getstock" {
    integration = integration.service

    route_response "$default" {}
  }

  route "updatestock" {
    integration = integration.service
  }

  route "ping" {
    integration = integration.pong

    route_response "$default" {}
  }

  # --- stages ---------------------------------------------------------------

  stage "dev" {
    description = "Follows every apply"
    variables = {
      service     = "inventory-dev"
      environment = "dev"
    }

    default_route_settings {
      throttling_burst_limit = 50
      throttling_rate_limit  = 25
      logging_level          = "INFO"
      data_trace_enabled     = true
    }

    access_log {
      destination = "stdout"
      format      = local.access_log_format
    }
  }

  stage "staging" {
    description = "Release candidate, follows every apply"
    variables = {
      service     = "inventory-staging"
      environment = "staging"
    }

    default_route_settings {
      throttling_burst_limit = 200
      throttling_rate_limit  = 100
      logging_level          = "ERROR"
    }

    route_settings "updatestock" {
      throttling_burst_limit = 20
      throttling_rate_limit  = 10
    }

    access_log {
      destination = "stderr"
      format      = local.access_log_format
    }
  }

  stage "prod" {
    # Pinned to the deployment the first apply of this example creates.
    # Later changes move dev and staging only; `wsgwctl promote inventory
    # staging prod` rewrites this line when staging is ready.
    deployment  = "d-4ad15a6624"
    description = "Production, promoted by hand"
    variables = {
      service     = "inventory"
      environment = "prod"
    }

    default_route_settings {
      throttling_burst_limit   = 2000
      throttling_rate_limit    = 1000
      logging_level            = "ERROR"
      detailed_metrics_enabled = true
    }

    # New connections are the expensive part: hold them back harder.
    route_settings "$connect" {
      throttling_burst_limit = 100
      throttling_rate_limit  = 50
    }

    route_settings "updatestock" {
      throttling_burst_limit = 200
      throttling_rate_limit  = 100
      logging_level          = "INFO"
    }

    access_log {
      destination = "logs/inventory-prod-access.log"
      format      = local.access_log_format
    }
  }
}
