// The labelling API client: JSON in and out, CSRF, retries after a dropped connection.
// Every refusal becomes an ApiError carrying the server's {code, detail}.

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(typeof detail === "string" ? detail : code);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
  get signedOut() {
    return this.status === 401 || this.status === 403;
  }
  get network() {
    return this.status === 0;
  }
}

let fallbackToken = "";

export function setCsrfToken(token) {
  fallbackToken = token;
}

// Read the cookie at every request: signing in again in another tab rotates the token.
function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : fallbackToken;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function once(url, body) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(body),
      redirect: "manual",
    });
  } catch (error) {
    throw new ApiError(0, "network", "The connection dropped.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
    throw new ApiError(response.status || 401, "signed_out", "Your session has ended.");
  }
  if (!response.ok) {
    const code = (data && data.code) || `http_${response.status}`;
    const detail = (data && data.detail) || `The server answered ${response.status}.`;
    throw new ApiError(response.status, code, detail);
  }
  return { status: response.status, data };
}

// POST with retries for network drops and 5xx. The same payload is sent each time: the
// server replays an identical judgement instead of recording it twice.
export async function post(url, body, { attempts = 3, backoffMs = 400 } = {}) {
  let last;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    try {
      return await once(url, body);
    } catch (error) {
      last = error;
      if (!(error.network || error.status >= 500)) throw error;
      if (attempt + 1 < attempts) await sleep(backoffMs * 2 ** attempt);
    }
  }
  throw last;
}
