// The Dispatch client over gRPC-Web, to the server that served the page
// (tonic-web on the gRPC port: one origin, no CORS). With an auth file on
// the server, the page asks for a token (see token.ts), keeps it for the
// browser session and sends it as `authorization: Bearer <token>`.
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { Dispatch, RecommendationSchema, type Recommendation } from "./gen/kuaifan/v1/dispatch_pb";

const TOKEN_KEY = "kuaifan.token";

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(given: string): void {
  sessionStorage.setItem(TOKEN_KEY, given.trim());
}

const bearer: Interceptor = (next) => async (req) => {
  const current = token();
  if (current) req.header.set("authorization", `Bearer ${current}`);
  return next(req);
};

export const client = createClient(
  Dispatch,
  createGrpcWebTransport({ baseUrl: location.origin, interceptors: [bearer] }),
);

export function isUnauthenticated(e: unknown): boolean {
  return e instanceof ConnectError && e.code === Code.Unauthenticated;
}

export function isPermissionDenied(e: unknown): boolean {
  return e instanceof ConnectError && e.code === Code.PermissionDenied;
}

/**
 * The fresh recommendation a refused confirmation carries (the units shown
 * are no longer all free), if it is that refusal.
 */
export function freshRecommendation(e: unknown): Recommendation | undefined {
  if (!(e instanceof ConnectError) || e.code !== Code.FailedPrecondition) return undefined;
  return e.findDetails(RecommendationSchema)[0];
}

/**
 * Runs one dispatcher action with one request id, retrying with the same id
 * on UNAVAILABLE, DEADLINE_EXCEEDED and CANCELLED, as the contract says: a
 * retry of an action the server applied is answered, not applied again.
 */
export async function command<T>(call: (requestId: string) => Promise<T>): Promise<T> {
  const id = crypto.randomUUID();
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(id);
    } catch (e) {
      const retryable =
        e instanceof ConnectError && [Code.Unavailable, Code.DeadlineExceeded, Code.Canceled].includes(e.code);
      if (!retryable || attempt >= 3) throw e;
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  }
}

export function message(e: unknown): string {
  return e instanceof ConnectError ? e.rawMessage || Code[e.code] : String(e);
}
