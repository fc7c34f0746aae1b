# Input variables of the authorizer example.

variable "backend_url" {
  type        = string
  description = "Base URL of the order service."
  default     = "http://127.0.0.1:9000"
}

variable "auth_url" {
  type        = string
  description = "Base URL of the service that answers REQUEST authorizer events."
  default     = "http://127.0.0.1:9100"
}

# The API key values. The defaults are only good for local testing: in any
# shared environment pass real values with --var-file (a file kept out of
# version control) or WSGW_VAR_api_key_values. Because the variable is
# sensitive, plan and show print "(sensitive value)" instead of the keys.
variable "api_key_values" {
  type        = map(string)
  description = "API key value per client application (20 characters or more)."
  sensitive   = true
  default = {
    mobile  = "local-mobile-key-0123456789"
    partner = "local-partner-key-0123456789"
  }
}
