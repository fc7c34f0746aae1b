# WebSocket routes served by Lambda functions (AWS_PROXY integrations).
#
# An AWS_PROXY integration POSTs the Lambda proxy event to its uri and reads a
# Lambda proxy result back, so the functions you deploy behind Amazon API
# Gateway run here unchanged. Locally, run each function in the Lambda runtime
# interface emulator, for example:
#
#   docker run -p 9001:8080 my-connect-function
#   docker run -p 9002:8080 my-message-function

variable "lambda_endpoints" {
  type = object({
    connect = string
    message = string
  })
  description = "Base URL of the invoke endpoint that runs each function."
  default = {
    connect = "http://127.0.0.1:9001"
    message = "http://127.0.0.1:9002"
  }
}

locals {
  # The path the Lambda runtime interface emulator serves invocations on.
  invoke_path = "2015-03-31/functions/function/invocations"
}

api "notifications" {
  route_selection_expression = "$request.body.type"

  integration "on_connect" {
    type       = "AWS_PROXY"
    uri        = "${var.lambda_endpoints.connect}/${local.invoke_path}"
    timeout_ms = 3000
  }

  integration "on_message" {
    type = "AWS_PROXY"
    uri  = "${var.lambda_endpoints.message}/${local.invoke_path}"
  }

  # $connect and $disconnect share a function: it tells them apart by
  # requestContext.eventType in the event.
  route "$connect" {
    integration = integration.on_connect
  }

  route "$disconnect" {
    integration = integration.on_connect
  }

  # Two-way: the function's result body is sent back to the client.
  route "subscribe" {
    integration = integration.on_message

    route_response "$default" {}
  }

  route "unsubscribe" {
    integration = integration.on_message
  }

  route "$default" {
    integration = integration.on_message
  }

  stage "local" {
    description = "Functions running in the runtime interface emulator"
  }
}
