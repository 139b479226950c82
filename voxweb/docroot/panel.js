// The voxweb control panel: server status, live API switches, the live log and demo links.
// The web version of 3D Slicer's WebServer module panel. Talks only to this server's /api.

import { api, showAuthNeeded, showError, wireTokenForm } from '/common.js';

const POLL_TAG = 'from=panel'; // marks the panel's own periodic requests in the access log
const STATUS_EVERY_MS = 5000;
const ALIVE_EVERY_MS = 1000;
const STREAM_RETRY_MS = 5000;
const MAX_ROWS = 500; // log rows kept in the page
const MAX_KEPT = 2000; // log entries kept in memory (the polling filter re-renders from these)
const API_NAMES = ['slicer', 'dicom', 'static', 'exec'];

const $ = (id) => document.getElementById(id);
const el = {};

const state = {
  status: null,
  statusAt: 0, // performance.now() when status arrived, for the ticking uptime
  entries: [],
  lastSeq: 0,
  source: null,
  streamOpenedAt: -Infinity,
  locked: false, // the server wants a token we do not have
  down: false, // the last status request got no answer at all
  aliveBusy: false,
  aliveCount: 0,
};

// --- start ---------------------------------------------------------------------------------

function start() {
  for (const id of ['connection', 'auth-needed', 'token-form', 'error', 'panel', 'status', 'log',
    'log-count', 'show-polling', 'follow', 'clear-log', 'refresh', 'stop-server', 'alive-image',
    'alive-caption', 'help-exec']) {
    el[id] = $(id);
  }
  wireTokenForm(el['token-form']);
  for (const name of API_NAMES) $(`switch-${name}`).addEventListener('change', onSwitch);
  el['clear-log'].addEventListener('click', clearLog);
  el.refresh.addEventListener('click', () => refreshStatus(false));
  el['stop-server'].addEventListener('click', stopServer);
  el['show-polling'].addEventListener('change', renderLog);
  el.follow.addEventListener('change', () => el.follow.checked && scrollToEnd());
  el.log.addEventListener('scroll', onLogScroll, { passive: true });
  el['alive-image'].addEventListener('load', () => aliveDone(true));
  el['alive-image'].addEventListener('error', () => aliveDone(false));

  refreshStatus(false);
  setInterval(() => document.hidden || refreshStatus(true), STATUS_EVERY_MS);
  setInterval(tickUptime, 1000);
  setInterval(aliveTick, ALIVE_EVERY_MS);
  document.addEventListener('visibilitychange', () => document.hidden || refreshStatus(true));
}

// --- status --------------------------------------------------------------------------------

async function refreshStatus(polling) {
  let status;
  try {
    status = await api(polling ? `/api/status?${POLL_TAG}` : '/api/status');
  } catch (error) {
    handleFailure(error);
    return false;
  }
  state.down = false;
  if (state.locked) {
    state.locked = false;
    el['auth-needed'].hidden = true;
  }
  el.panel.hidden = false;
  showError(el.error, '');
  if (state.lastSeq > status.log_last_seq) {
    // Sequence numbers went back: a new server process answers. Start the log afresh.
    closeLogStream();
    state.entries = [];
    state.lastSeq = 0;
    renderLog();
  }
  renderStatus(status);
  if (!state.source && performance.now() - state.streamOpenedAt > STREAM_RETRY_MS) openLogStream();
  return true;
}

function handleFailure(error) {
  if (error.status === 401) {
    state.locked = true;
    closeLogStream();
    el.panel.hidden = true;
    showError(el.error, '');
    showAuthNeeded(el['auth-needed'], error.message);
    setConnection('locked', 'no token');
    return;
  }
  showError(el.error, error.message);
  if (error.status === 0) {
    state.down = true;
    el.status.querySelector('[data-field="uptime"]').textContent = 'unknown (the server does not answer)';
    setConnection('offline', 'server not answering');
  }
}

