// Talks to the admin API of the gateway that served this page. URLs are
// relative to /ui/, so the page also works behind a proxy that adds a prefix.
// The token is asked once and kept in sessionStorage: it lives as long as the
// tab, and is never written to localStorage, cookies or a URL.

const KEY = 'edgeplane.adminToken';
const base = new URL('../v1/', document.baseURI);

export const token = {
  get: () => sessionStorage.getItem(KEY) ?? '',
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export function apiUrl(path) {
  return new URL(path.replace(/^\//, ''), base).toString();
}

export function authHeaders() {
  const t = token.get();
  return t ? { authorization: `Bearer ${t}` } : {};
}

export class ApiError extends Error {
  constructor(status, errors) {
    super(errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ') || `HTTP ${status}`);
    this.status = status;
    this.errors = errors;
  }
}

async function call(method, path, body) {
  const headers = { ...authHeaders(), 'x-edgeplane-author': 'dashboard' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(apiUrl(path), { method, headers, cache: 'no-store', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, Array.isArray(data?.errors) ? data.errors : [{ path: '', message: `HTTP ${res.status}` }]);
  return data;
}

export const api = {
  get: (path) => call('GET', path),
  post: (path, body) => call('POST', path, body),
};
