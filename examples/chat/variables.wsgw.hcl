# Input variables of the chat example.
#
# Override them on the command line, for example:
#
#   wsgwctl plan --var backend_url=http://chat-backend.internal:8080

variable "backend_url" {
  type        = string
  description = "Base URL of the chat backend that receives every WebSocket event."
  default     = "http://127.0.0.1:9000"
}

variable "max_message_length" {
  type        = number
  description = "Longest chat message, in characters, that the gateway accepts."
  default     = 2000
}
