// Fetching the API: relative URLs (the viewer is served on the API's origin), one error type
// that says whether the API answered with an error or could not be reached at all.

export class ApiError extends Error {
  /** HTTP status, or 0 when the API could not be reached. */
  readonly status: number;
  /** The API's error code (`invalid_parameter`, …) or `unreachable`. */
  readonly code: string;
  readonly param: string | null;

  constructor(status: number, code: string, message: string, param: string | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.param = param;
  }

  get unreachable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 504;
  }
}

/** The API's error body `{"error": {code, message, param}}` as an ApiError. */
export function errorFrom(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; param?: unknown } } | null)?.error;
  const code = typeof e?.code === 'string' ? e.code : `http_${status}`;
  const message = typeof e?.message === 'string' ? e.message : `the API answered ${status}`;
  const param = typeof e?.param === 'string' ? e.param : null;
  return new ApiError(status, code, message, param);
}

/** A query string from the defined, non-empty values (`?a=1&b=x`), or ''. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  apiKey?: string | null;
  signal?: AbortSignal;
}

/** Fetches `/api/v1{path}` and parses its JSON; throws ApiError. A 204 resolves to null. */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.apiKey) headers['x-api-key'] = opts.apiKey;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      cache: 'no-store',
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'unreachable', 'the API cannot be reached');
  }
  if (res.status === 204) return null as T;
  let body: unknown = null;
  const text = await res.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!res.ok) throw errorFrom(res.status, body);
  return body as T;
}
