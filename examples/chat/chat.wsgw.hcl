# A chat room service.
#
# Clients connect to ws://HOST:PORT/chat/dev?user=alice and send JSON messages
# whose "action" field picks the route:
#
#   {"action": "joinroom", "room": "general"}
#   {"action": "sendmessage", "room": "general", "text": "hello"}
#
# Every route is proxied to a small HTTP backend (HTTP_PROXY): the backend gets
# the client's message as the request body and the connection id in the
# X-Connection-Id header, and talks back to clients through the @connections
# API of the gateway.

api "chat" {
  description                = "Chat rooms over WebSocket"
  route_selection_expression = "$request.body.action"

  # --- integrations ---------------------------------------------------------

  integration "connect" {
    type       = "HTTP_PROXY"
    uri        = "${var.backend_url}/connect"
    timeout_ms = 5000

    request_parameters = {
      "integration.request.header.X-Connection-Id" = "context.connectionId"
      # Query string parameters of the handshake are only available on $connect.
      "integration.request.header.X-Chat-User" = "route.request.querystring.user"
    }
  }

  integration "disconnect" {
    type = "HTTP_PROXY"
    uri  = "${var.backend_url}/disconnect"

    request_parameters = {
      "integration.request.header.X-Connection-Id" = "context.connectionId"
    }
  }

  integration "rooms" {
    type = "HTTP_PROXY"
    uri  = "${var.backend_url}/rooms/join"

    request_parameters = {
      "integration.request.header.X-Connection-Id" = "context.connectionId"
      "integration.request.querystring.room"       = "route.request.body.room"
    }
  }

  integration "messages" {
    type = "HTTP_PROXY"
    uri  = "${var.backend_url}/messages"

    request_parameters = {
      "integration.request.header.X-Connection-Id" = "context.connectionId"
      "integration.request.header.X-Request-Id"    = "context.requestId"
    }
  }

  integration "fallback" {
    type = "HTTP_PROXY"
    uri  = "${var.backend_url}/unknown-action"

    request_parameters = {
      "integration.request.header.X-Connection-Id" = "context.connectionId"
    }
  }

  # --- models ---------------------------------------------------------------

  model "message" {
    content_type = "application/json"
    schema = templatefile("schemas/sendmessage.json.tftpl", {
      max_length = var.max_message_length
    })
  }

  model "join" {
    schema = file("schemas/joinroom.json")
  }

  # --- routes ---------------------------------------------------------------

  route "$connect" {
    integration = integration.connect
  }

  route "$disconnect" {
    integration = integration.disconnect
  }

  # Two-way: the backend answers with the room's recent history, which the
  # gateway sends back to the client that joined.
  route "joinroom" {
    integration                = integration.rooms
    model_selection_expression = "$default"
    request_models             = { "$default" = model.join }

    route_response "$default" {}
  }

  # Two-way: the backend answers with an acknowledgement carrying the stored
  # message id. Messages that do not match the schema are rejected by the
  # gateway before they reach the backend.
  route "sendmessage" {
    integration                = integration.messages
    model_selection_expression = "$default"
    request_models             = { "$default" = model.message }

    route_response "$default" {}
  }

  # Anything whose action is missing or unknown: the backend replies with a
  # short help text.
  route "$default" {
    integration = integration.fallback

    route_response "$default" {}
  }

  # --- stages ---------------------------------------------------------------

  stage "dev" {
    description = "Local development stage"

    default_route_settings {
      throttling_burst_limit = 100
      throttling_rate_limit  = 50
      logging_level          = "INFO"
      data_trace_enabled     = true
    }

    access_log {
      destination = "stdout"
      format = jsonencode({
        requestId    = "$context.requestId"
        connectionId = "$context.connectionId"
        routeKey     = "$context.routeKey"
        eventType    = "$context.eventType"
        status       = "$context.status"
      })
    }
  }
}