function renderStatus(status) {
  state.status = status;
  state.statusAt = performance.now();
  const field = (name) => el.status.querySelector(`[data-field="${name}"]`);
  field('version').textContent = `${status.name} ${status.version}`;
  const url = field('url');
  url.textContent = status.url;
  url.href = `${status.url}/`;
  field('host').textContent = status.host;
  field('port').textContent = String(status.port);
  field('scheme').textContent = status.scheme;
  field('auth').textContent = status.auth === 'token' ? 'token (required for APIs)' : 'none (loopback only)';
  field('cors').textContent = status.cors_origins.length ? status.cors_origins.join(', ') : 'none (same origin only)';
  field('log').textContent = `${formatBytes(status.log_bytes)} of text, last entry #${status.log_last_seq}`;
  tickUptime();
  renderSwitches(status);
  // OHIF: linked when the server hosts it (voxweb serve --ohif DIR), else the note says how.
  $('ohif-note').hidden = Boolean(status.ohif);
  $('ohif-link').href = status.ohif || '/browse';
  if (!status.apis.slicer) {
    el['alive-image'].removeAttribute('src');
    el['alive-image'].hidden = true;
    state.aliveBusy = false;
    el['alive-caption'].textContent = 'The Slicer API is switched off, so /slicer/timeimage does not answer.';
  }
}

function renderSwitches(status) {
  for (const name of API_NAMES) {
    const input = $(`switch-${name}`);
    if (input.dataset.busy) continue; // a change is on its way; its answer will render
    input.checked = Boolean(status.apis[name]);
    input.disabled = name === 'exec' && !status.exec_allowed && !status.apis.exec;
  }
  const help = el['help-exec'];
  if (status.exec_allowed) {
    help.textContent = 'Runs Python sent by a client: switch on only for clients you trust.';
  } else {
    help.replaceChildren('Locked off: this server was started without it. Restart it with ',
      code('voxweb serve --enable-exec'), ' to allow remote Python.');
  }
}

function code(text) {
  const node = document.createElement('code');
  node.textContent = text;
  return node;
}

function tickUptime() {
  if (!state.status || state.down) return;
  const seconds = state.status.uptime_s + (performance.now() - state.statusAt) / 1000;
  el.status.querySelector('[data-field="uptime"]').textContent = formatDuration(seconds);
}

async function onSwitch(event) {
  const input = event.target;
  const name = input.dataset.api;
  const on = input.checked;
  if (name === 'static' && !on && !window.confirm(
    'Turn off static pages? This panel will keep working until you reload it; after that, '
    + 'switch static pages on again with POST /api/switches {"static": true}.')) {
    input.checked = true;
    return;
  }
  input.dataset.busy = '1';
  input.disabled = true;
  try {
    const status = await api('/api/switches', { method: 'POST', body: { [name]: on } });
    delete input.dataset.busy;
    showError(el.error, '');
    renderStatus(status);
  } catch (error) {
    delete input.dataset.busy;
    input.checked = !on;
    handleFailure(error);
  } finally {
    delete input.dataset.busy;
    if (state.status) renderSwitches(state.status);
    else input.disabled = false;
  }
}

async function stopServer() {
  if (!window.confirm('Stop the voxweb server? Pages and clients lose it until you start it again.')) return;
  try {
    await api('/api/shutdown', { method: 'POST' });
  } catch (error) {
    handleFailure(error);
    return;
  }
  closeLogStream();
  setConnection('offline', 'stopped');
  showError(el.error, 'The server is stopping. Start it again with “voxweb serve”.');
}

// --- log -----------------------------------------------------------------------------------

function openLogStream() {
  closeLogStream();
  state.streamOpenedAt = performance.now();
  // Same origin, so the token cookie goes along. A reconnect sends Last-Event-ID and resumes.
  const source = new EventSource('/api/log/stream');
  state.source = source;
  source.addEventListener('open', () => {
    setConnection('live', 'live');
    syncAfterReconnect();
  });
  source.addEventListener('log', (event) => addEntry(JSON.parse(event.data)));
  source.addEventListener('clear', (event) => dropThrough(JSON.parse(event.data).seq));
  source.addEventListener('error', () => {
    if (state.source !== source) return;
    if (source.readyState === EventSource.CLOSED) {
      // The browser gave up (the server refused the stream): ask the status why.
      state.source = null;
      setConnection('offline', 'log stream closed');
      refreshStatus(false);
    } else {
      if (!state.down) setConnection('reconnecting', 'reconnecting…');
    }
  });
}

/**
 * A stream that (re)connects resumes after the last entry it saw, but a clear that happened
 * while it was away is not announced; the snapshot's cleared_at says where it happened.
 */
async function syncAfterReconnect() {
  if (!state.lastSeq) return; // a first connection replays the whole log anyway
  try {
    const snapshot = await api(`/api/log?after=${state.lastSeq}&${POLL_TAG}`);
    if (state.entries.length && state.entries[0].seq <= snapshot.cleared_at) dropThrough(snapshot.cleared_at);
    for (const entry of snapshot.entries) addEntry(entry);
  } catch (error) {
    handleFailure(error);
  }
}

