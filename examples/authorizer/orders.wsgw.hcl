# Live order updates for client applications.
#
# A client must present two things when it opens the connection:
#
#   - a session token, checked by the "session" authorizer, in the query string
#     (?token=...) together with its client id in the X-Client-Id header;
#   - an API key in the x-api-key header, which ties the connection to the
#     "standard" usage plan (throttling and a monthly quota).
#
#   websocat -H 'x-api-key: local-mobile-key-0123456789' \
#            -H 'X-Client-Id: ios-4.2' \
#            'ws://127.0.0.1:8080/orders/live?token=abc'

api "orders" {
  description                = "Order status updates"
  route_selection_expression = "$request.body.action"
  # The default, written out for readers: API keys come from this header.
  api_key_selection_expression = "$request.header.x-api-key"

  authorizer "session" {
    type = "REQUEST"
    uri  = "${var.auth_url}/authorize"
    identity_sources = [
      "route.request.querystring.token",
      "route.request.header.X-Client-Id",
    ]
    timeout_ms = 3000
    # Cache a decision for five minutes per (token, client id) pair.
    result_ttl_seconds = 300
  }

  integration "orders" {
    type = "HTTP_PROXY"
    uri  = "${var.backend_url}/orders/events"

    request_parameters = {
      "integration.request.header.X-Connection-Id" = "context.connectionId"
      # The principal the authorizer returned, so the backend knows the user.
      "integration.request.header.X-Principal-Id" = "context.authorizer.principalId"
    }
  }

  route "$connect" {
    integration      = integration.orders
    authorization    = "CUSTOM"
    authorizer       = authorizer.session
    api_key_required = true
  }

  route "$disconnect" {
    integration = integration.orders
  }

  route "subscribe" {
    integration = integration.orders

    route_response "$default" {}
  }

  route "$default" {
    integration = integration.orders
  }

  stage "live" {
    description = "The stage client applications connect to"

    default_route_settings {
      throttling_burst_limit = 200
      throttling_rate_limit  = 100
      logging_level          = "ERROR"
    }
  }
}

# --- API keys and usage plan ---------------------------------------------------

api_key "mobile" {
  value = var.api_key_values["mobile"]
}

api_key "partner" {
  value   = var.api_key_values["partner"]
  enabled = true
}

usage_plan "standard" {
  stage {
    api   = api.orders
    stage = "live"
  }

  # Per-key limits, on top of the stage's route throttling.
  throttle {
    burst_limit = 20
    rate_limit  = 10
  }

  quota {
    limit  = 100000
    period = "MONTH"
  }

  api_keys = [
    api_key.mobile,
    api_key.partner,
  ]
}
