// Command chat-backend runs the chat example's backend (package
// examples/chat/backend) as an HTTP server, for wsgwctl serve to proxy the
// chat API's routes to:
//
//	go run ./examples/chat/backend/cmd/chat-backend --listen 127.0.0.1:9000 --gateway http://127.0.0.1:8080/chat/dev
//
// --listen must match the chat example's backend_url variable and --gateway
// is the gateway's @connections base URL for the stage. It logs with slog to
// stderr and shuts down gracefully on SIGINT or SIGTERM. It owns only flag
// parsing and the server's lifecycle; the chat itself is the package's.
package main
