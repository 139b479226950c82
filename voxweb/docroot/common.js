// Shared helpers for the voxweb pages: JSON calls to the server, errors in plain words,
// and the "no token yet" notice with its paste-a-token form. No framework, no build step.

/** An error the server (or the network) reported, with a message meant for people. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/**
 * Call a same-origin JSON endpoint. The token travels in the HttpOnly cookie the server set
 * when the page was opened with ?token=..., so nothing here ever sees it.
 */
export async function api(path, { method = 'GET', body } = {}) {
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'The server does not answer. Is “voxweb serve” still running?');
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, errorMessage(response, data));
  }
  return data;
}

function errorMessage(response, data) {
  // voxweb errors are {"success": false, "message": "..."}; FastAPI-style {"detail": ...} too.
  if (data && typeof data.message === 'string' && data.message) return data.message;
  if (data && typeof data.detail === 'string' && data.detail) return data.detail;
  const reason = response.statusText ? ` ${response.statusText}` : '';
  return `The server answered ${response.status}${reason} to ${response.url.replace(location.origin, '')}.`;
}

/** Show `message` in a role="alert" element (or hide it when message is empty). */
export function showError(element, message) {
  element.textContent = message || '';
  element.hidden = !message;
}

/**
 * Show the "open the URL with the token" notice in `section` (which holds a form with an
 * input named "token"), with the server's own explanation under it.
 */
export function showAuthNeeded(section, serverMessage) {
  section.hidden = false;
  const detail = section.querySelector('[data-role="auth-detail"]');
  if (detail) {
    const tokenInAddress = new URLSearchParams(location.search).has('token');
    // A valid ?token= is swapped for a cookie by a redirect, so one still here was refused.
    detail.textContent = tokenInAddress
      ? 'The token in this address was not accepted (the server may have restarted with a new one).'
      : serverMessage || '';
  }
}

/** Wire the paste-a-token form: it opens this page with ?token=..., and the server sets the cookie. */
export function wireTokenForm(form) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = new FormData(form).get('token')?.toString().trim();
    if (!token) return;
    const path = location.pathname === '/index.html' ? '/' : location.pathname;
    location.assign(`${path}?token=${encodeURIComponent(token)}`);
  });
}
