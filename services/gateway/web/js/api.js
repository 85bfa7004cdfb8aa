// The public API as the browser sees it: every call carries the API key the user pasted.
// EventSource cannot send headers, so job progress is read from the SSE endpoint with fetch() and a
// stream reader; if streaming is impossible or breaks, the watcher falls back to polling.

const KEY_STORAGE = "elysia.apiKey";
export const TERMINAL = new Set(["COMPLETED", "PARTIAL", "FAILED"]);

export function getKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

export function setKey(key) {
  localStorage.setItem(KEY_STORAGE, key.trim());
}

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || (body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || null;
    this.field = err.field || null;
  }
}

function authHeaders(extra = {}) {
  const headers = { ...extra };
  const key = getKey();
  if (key) headers["Authorization"] = `Bearer ${key}`;
  return headers;
}

/** Call the API; JSON in (`json`) and out; throws ApiError with the server's message. */
export async function api(path, { method = "GET", json, body, headers = {}, signal, raw = false } = {}) {
  if (!getKey()) {
    // Every endpoint the app uses needs a key: do not send a request bound to fail.
    throw new ApiError(401, { error: { code: "unauthorized", message: "no API key" } });
  }
  const h = authHeaders(headers);
  if (json !== undefined) {
    h["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  const response = await fetch(path, { method, headers: h, body, signal });
  if (!response.ok) {
    let detail = null;
    try {
      detail = await response.json();
    } catch {
      detail = null;
    }
    throw new ApiError(response.status, detail);
  }
  if (raw) return response;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

/** Query string from an object; arrays repeat the parameter; empty values are left out. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(name, String(item));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Apply one SSE/WS event to a job view (the shape of GET /v1/jobs/{id}); returns the new view. */
export function applyEvent(job, event) {
  if (event.type === "snapshot") return { ...job, ...event.job };
  const next = { ...job, actions: { ...(job.actions || {}) } };
  if (event.total) {
    next.progress = {
      done: event.done,
      total: event.total,
      percent: Math.round((1000 * event.done) / event.total) / 10,
    };
  }
  if (event.job_status) next.status = event.job_status;
  if (event.type === "action" && event.dimension) {
    const action = { ...(next.actions[event.dimension] || { dimension: event.dimension }) };
    action.status = event.status;
    if (event.elapsed_ms != null) action.elapsed_ms = event.elapsed_ms;
    if (event.error) action.error = event.error;
    next.actions[event.dimension] = action;
  }
  if (event.type === "job" && event.error) next.error = event.error;
  next.seq = Math.max(job.seq || 0, event.seq || 0);
  return next;
}

/** Parse a text/event-stream body incrementally: calls onEvent(data object) per message. */
async function readSse(response, onEvent, signal) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}

/**
 * Follow a job until it is final. `onUpdate(job, transport)` gets every new view; resolves with
 * the final job (with results). Transport is "sse" while streaming and "polling" after a fallback.
 */
export async function watchJob(jobId, onUpdate, { signal, pollMs = 1000, preferPolling = false } = {}) {
  let job = await api(`/v1/jobs/${jobId}?results=false`, { signal });
  onUpdate(job, "initial");
  if (!TERMINAL.has(job.status) && !preferPolling && window.ReadableStream) {
    try {
      const response = await api(`/v1/jobs/${jobId}/events`, {
        signal,
        raw: true,
        headers: { Accept: "text/event-stream" },
      });
      await readSse(
        response,
        (event) => {
          job = applyEvent(job, event);
          onUpdate(job, "sse");
        },
        signal,
      );
    } catch (error) {
      if (signal && signal.aborted) throw error;
      // Streaming failed (proxy buffering, network): polling below carries on.
    }
  }
  while (!TERMINAL.has(job.status)) {
    if (signal && signal.aborted) throw new DOMException("aborted", "AbortError");
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    job = await api(`/v1/jobs/${jobId}?results=false`, { signal });
    onUpdate(job, "polling");
  }
  const final = await api(`/v1/jobs/${jobId}`, { signal });
  onUpdate(final, "done");
  return final;
}