function closeLogStream() {
  if (state.source) {
    state.source.close();
    state.source = null;
  }
}

function isPolling(entry) {
  return entry.source === 'access' && entry.message.includes(POLL_TAG);
}

function isShown(entry) {
  return el['show-polling'].checked || !isPolling(entry);
}

function addEntry(entry) {
  if (entry.seq <= state.lastSeq) return; // already here (a reconnect may repeat some)
  state.lastSeq = entry.seq;
  state.entries.push(entry);
  if (state.entries.length > MAX_KEPT) state.entries.splice(0, state.entries.length - MAX_KEPT);
  if (!isShown(entry)) return;
  el.log.append(logRow(entry));
  while (el.log.childElementCount > MAX_ROWS) el.log.firstElementChild.remove();
  updateCount();
  if (el.follow.checked) scrollToEnd();
}

/** Forget every entry up to and including `seq` (the log was cleared there). */
function dropThrough(seq) {
  state.entries = state.entries.filter((entry) => entry.seq > seq);
  renderLog();
}

function renderLog() {
  const shown = state.entries.filter(isShown).slice(-MAX_ROWS);
  el.log.replaceChildren(...shown.map(logRow));
  updateCount();
  if (el.follow.checked) scrollToEnd();
}

function logRow(entry) {
  const row = document.createElement('li');
  row.dataset.seq = String(entry.seq);
  row.className = `level-${entry.level.toLowerCase()}`;
  const time = document.createElement('time');
  const date = new Date(entry.time * 1000);
  time.dateTime = date.toISOString();
  time.textContent = date.toLocaleTimeString([], { hour12: false });
  row.append(time, ' ', span('level', entry.level), ' ', span('source', entry.source), ' ',
    span('message', entry.message));
  return row;
}

function span(className, text) {
  const node = document.createElement('span');
  node.className = className;
  node.textContent = text;
  return node;
}

function updateCount() {
  const rows = el.log.childElementCount;
  const hidden = state.entries.length - state.entries.filter(isShown).length;
  el['log-count'].textContent = `${rows} line${rows === 1 ? '' : 's'}`
    + (hidden ? `, ${hidden} polling line${hidden === 1 ? '' : 's'} hidden` : '');
}

function scrollToEnd() {
  el.log.scrollTop = el.log.scrollHeight;
}

function onLogScroll() {
  const atEnd = el.log.scrollHeight - el.log.scrollTop - el.log.clientHeight < 8;
  if (el.follow.checked !== atEnd) el.follow.checked = atEnd;
}

async function clearLog() {
  const seenBefore = state.lastSeq; // all of these are older than the clear
  el['clear-log'].disabled = true;
  try {
    await api('/api/log/clear', { method: 'POST' });
    dropThrough(seenBefore); // the stream's "clear" event drops the rest
  } catch (error) {
    handleFailure(error);
  } finally {
    el['clear-log'].disabled = false;
  }
}

// --- "server is alive": the Slicer time image, refreshed every second ------------------------

function aliveTick() {
  if (state.aliveBusy || document.hidden || state.locked || !state.status?.apis.slicer) return;
  state.aliveBusy = true;
  state.aliveCount += 1;
  el['alive-image'].src = `/slicer/timeimage?color=2b6cb0&${POLL_TAG}&n=${state.aliveCount}`;
}

function aliveDone(ok) {
  if (!state.aliveBusy) return;
  state.aliveBusy = false;
  el['alive-image'].hidden = !ok; // no broken-image icon
  const now = new Date().toLocaleTimeString([], { hour12: false });
  el['alive-caption'].textContent = ok
    ? `Live /slicer/timeimage: the server answered at ${now}.`
    : `Live /slicer/timeimage: no image at ${now} (server stopped, or the Slicer API is off).`;
}

// --- small helpers -------------------------------------------------------------------------

function setConnection(kind, text) {
  el.connection.dataset.state = kind;
  el.connection.textContent = text;
}

function formatDuration(total) {
  const s = Math.floor(total);
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  const parts = [];
  if (days) parts.push(`${days} d`);
  if (days || hours) parts.push(`${hours} h`);
  if (days || hours || minutes) parts.push(`${minutes} min`);
  parts.push(`${seconds} s`);
  return parts.join(' ');
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

start();
