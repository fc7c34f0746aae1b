// Package backend is the HTTP service behind the chat example
// (examples/chat/chat.wsgw.hcl). The gateway proxies every WebSocket event to
// it (HTTP_PROXY), and it talks back to clients through the gateway's
// @connections API with the AWS SDK's ApiGatewayManagementApi client, exactly
// as a backend behind Amazon API Gateway would.
//
// It owns the chat state, all in memory: the user name of each connection,
// the members of each room and a bounded history of each room's recent
// messages. It must not know anything about the gateway beyond the HTTP calls
// the configuration describes and the @connections endpoint; in particular it
// imports no wsgwctl package.
//
// Routes, as the configuration maps them (every one is a POST):
//
//   - /connect ($connect): registers the connection under the user named by
//     the X-Chat-User header (the handshake's ?user= query parameter, which
//     is also accepted from the query string). A missing or malformed user
//     name is answered with 400, which the gateway returns as the handshake's
//     status, so the client is never connected.
//   - /disconnect ($disconnect): forgets the connection and tells the other
//     members of each of its rooms that the user left.
//   - /rooms/join?room=ROOM (joinroom, two-way): adds the connection to the
//     room, answers {"type":"joined","room","members","history"} and sends
//     {"type":"presence","room","user","event":"joined","members"} to the
//     room's other members. A connection may be in any number of rooms at
//     once; joining never leaves another room, and joining a room twice only
//     repeats the answer.
//   - /messages (sendmessage, two-way): stores the message in the room's
//     history, sends {"type":"message","room","from","text","id","sentAt"}
//     to every other connection in the room and answers the sender with
//     {"type":"ack","id","room","sentAt","requestId"}. A sender that is not
//     in the room gets {"type":"error","message"} with status 403 and nothing
//     is broadcast.
//   - /unknown-action ($default, two-way): answers a short help document
//     listing the actions, with status 400.
//
// Error answers are {"type":"error","message":"..."} with a 4xx status; the
// gateway delivers the body of a 4xx reply to the client like any other.
//
// Broadcasts run with bounded concurrency and never under the state lock,
// and they finish before the handler that caused them returns, so a caller
// that has the reply also knows every @connections call was made. A
// recipient the gateway reports as gone (GoneException) is removed from all
// its rooms, and the rooms' remaining members are told it left. A room is
// forgotten, history included, when its last member leaves.
package backend
