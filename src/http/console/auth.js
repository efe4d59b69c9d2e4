// API keys. The key lives in sessionStorage (gone with the tab, never in a URL) and goes out as a Bearer
// header on every request. A 401 opens a small form once, however many requests were refused at the same time.
const STORAGE_KEY = 'bamboo.apiKey';
const $ = (id) => document.getElementById(id);
const ui = {
  dialog: $('key-dialog'), form: $('key-form'), input: $('key-input'), reason: $('key-reason'),
  cancel: $('key-cancel'), enter: $('key-button'), forget: $('forget-key-button'),
};

/** @type {Promise<string | null> | null} the open form's answer, shared by every waiting request */
let asking = null;
/** After the form was dismissed, 401s stop reopening it; the "Enter API key" button does. */
let declined = false;
/** @type {Set<() => void>} */
const keyListeners = new Set();

/** The key when the tab's storage is blocked: kept in this page only, so the console still works. */
let keptInPage = /** @type {string | null} */ (null);

/** @returns {string | null} */
export function storedKey() {
  try {
    return sessionStorage.getItem(STORAGE_KEY) || null;
  } catch {
    return keptInPage; // storage disabled: the key lives as long as the page
  }
}

function storeKey(key) {
  try {
    sessionStorage.setItem(STORAGE_KEY, key);
  } catch {
    keptInPage = key;
  }
  renderControls();
  // Whatever was refused, or shown for another key's tenant, is loaded again with this one.
  for (const listener of keyListeners) listener();
}

export function forgetKey() {
  keptInPage = null;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage disabled: nothing was stored there
  }
  renderControls();
}

/** Called after the user entered a key, at a request's prompt or through the "Enter API key" button. */
export function onKeyChange(listener) {
  keyListeners.add(listener);
}

function renderControls() {
  const key = storedKey();
  ui.forget.hidden = !key;
  ui.enter.hidden = Boolean(key) || !declined;
}

/**
 * Shows the key form and resolves with the key entered, or null when dismissed.
 * @param {string} reason
 * @returns {Promise<string | null>}
 */
function askForKey(reason) {
  if (asking) return asking;
  ui.reason.textContent = reason;
  ui.input.value = '';
  ui.dialog.showModal();
  ui.input.focus();
  asking = new Promise((resolve) => {
    const finish = (key) => {
      ui.form.removeEventListener('submit', submit);
      ui.dialog.removeEventListener('close', dismissed);
      asking = null;
      declined = !key;
      if (key) storeKey(key);
      renderControls();
      resolve(key);
    };
    const submit = (event) => {
      event.preventDefault();
      const key = ui.input.value.trim();
      if (!key) return;
      finish(key);
      ui.dialog.close();
    };
    const dismissed = () => finish(null); // Esc or Cancel
    ui.form.addEventListener('submit', submit);
    ui.dialog.addEventListener('close', dismissed);
  });
  return asking;
}

/**
 * fetch with the stored key. On 401 it asks for a key (once, see above) and retries; a refused key is
 * forgotten so the next attempt asks again. Gives up after three attempts and returns the 401.
 * @param {string} url
 * @param {RequestInit} [init]
 * @returns {Promise<Response>}
 */
export async function authFetch(url, init = {}) {
  for (let attempt = 1; ; attempt++) {
    const key = storedKey();
    const headers = new Headers(init.headers);
    if (key) headers.set('Authorization', `Bearer ${key}`);
    const response = await fetch(url, { ...init, headers });
    if (response.status !== 401 || init.signal?.aborted) return response;
    // A refused key is forgotten, also on the last attempt, so no later request sends it again.
    if (key && storedKey() === key) forgetKey();
    if (attempt === 3) return response;
    // Another request may have obtained a key meanwhile.
    const next = storedKey() ?? (declined ? null : await askForKey(key ? 'The server refused that key.' : 'This server needs an API key.'));
    if (!next) return response;
  }
}

ui.cancel.addEventListener('click', () => ui.dialog.close());
// The next 401 asks again.
ui.forget.addEventListener('click', forgetKey);
ui.enter.addEventListener('click', async () => {
  declined = false;
  await askForKey('Enter the API key for this server.');
});
renderControls();
