import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

/** A plaintext gRPC proxy in front of the Temporal frontend that counts the calls it forwards. */
export interface GrpcProxy {
  /** `host:port` to give a client as TEMPORAL_ADDRESS. */
  address: string;
  /** How many calls of a method (`QueryWorkflow`, `UpdateWorkflowExecution`, …) went through so far. */
  count(method: string): number;
  /** Every method called so far, with its count. */
  counts(): Record<string, number>;
  close(): Promise<void>;
}

const { HTTP2_HEADER_AUTHORITY, HTTP2_HEADER_SCHEME, NGHTTP2_FLAG_END_STREAM, NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;

/**
 * Forwards each HTTP/2 stream to `upstream` as it is (headers, messages, trailers, a reset), so a
 * Temporal client behind it works as it would directly, and counts the calls by method from the
 * `:path` (`/temporal.api.workflowservice.v1.WorkflowService/QueryWorkflow`). What a process
 * asks of Temporal, seen on the wire: a count that a client polling a query cannot keep at 0.
 */
export async function startGrpcProxy(upstream: string): Promise<GrpcProxy> {
  const session = http2.connect(`http://${upstream}`);
  session.on('error', () => undefined);
  const calls = new Map<string, number>();
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const method = String(headers[':path'] ?? '').split('/').pop() ?? '';
    calls.set(method, (calls.get(method) ?? 0) + 1);
    const forwarded: http2.OutgoingHttpHeaders = { ...headers };
    delete forwarded[HTTP2_HEADER_AUTHORITY];
    delete forwarded[HTTP2_HEADER_SCHEME];
    const call = session.request(forwarded);
    let trailers: http2.IncomingHttpHeaders = {};
    call.on('response', (responseHeaders, flags) => {
      // A trailers-only answer (an error) ends in its headers; anything else ends with trailers.
      const endsHere = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
      if (!stream.destroyed) stream.respond(responseHeaders, endsHere ? { endStream: true } : { waitForTrailers: true });
    });
    call.on('trailers', (received) => (trailers = received));
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    stream.pipe(call);
    call.pipe(stream);
    // A reset on either side (a cancelled call, a server gone) resets the other; a call that ended well ends there too.
    stream.on('close', () => {
      if (stream.rstCode !== NGHTTP2_NO_ERROR && !call.closed) call.close(stream.rstCode ?? NGHTTP2_CANCEL);
    });
    call.on('close', () => {
      if (call.rstCode !== NGHTTP2_NO_ERROR && !stream.closed) stream.close(call.rstCode ?? NGHTTP2_CANCEL);
    });
    stream.on('error', () => undefined);
    call.on('error', () => undefined);
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (client) => {
    sessions.add(client);
    client.on('close', () => sessions.delete(client));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    count: (method) => calls.get(method) ?? 0,
    counts: () => Object.fromEntries(calls),
    async close() {
      for (const client of sessions) client.destroy();
      session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
