'use strict';

// echo is the serverless-offline contender's handler for W4: it returns the
// message's body, which the route response ($default) sends back to the
// client, the same work the harness's AWS_PROXY backend does for wsgwctl.
module.exports.echo = async (event) => ({
  statusCode: 200,
  body: event.body,
});

// connect accepts every handshake.
module.exports.connect = async () => ({ statusCode: 200 });
